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
//!
//! A cut for failures is put to the test: the next attempts sent after it
//! must fail less. When they fail as often (an API that answers 500 for
//! three items in five, whatever the load, or a dead backend behind a
//! proxy), the failures do not come from load: the cut is undone, and
//! failures stop counting until the host is mostly healthy again. Without
//! this, such a host was cut to the floor and a run of a few thousand
//! requests to it took hours.

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
/// Attempts sent after a cut for failures that judge whether it helped.
const TRIAL: u32 = 30;
/// The cut helped when the trial's failure share fell below this fraction
/// of the failure average at the cut.
const HELPED: f64 = 0.8;

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
    /// The test of the last cut for failures, until it is judged.
    trial: Option<Trial>,
    /// A trial found the failures do not come from load: they do not cut
    /// until the failure average is low again.
    failures_unrelated: bool,
}

/// Whether a cut for failures made them fewer: the attempts sent after it.
#[derive(Clone, Debug)]
struct Trial {
    cut_at: Instant,
    /// The failure average when the cut was made.
    before: f64,
    /// The rate before the cut, to go back to if it did not help.
    restore: Option<f64>,
    attempts: u32,
    failures: u32,
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
            trial: None,
            failures_unrelated: false,
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

    /// Learns from one attempt, sent at `sent`; returns true when the rate
    /// was cut.
    pub(crate) fn observe(&mut self, signal: Signal, sent: Instant, now: Instant) -> bool {
        let failed = signal != Signal::Healthy;
        let throttled = signal == Signal::Throttled;
        self.failure_avg += ALPHA * (f64::from(u8::from(failed)) - self.failure_avg);
        self.throttle_avg += THROTTLE_ALPHA * (f64::from(u8::from(throttled)) - self.throttle_avg);
        self.samples = self.samples.saturating_add(1);
        self.judge(failed, sent);
        if self.failures_unrelated && self.failure_avg < SPIKE / 2.0 {
            self.failures_unrelated = false;
        }
        let spike =
            self.samples >= MIN_SAMPLES && self.failure_avg > SPIKE && !self.failures_unrelated;
        match signal {
            Signal::Throttled if self.throttle_avg > THROTTLED || spike => {
                let cut = self.cut(now);
                if cut {
                    // The host asks to slow down: whatever a pending trial
                    // finds, this cut stands.
                    self.trial = None;
                }
                cut
            }
            Signal::Throttled => false,
            // One trial at a time: the next cut waits for this one's verdict.
            Signal::Failed if spike && self.trial.is_none() => {
                let restore = self.rate;
                let cut = self.cut(now);
                if cut {
                    self.trial = Some(Trial {
                        cut_at: now,
                        before: self.failure_avg,
                        restore,
                        attempts: 0,
                        failures: 0,
                    });
                }
                cut
            }
            Signal::Failed => false,
            Signal::Healthy => {
                self.grow();
                false
            }
        }
    }

    /// Counts an attempt towards the trial of the last cut for failures,
    /// if it was sent after that cut (one sent before says nothing of it),
    /// and gives the verdict once there are enough.
    fn judge(&mut self, failed: bool, sent: Instant) {
        let Some(trial) = self.trial.as_mut().filter(|t| sent >= t.cut_at) else {
            return;
        };
        trial.attempts += 1;
        trial.failures += u32::from(failed);
        if trial.attempts < TRIAL {
            return;
        }
        let share = f64::from(trial.failures) / f64::from(trial.attempts);
        let undo = share >= trial.before * HELPED;
        let restore = trial.restore;
        self.trial = None;
        if undo {
            // As many failures at the lower rate: not from load.
            self.rate = restore;
            self.failures_unrelated = true;
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

    /// One attempt sent and answered now.
    fn see(aimd: &mut Aimd, signal: Signal) -> bool {
        let now = Instant::now();
        aimd.observe(signal, now, now)
    }

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
            assert!(!see(&mut aimd, Signal::Throttled));
        }
        assert!(see(&mut aimd, Signal::Throttled));
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
        assert!(see(&mut aimd, Signal::Throttled));
        assert!(!see(&mut aimd, Signal::Throttled), "same burst");
        assert_eq!(aimd.rate(), Some(20.0));
        tokio::time::advance(COOLDOWN).await;
        assert!(see(&mut aimd, Signal::Throttled));
        assert_eq!(aimd.rate(), Some(10.0));
        for _ in 0..100 {
            tokio::time::advance(COOLDOWN).await;
            see(&mut aimd, Signal::Throttled);
        }
        assert_eq!(aimd.rate(), Some(MIN_RATE), "never below the floor");
    }

