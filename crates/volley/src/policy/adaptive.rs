//! Adaptive throttling of one host: additive increase, multiplicative
//! decrease (AIMD), the rule TCP uses to share a link.
//!
//! A host starts unthrottled. When it keeps answering 429 or 503 without a
//! `Retry-After` (more than one answer in five, averaged over about the last fifty), or
//! when most of its recent attempts fail, its rate is cut in half — starting
//! from the rate it was actually being sent — and requests to it are paced
//! at that rate. A stray 503 among successes is retried, not read as "slow
//! down": cutting on every one would drive a healthy host that has the odd
//! hiccup down to the floor. Every success then adds a little
//! (the rate grows by a fixed step per second of successes), and once the
//! rate is well past where the trouble began, pacing is lifted.
//!
//! Cuts are at most one per second, so a burst of 429s that were all in
//! flight together counts as one signal, not twenty.

use std::time::Duration;

use tokio::time::Instant;

/// The lowest rate a host is cut to, in requests per second.
const MIN_RATE: f64 = 0.2;
/// The shortest time between two cuts.
const COOLDOWN: Duration = Duration::from_secs(1);
/// Weight of the newest attempt in the failure average: about the last
/// twenty attempts, so a cluster of a few failures is not a spike.
const ALPHA: f64 = 0.05;
/// The failure average above which errors count as a spike.
const SPIKE: f64 = 0.5;
/// The share of throttling answers (moving average) above which the host
/// is asking to slow down.
const THROTTLED: f64 = 0.2;
/// Weight of the newest answer in the throttling average: about the last
/// fifty answers, so a short burst of 503s among successes is not a signal
/// while a steady share of 429s is (twelve in a row are enough).
const THROTTLE_ALPHA: f64 = 0.02;
/// Attempts observed before the failure average is trusted.
const MIN_SAMPLES: u32 = 10;

/// What one attempt says about the host's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    /// A response that is not a failure.
    Healthy,
    /// 429 or 503 without `Retry-After`: slow down.
    Throttled,
    /// A 5xx or a transport failure.
    Failed,
}

/// The AIMD state of one host.
#[derive(Clone, Debug)]
pub(crate) struct Aimd {
    /// The paced rate in requests/s; `None` while unthrottled.
    rate: Option<f64>,
    /// The rate when the last cut happened; pacing is lifted well above it.
    cut_from: f64,
    /// Additive step: requests/s gained per second of successes.
    step: f64,
    /// The earliest start of the next request while paced.
    next_slot: Instant,
    last_cut: Option<Instant>,
    failure_avg: f64,
    /// Moving average of throttling answers (429/503 without Retry-After).
    throttle_avg: f64,
    samples: u32,
    /// Starts counted in the current and previous one-second buckets, to
    /// know the rate actually sent when a first cut happens.
    bucket_start: Instant,
    bucket: u32,
    /// Starts in the second before `bucket_start`, once one has passed.
    previous_bucket: Option<u32>,
}

impl Aimd {
    pub(crate) fn new(now: Instant) -> Self {
        Aimd {
            rate: None,
            cut_from: 0.0,
            step: 1.0,
            next_slot: now,
            last_cut: None,
            failure_avg: 0.0,
            throttle_avg: 0.0,
            samples: 0,
            bucket_start: now,
            bucket: 0,
            previous_bucket: None,
        }
    }

    /// The paced rate, if the host is throttled.
    #[cfg(test)]
    fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Books the start of one request and returns how long it must wait
    /// first (zero while unthrottled).
    pub(crate) fn reserve(&mut self, now: Instant) -> Duration {
        self.count_start(now);
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        let slot = self.next_slot.max(now);
        self.next_slot = slot + Duration::from_secs_f64(1.0 / rate);
        slot - now
    }

    /// Learns from one attempt; returns true when the rate was cut.
    pub(crate) fn observe(&mut self, signal: Signal, now: Instant) -> bool {
        let failed = signal != Signal::Healthy;
        let throttled = signal == Signal::Throttled;
        self.failure_avg += ALPHA * (f64::from(u8::from(failed)) - self.failure_avg);
        self.throttle_avg += THROTTLE_ALPHA * (f64::from(u8::from(throttled)) - self.throttle_avg);
        self.samples = self.samples.saturating_add(1);
        let spike = self.samples >= MIN_SAMPLES && self.failure_avg > SPIKE;
        match signal {
            Signal::Throttled if self.throttle_avg > THROTTLED || spike => self.cut(now),
            Signal::Throttled => false,
            Signal::Failed if spike => self.cut(now),
            Signal::Failed => false,
            Signal::Healthy => {
                self.grow();
                false
            }
        }
    }

    fn cut(&mut self, now: Instant) -> bool {
        if self
            .last_cut
            .is_some_and(|at| now.duration_since(at) < COOLDOWN)
        {
            return false;
        }
        let current = self.rate.unwrap_or_else(|| self.observed_rate(now));
        let rate = (current / 2.0).max(MIN_RATE);
        self.rate = Some(rate);
        self.cut_from = current;
        // Regain the lost half over about 50 s of successes.
        self.step = (current / 100.0).max(MIN_RATE);
        self.last_cut = Some(now);
        true
    }

    fn grow(&mut self) {
        let Some(rate) = self.rate else { return };
        // `rate` successes arrive per second, so this adds `step` per second.
        let grown = rate + self.step / rate;
        self.rate = (grown < self.cut_from * 1.5).then_some(grown);
    }

