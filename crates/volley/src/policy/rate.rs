//! `RatePolicy`: request-rate limits for the whole run and per host, and
//! whether adaptive throttling is on.
//!
//! Rates are enforced with `governor`'s GCRA limiter (the same algorithm as
//! a token bucket, without a refill task). A request takes its host's token
//! before it asks for a global slot, so a rate-limited host never holds
//! slots that other hosts could use.

use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A request rate: `count` per `per`, with bursts of at most `burst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    count: u32,
    per: Duration,
    burst: u32,
}

impl Rate {
    /// `count` requests per second, no bursts.
    pub fn per_second(count: u32) -> Self {
        Rate::new(count, Duration::from_secs(1))
    }

    /// `count` requests per `per`, evenly spaced (burst 1).
    ///
    /// A zero `count` or `per` is raised to the smallest usable value; use
    /// [`Rate::from_str`] to refuse such input instead.
    pub fn new(count: u32, per: Duration) -> Self {
        Rate {
            count: count.max(1),
            per: per.max(Duration::from_nanos(1)),
            burst: 1,
        }
    }

    /// Allows up to `burst` requests at once after an idle spell (default 1:
    /// requests are evenly spaced).
    #[must_use]
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Requests per second.
    pub fn per_sec(&self) -> f64 {
        f64::from(self.count) / self.per.as_secs_f64()
    }

    pub(crate) fn limiter(&self) -> DefaultDirectRateLimiter {
        let period = (self.per / self.count).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .expect("the period is at least one nanosecond")
            .allow_burst(NonZeroU32::new(self.burst).expect("burst is at least 1"));
        RateLimiter::direct(quota)
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `50/s`, `600/min`, `1000/h` (also `/sec`, `/second`, `/m`, `/minute`, `/hour`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a rate like 50/s, 600/min or 1000/h");
        let (count, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("{s:?}: a rate must allow at least one request"));
        }
        let per = match unit.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Rate::new(count, per))
    }
}

/// Waits until `limiter` lets one request through. Cancel safe: a token is
/// only taken when the wait is over.
pub(crate) async fn until_ready(limiter: &DefaultDirectRateLimiter) {
    let clock = DefaultClock::default();
    while let Err(not_until) = limiter.check() {
        tokio::time::sleep(not_until.wait_time_from(clock.now())).await;
    }
}

/// Rate limits and adaptive throttling for a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatePolicy {
    pub(crate) global: Option<Rate>,
    pub(crate) per_host: Option<Rate>,
    pub(crate) adaptive: bool,
}

impl Default for RatePolicy {
    /// No fixed limits; adaptive throttling on.
    fn default() -> Self {
        RatePolicy {
            global: None,
            per_host: None,
            adaptive: true,
        }
    }
}

impl RatePolicy {
    /// The default: no fixed limits, adaptive throttling on.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `rate` requests started across the whole run.
    #[must_use]
    pub fn global(mut self, rate: Rate) -> Self {
        self.global = Some(rate);
        self
    }

    /// At most `rate` requests started to each host.
    #[must_use]
    pub fn per_host(mut self, rate: Rate) -> Self {
        self.per_host = Some(rate);
        self
    }

    /// Cuts a host's rate when it answers 429/503 without `Retry-After` or
    /// its errors spike, and regrows it slowly on success (default on).
    #[must_use]
    pub fn adaptive(mut self, on: bool) -> Self {
        self.adaptive = on;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        let ok = |s: &str| s.parse::<Rate>().expect(s);
        assert_eq!(ok("50/s"), Rate::per_second(50));
        assert_eq!(ok(" 600 / min"), Rate::new(600, Duration::from_secs(60)));
        assert_eq!(ok("1000/h"), Rate::new(1000, Duration::from_secs(3600)));
        assert_eq!(ok("2/second").per_sec(), 2.0);
        for bad in ["", "50", "50/day", "x/s", "-1/s", "0/s", "1.5/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn limiter_spaces_requests() {
        let limiter = Rate::per_second(100).limiter();
        let start = std::time::Instant::now();
        for _ in 0..11 {
            until_ready(&limiter).await;
        }
        // 11 requests at 100/s with burst 1: the 11th waits ~100 ms.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(90), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}
