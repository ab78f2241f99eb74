//! Exponential backoff with full jitter: the delay before retry `n` is drawn
//! uniformly from `[0, min(cap, base · 2^(n-1))]`.
//!
//! Full jitter (rather than a fixed exponential schedule) spreads the retries
//! of many requests that failed together, so they do not hit the host again
//! in lock-step.

use std::time::Duration;

/// Exponential backoff with full jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Default for Backoff {
    /// 200 ms base, 30 s cap.
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// A backoff starting at `base` whose ceiling grows to at most `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap: cap.max(base),
        }
    }

    /// The ceiling of the delay before retry number `retry` (1-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << doublings)
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// The delay before retry number `retry`, drawn with the thread's RNG.
    pub fn delay(&self, retry: u32) -> Duration {
        self.delay_at(retry, fastrand::f64())
    }

    /// The delay before retry `retry` for a uniform draw `u` in `[0, 1)`.
    pub(crate) fn delay_at(&self, retry: u32, u: f64) -> Duration {
        self.ceiling(retry).mul_f64(u.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff::default();
        let ms = |n| b.ceiling(n).as_millis();
        assert_eq!([ms(1), ms(2), ms(3), ms(4)], [200, 400, 800, 1600]);
        assert_eq!(ms(8), 25_600);
        assert_eq!(ms(9), 30_000);
        assert_eq!(ms(1_000), 30_000);
    }

    #[test]
    fn delays_stay_within_bounds() {
        let b = Backoff::default();
        let mut rng = fastrand::Rng::with_seed(7);
        for retry in 1..20 {
            for _ in 0..200 {
                let d = b.delay_at(retry, rng.f64());
                assert!(d <= b.ceiling(retry), "retry {retry}: {d:?}");
            }
        }
        assert_eq!(b.delay_at(3, 0.0), Duration::ZERO);
        assert_eq!(b.delay_at(3, 1.0), Duration::from_millis(800));
    }

    #[test]
    fn draws_are_spread_not_fixed() {
        let b = Backoff::default();
        let delays: std::collections::HashSet<_> = (0..50).map(|_| b.delay(4)).collect();
        assert!(delays.len() > 40, "jitter should spread delays: {delays:?}");
    }
}