    #[tokio::test(start_paused = true)]
    async fn successes_regrow_additively_then_lift_pacing() {
        let mut aimd = Aimd::new(Instant::now());
        aimd.rate = Some(100.0);
        aimd.throttle_avg = 0.5;
        assert!(see(&mut aimd, Signal::Throttled));
        assert_eq!(aimd.rate(), Some(50.0));
        // One second of successes at 50/s adds one step (1/s).
        for _ in 0..50 {
            see(&mut aimd, Signal::Healthy);
        }
        let rate = aimd.rate().expect("still paced");
        assert!((50.9..=51.1).contains(&rate), "{rate}");
        // Enough successes lift pacing altogether.
        for _ in 0..20_000 {
            see(&mut aimd, Signal::Healthy);
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
            assert!(!see(&mut aimd, signal), "20% errors are no spike");
        }
        let cut = (0..20).any(|_| see(&mut aimd, Signal::Failed));
        assert!(cut, "a run of failures is a spike");
    }

    /// Three failures in five, from the `n`th attempt on.
    fn three_in_five(n: u32) -> Signal {
        if n % 5 < 3 {
            Signal::Failed
        } else {
            Signal::Healthy
        }
    }

    /// Feeds three failures in five until the rate is cut; returns the
    /// attempts it took.
    fn until_cut(aimd: &mut Aimd) -> u32 {
        (0..100)
            .find(|&n| see(aimd, three_in_five(n)))
            .expect("three failures in five cut the rate")
    }

    /// A host sent 100 requests in a second, then cut for three failures
    /// in five; and its rate after the cut.
    fn cut_for_failures() -> (Aimd, f64) {
        let mut aimd = Aimd::new(Instant::now());
        run_for_a_second(&mut aimd, 100);
        until_cut(&mut aimd);
        let rate = aimd.rate().expect("cut");
        (aimd, rate)
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_that_leaves_as_many_failures_is_undone() {
        let (mut aimd, _) = cut_for_failures();

        // The trial: as many failures after the cut as before.
        tokio::time::advance(Duration::from_millis(10)).await;
        for n in 0..TRIAL {
            assert!(!see(&mut aimd, three_in_five(n)), "no cut during the trial");
        }
        assert_eq!(aimd.rate(), None, "the cut is undone");

        // Such failures no longer cut, second after second.
        for n in 0..2_000 {
            assert!(!see(&mut aimd, three_in_five(n)), "attempt {n}");
            if n % 100 == 0 {
                tokio::time::advance(COOLDOWN).await;
            }
        }
        assert_eq!(aimd.rate(), None);

        // Once the host is healthy again, a new spike is one again.
        for _ in 0..100 {
            see(&mut aimd, Signal::Healthy);
        }
        tokio::time::advance(COOLDOWN).await;
        until_cut(&mut aimd);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_that_lessens_failures_stands_and_more_may_follow() {
        let (mut aimd, cut) = cut_for_failures();

        tokio::time::advance(Duration::from_millis(10)).await;
        for n in 0..TRIAL {
            let signal = if n % 10 == 0 {
                Signal::Failed
            } else {
                Signal::Healthy
            };
            see(&mut aimd, signal);
        }
        let after = aimd.rate().expect("the cut stands");
        assert!(after >= cut, "{after} < {cut}");

        // The failures come back: the next cut is allowed.
        tokio::time::advance(COOLDOWN).await;
        until_cut(&mut aimd);
        assert!(aimd.rate().is_some_and(|rate| rate < after));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_for_throttling_is_not_undone_by_a_trial() {
        let (mut aimd, after_failures) = cut_for_failures();
        tokio::time::advance(COOLDOWN).await;
        aimd.throttle_avg = 0.5; // the host now answers mostly 429
        assert!(see(&mut aimd, Signal::Throttled));
        assert!(aimd.rate().is_some_and(|rate| rate < after_failures));
        // As many failures as before the first cut: that trial, had it
        // gone on, would undo both cuts.
        for n in 0..TRIAL {
            see(&mut aimd, three_in_five(n));
        }
        assert!(
            aimd.rate().is_some_and(|rate| rate < after_failures),
            "{:?}",
            aimd.rate()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_sent_before_a_cut_do_not_judge_it() {
        let mut aimd = Aimd::new(Instant::now());
        run_for_a_second(&mut aimd, 100);
        let before_the_cut = Instant::now();
        tokio::time::advance(Duration::from_millis(1)).await;
        until_cut(&mut aimd);
        tokio::time::advance(Duration::from_millis(10)).await;
        // 64 answers to requests that were in flight at the cut.
        for n in 0..64 {
            aimd.observe(three_in_five(n), before_the_cut, Instant::now());
        }
        assert!(aimd.rate().is_some(), "still cut: no verdict yet");
        assert!(aimd.trial.as_ref().is_some_and(|t| t.attempts == 0));
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
            assert!(!see(&mut aimd, signal), "answer {i}");
            if i % 100 == 0 {
                tokio::time::advance(Duration::from_secs(1)).await;
            }
        }
        assert_eq!(aimd.rate(), None);
    }
}
