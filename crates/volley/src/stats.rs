//! Run-wide counters, shared by every request of a client and read at any
//! time with [`Client::stats`](crate::Client::stats).
//!
//! Plain relaxed atomics: each counter is independent and only ever grows,
//! so no ordering between them is needed.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a client's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Requests finished (one per outcome).
    pub requests: u64,
    /// Attempts made, first ones and retries.
    pub attempts: u64,
    /// Retries made.
    pub retries: u64,
    /// Times a host was paused by a `Retry-After`.
    pub host_pauses: u64,
    /// Times adaptive throttling cut a host's rate.
    pub throttle_decreases: u64,
    /// Failures made final because their host's retry budget was spent.
    pub retry_budget_exhausted: u64,
    /// Attempts under way right now.
    pub in_flight: u64,
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    host_pauses: AtomicU64,
    throttle_decreases: AtomicU64,
    retry_budget_exhausted: AtomicU64,
    in_flight: AtomicU64,
}

/// Counts one attempt as under way until dropped.
#[derive(Debug)]
pub(crate) struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One of the counters.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Counter {
    Requests,
    Attempts,
    Retries,
    HostPauses,
    ThrottleDecreases,
    RetryBudgetExhausted,
}

impl Counters {
    pub(crate) fn bump(&self, counter: Counter) {
        let cell = match counter {
            Counter::Requests => &self.requests,
            Counter::Attempts => &self.attempts,
            Counter::Retries => &self.retries,
            Counter::HostPauses => &self.host_pauses,
            Counter::ThrottleDecreases => &self.throttle_decreases,
            Counter::RetryBudgetExhausted => &self.retry_budget_exhausted,
        };
        cell.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks one attempt as under way, until the guard is dropped.
    pub(crate) fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let get = |cell: &AtomicU64| cell.load(Ordering::Relaxed);
        Stats {
            requests: get(&self.requests),
            attempts: get(&self.attempts),
            retries: get(&self.retries),
            host_pauses: get(&self.host_pauses),
            throttle_decreases: get(&self.throttle_decreases),
            retry_budget_exhausted: get(&self.retry_budget_exhausted),
            in_flight: get(&self.in_flight),
        }
    }
}
