//! `RatePolicy`: request-rate limits for the whole run and per host, and
//! whether adaptive throttling is on; and the `Limiter` that enforces one
//! rate.
//!
//! A limiter is GCRA, the generic cell rate algorithm: a token bucket kept as
//! one timestamp (when the next request is due at the steady rate), with no
//! refill task. Requests queue for it in order; the one at the head sleeps
//! until its start, goes, and moves the schedule on by one period.
//!
//! The schedule moves on from when the request was due, not from when its
//! timer fired. Timers fire late — up to a millisecond by their granularity,
//! more on a busy machine — and counting that into the schedule (as
//! `governor`'s `check()`, used here before, did) slows every period: 20/s
//! sent 19.5/s, 200/s sent 160/s, 500/s sent 320/s. Lateness is forgiven
//! only up to half a period (or the timer's millisecond, if more), so after
//! a real stall the schedule restarts instead of catching up in a burst: with
//! burst 1, two requests are never closer than half a period (above 1000/s,
//! the timer's millisecond decides), and over time never more than the rate.
//!
//! A request takes its host's token before it asks for a global slot, so a
//! rate-limited host never holds slots that other hosts could use.

use std::str::FromStr;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

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

    /// A limiter that enforces this rate.
    pub(crate) fn limiter(&self) -> Limiter {
        // Capped so that instant arithmetic cannot overflow; a rate slower
        // than one request a year is one a year.
        let period = (self.per / self.count).clamp(Duration::from_nanos(1), MAX_PERIOD);
        Limiter {
            period,
            tolerance: period.saturating_mul(self.burst - 1),
            forgiven: (period / 2).max(TIMER_GRANULARITY),
            due: Mutex::new(None),
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `50/s`, `600/min`, `1000/h` (also `/sec`, `/second`, `/m`, `/minute`,
    /// `/hour`); a count may have decimals: `0.5/s` is one request every
    /// two seconds.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a rate like 50/s, 600/min or 1000/h");
        let (count, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let count = count.trim();
        let per = match unit.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if let Ok(count) = count.parse::<u32>() {
            if count == 0 {
                return Err(format!("{s:?}: a rate must allow at least one request"));
            }
            return Ok(Rate::new(count, per));
        }
        // Digits and one point only: not `inf`, `NaN` or `1e3`.
        if !count.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(bad());
        }
        let count: f64 = count.parse().map_err(|_| bad())?;
        if count <= 0.0 {
            return Err(format!("{s:?}: a rate must allow at least one request"));
        }
        // One request per `per / count`.
        let period = Duration::try_from_secs_f64(per.as_secs_f64() / count)
            .ok()
            .filter(|period| *period <= MAX_PERIOD)
            .ok_or_else(|| format!("{s:?}: slower than one request a year"))?;
        Ok(Rate::new(1, period))
    }
}

/// The longest period between two requests a [`Limiter`] keeps.
const MAX_PERIOD: Duration = Duration::from_secs(365 * 24 * 3600);

/// How late tokio's timers may fire by their resolution alone.
const TIMER_GRANULARITY: Duration = Duration::from_millis(1);

/// Enforces one [`Rate`] (see the module docs).
#[derive(Debug)]
pub(crate) struct Limiter {
    /// The time between two starts at the steady rate.
    period: Duration,
    /// How far ahead of the steady schedule a start may be: `burst - 1`
    /// periods, which lets `burst` requests through at once after an idle
    /// spell (and no more: idle time is not saved up beyond that).
    tolerance: Duration,
    /// How late a start may be and still count as on time.
    forgiven: Duration,
    /// When the next start is due at the steady rate (GCRA's "theoretical
    /// arrival time"); `None` before the first request. An async mutex that
    /// the request at the head of the queue holds while it sleeps until its
    /// start: requests start in the order they asked, and one timer is
    /// armed per limiter, not one per waiting request.
    due: Mutex<Option<Instant>>,
}

impl Limiter {
    /// When a request that asks at `now` may start, given the schedule.
    fn start(&self, due: Option<Instant>, now: Instant) -> Instant {
        // After an idle spell the schedule restarts from now.
        let on_schedule = due.map_or(now, |due| due.max(now));
        on_schedule
            .checked_sub(self.tolerance)
            .map_or(now, |early| early.max(now))
    }

    /// The schedule after a request that could start at `start` began at
    /// `began`: one period on from when it was due, or from when it began
    /// if it was later than the timer alone explains.
    fn after(&self, due: Option<Instant>, start: Instant, began: Instant) -> Instant {
        let counted = began
            .checked_sub(self.forgiven)
            .map_or(start, |late| late.max(start));
        due.map_or(counted, |due| due.max(counted)) + self.period
    }

    /// Waits until the rate lets one more request start.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the queue is tokio's fair mutex, which a dropped waiter
    /// simply leaves, and the schedule only moves once the wait is over, so
    /// a request that gives up takes no one's turn.
    pub(crate) async fn until_ready(&self) {
        let mut due = self.due.lock().await;
        let start = self.start(*due, Instant::now());
        tokio::time::sleep_until(start).await;
        *due = Some(self.after(*due, start, Instant::now()));
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
        assert_eq!(ok("0.5/s"), Rate::new(1, Duration::from_secs(2)));
        assert_eq!(ok("1.5/min"), Rate::new(1, Duration::from_secs(40)));
        assert_eq!(ok("2.5/s"), Rate::new(1, Duration::from_millis(400)));
        for bad in [
            "", "50", "50/day", "x/s", "-1/s", "0/s", "0.0/s", "-0.5/s", "1e3/s", "inf/s", "NaN/s",
            "1..5/s", ".", "./s",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "0.0000000001/h".parse::<Rate>(),
            Err(r#""0.0000000001/h": slower than one request a year"#.to_owned())
        );
    }

    #[tokio::test]
    async fn limiter_spaces_requests_in_real_time() {
        let limiter = Rate::per_second(100).limiter();
        let start = std::time::Instant::now();
        for _ in 0..11 {
            limiter.until_ready().await;
        }
        // 11 requests at 100/s with burst 1: the 11th waits 100 ms.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(100), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    /// Runs `n` requests through `limiter`, each beginning `late` after its
    /// start; returns the starts as milliseconds from the first.
    fn starts(limiter: &Limiter, n: usize, late: Duration) -> Vec<u128> {
        let t0 = Instant::now();
        let mut due = None;
        let mut now = t0;
        let mut starts = Vec::new();
        for _ in 0..n {
            let start = limiter.start(due, now);
            starts.push((start - t0).as_millis());
            now = start + late;
            due = Some(limiter.after(due, start, now));
        }
        starts
    }

    #[test]
    fn timer_lateness_does_not_slow_the_rate() {
        // At 200/s, each start 1 ms late (the timer's granularity): the
        // schedule keeps its 5 ms steps. Counting the lateness gave 6 ms
        // steps, 167/s.
        let limiter = Rate::per_second(200).limiter();
        let ms = Duration::from_millis(1);
        assert_eq!(starts(&limiter, 5, ms), [0, 5, 10, 15, 20]);
        // At 20/s, up to half a period late is forgiven.
        let limiter = Rate::per_second(20).limiter();
        let late = Duration::from_millis(25);
        assert_eq!(starts(&limiter, 4, late), [0, 50, 100, 150]);
    }

    #[test]
    fn a_stall_restarts_the_schedule_rather_than_bursting() {
        // 80 ms late at 20/s (more than half the 50 ms period): the next
        // start is a period after the late one less the forgiven 25 ms, not
        // at once to catch up.
        let limiter = Rate::per_second(20).limiter();
        let late = Duration::from_millis(80);
        assert_eq!(starts(&limiter, 3, late), [0, 105, 210]);
    }

    #[test]
    fn burst_goes_at_once_then_the_steady_rate() {
        let limiter = Rate::per_second(10).burst(3).limiter();
        assert_eq!(starts(&limiter, 5, Duration::ZERO), [0, 0, 0, 100, 200]);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_is_not_saved_beyond_the_burst() {
        let limiter = Rate::per_second(10).burst(3).limiter();
        for _ in 0..5 {
            limiter.until_ready().await;
        }
        tokio::time::advance(Duration::from_secs(60)).await;
        let t1 = Instant::now();
        let mut offsets = Vec::new();
        for _ in 0..4 {
            limiter.until_ready().await;
            offsets.push((Instant::now() - t1).as_millis());
        }
        assert_eq!(offsets, [0, 0, 0, 100]);
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_go_in_turn_and_a_dropped_one_takes_no_turn() {
        let limiter = std::sync::Arc::new(Rate::per_second(10).limiter());
        let t0 = Instant::now();
        limiter.until_ready().await;
        // A waiter that gives up while it is at the head of the queue.
        let gave_up = tokio::time::timeout(Duration::from_millis(50), limiter.until_ready()).await;
        assert!(gave_up.is_err());
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let limiter = std::sync::Arc::clone(&limiter);
                tokio::spawn(async move {
                    limiter.until_ready().await;
                    (Instant::now() - t0).as_millis()
                })
            })
            .collect();
        let mut offsets = Vec::new();
        for task in tasks {
            offsets.push(task.await.expect("no panic"));
        }
        assert_eq!(offsets, [100, 200, 300]);
    }

    #[test]
    fn absurdly_slow_rates_do_not_overflow() {
        let limiter = Rate::new(1, Duration::MAX).burst(u32::MAX).limiter();
        assert_eq!(starts(&limiter, 2, Duration::ZERO), [0, 0]);
        let slow = Rate::new(1, Duration::MAX).limiter();
        assert_eq!(
            starts(&slow, 2, Duration::ZERO),
            [0, MAX_PERIOD.as_millis()]
        );
    }
}