    fn count_start(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.bucket_start);
        if elapsed >= Duration::from_secs(2) {
            self.previous_bucket = Some(0);
            self.bucket = 0;
            self.bucket_start = now;
        } else if elapsed >= Duration::from_secs(1) {
            self.previous_bucket = Some(self.bucket);
            self.bucket = 0;
            self.bucket_start += Duration::from_secs(1);
        }
        self.bucket += 1;
    }

    /// Requests/s started recently: over the current bucket and the one
    /// before it, counting only time the buckets actually cover (at least
    /// a quarter second, so one early request does not read as a flood).
    fn observed_rate(&self, now: Instant) -> f64 {
        let in_bucket = now.duration_since(self.bucket_start).as_secs_f64().min(1.0);
        let (count, span) = match self.previous_bucket {
            Some(previous) => (previous + self.bucket, 1.0 + in_bucket),
            None => (self.bucket, in_bucket.max(0.25)),
        };
        (f64::from(count) / span).max(MIN_RATE * 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `n` requests evenly over one second.
    fn run_for_a_second(aimd: &mut Aimd, n: u32) {
        for _ in 0..n {
            let wait = aimd.reserve(Instant::now());
            assert_eq!(wait, Duration::ZERO, "unthrottled hosts never wait");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn first_cut_halves_the_rate_actually_sent() {
        let mut aimd = Aimd::new(Instant::now());
        tokio::time::advance(Duration::from_millis(500)).await;
        run_for_a_second(&mut aimd, 100);
        tokio::time::advance(Duration::from_millis(500)).await;
        // A burst of seven 429s (as the demo's 503-then-ok run) is not a
        // signal; twelve in a row are (over one in five of the recent answers).
        for _ in 0..11 {
            assert!(!aimd.observe(Signal::Throttled, Instant::now()));
        }
        assert!(aimd.observe(Signal::Throttled, Instant::now()));
        let rate = aimd.rate().expect("throttled");
        assert!((45.0..=55.0).contains(&rate), "{rate}");
    }

    #[tokio::test(start_paused = true)]
    async fn pacing_spaces_requests_at_the_rate() {
        let mut aimd = Aimd::new(Instant::now());
        aimd.rate = Some(10.0);
        aimd.cut_from = 20.0;
        let now = Instant::now();
        let waits: Vec<_> = (0..4).map(|_| aimd.reserve(now).as_millis()).collect();
        assert_eq!(waits, [0, 100, 200, 300]);
    }

    #[tokio::test(start_paused = true)]
    async fn one_cut_per_cooldown_then_halving_again() {
        let mut aimd = Aimd::new(Instant::now());
        aimd.rate = Some(40.0);
        aimd.cut_from = 80.0;
        aimd.throttle_avg = 0.5; // a host answering mostly 429
        assert!(aimd.observe(Signal::Throttled, Instant::now()));
        assert!(
            !aimd.observe(Signal::Throttled, Instant::now()),
            "same burst"
        );
        assert_eq!(aimd.rate(), Some(20.0));
        tokio::time::advance(COOLDOWN).await;
        assert!(aimd.observe(Signal::Throttled, Instant::now()));
        assert_eq!(aimd.rate(), Some(10.0));
        for _ in 0..100 {
            tokio::time::advance(COOLDOWN).await;
            aimd.observe(Signal::Throttled, Instant::now());
        }
        assert_eq!(aimd.rate(), Some(MIN_RATE), "never below the floor");
    }

    #[tokio::test(start_paused = true)]
    async fn successes_regrow_additively_then_lift_pacing() {
        let mut aimd = Aimd::new(Instant::now());
        aimd.rate = Some(100.0);
        aimd.throttle_avg = 0.5;
        assert!(aimd.observe(Signal::Throttled, Instant::now()));
        assert_eq!(aimd.rate(), Some(50.0));
        // One second of successes at 50/s adds one step (1/s).
        for _ in 0..50 {
            aimd.observe(Signal::Healthy, Instant::now());
        }
        let rate = aimd.rate().expect("still paced");
        assert!((50.9..=51.1).contains(&rate), "{rate}");
        // Enough successes lift pacing altogether.
        for _ in 0..20_000 {
            aimd.observe(Signal::Healthy, Instant::now());
        }
        assert_eq!(aimd.rate(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn error_spikes_cut_but_scattered_errors_do_not() {
        let mut aimd = Aimd::new(Instant::now());
        aimd.rate = Some(20.0);
        aimd.cut_from = 40.0;
        for i in 0..100 {
            let signal = if i % 5 == 0 {
                Signal::Failed
            } else {
                Signal::Healthy
            };
            assert!(
                !aimd.observe(signal, Instant::now()),
                "20% errors are no spike"
            );
        }
        let cut = (0..20).any(|_| aimd.observe(Signal::Failed, Instant::now()));
        assert!(cut, "a run of failures is a spike");
    }

    #[tokio::test(start_paused = true)]
    async fn stray_throttles_among_successes_do_not_cut() {
        // One 503 in fourteen answers (the demo's share), for a minute.
        let mut aimd = Aimd::new(Instant::now());
        for i in 0..6_000 {
            let signal = if i % 14 == 0 {
                Signal::Throttled
            } else {
                Signal::Healthy
            };
            assert!(!aimd.observe(signal, Instant::now()), "answer {i}");
            if i % 100 == 0 {
                tokio::time::advance(Duration::from_secs(1)).await;
            }
        }
        assert_eq!(aimd.rate(), None);
    }
}
