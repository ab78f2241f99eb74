//! The limits every attempt passes, shared by all requests of one client:
//! per-host (concurrency, `Retry-After` pause, fixed rate, adaptive pacing,
//! retry budget) and global (concurrency, rate).
//!
//! An attempt goes through them in this order:
//!
//! 1. its host's concurrency slot ([`HostLease::acquire`]);
//! 2. its host's readiness ([`HostLease::ready`]): the pause a `Retry-After`
//!    set, the host's fixed rate, the adaptive pacing;
//! 3. a global concurrency slot, then the global rate ([`Limits::global`]);
//!    if a pause began while it waited for those, back to 2 (steps 2 and 3
//!    together are [`HostLease::admit`]).
//!
//! Everything host-specific comes before anything global, so requests to a
//! paused, slow or rate-limited host wait without holding global slots and
//! never hold back other hosts. Slots are released when the attempt has been
//! judged — after any pause its answer asked for is in place, so no other
//! request to the host can slip out first — and before any backoff sleep.
//!
//! The table keeps a host while some request to it is alive (counted by
//! [`HostLease`]) and for a minute after, so what was learnt about it (its
//! pause, pacing and retry budget) survives gaps between requests, while a
//! run over millions of hosts still does not grow the table without bound.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use foldhash::{HashMap, HashSet};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;
use url::Url;

use crate::policy::adaptive::{Aimd, Signal};
use crate::policy::budget::RetryBudget;
use crate::policy::rate::{self, Limiter, RatePolicy};
use crate::stats::{Counter, Counters};

/// The global and per-host limits shared by every request of one client.
#[derive(Debug)]
pub(crate) struct Limits {
    /// One permit per request allowed in flight, across all hosts.
    global: Semaphore,
    global_rate: Option<Limiter>,
    per_host: usize,
    policy: RatePolicy,
    /// Known hosts. Not held across an await.
    hosts: Mutex<HostTable>,
    pub(crate) counters: Counters,
}

/// The hosts with requests alive, and those idle for less than
/// [`IDLE_TTL`] (so that what was learnt about a host — its pause, pacing
/// and retry budget — outlives a gap between requests).
#[derive(Debug, Default)]
struct HostTable {
    entries: HashMap<Arc<str>, Entry>,
    /// Leases taken since the last sweep of idle entries.
    since_sweep: usize,
}

#[derive(Debug)]
struct Entry {
    host: Arc<Host>,
    /// Requests holding a lease.
    users: usize,
    /// When the last lease was dropped, while `users` is 0.
    idle_since: Option<Instant>,
}

/// How long an idle host's state is kept.
const IDLE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl HostTable {
    /// Drops entries idle for longer than [`IDLE_TTL`] whose pause is over.
    /// Runs once per as many leases as there are entries: amortised O(1).
    fn sweep_if_due(&mut self, now: Instant) {
        self.since_sweep += 1;
        if self.since_sweep < self.entries.len().max(64) {
            return;
        }
        self.since_sweep = 0;
        self.entries.retain(|_, entry| {
            let idle_long = entry
                .idle_since
                .is_some_and(|at| now.duration_since(at) >= IDLE_TTL);
            let paused = lock(&entry.host.state)
                .paused_until
                .is_some_and(|until| until > now);
            !idle_long || paused
        });
    }
}

/// One origin's limits and what has been learnt about it.
#[derive(Debug)]
struct Host {
    /// One permit per request allowed in flight to this host.
    permits: Semaphore,
    limiter: Option<Limiter>,
    /// Never held across an await.
    state: Mutex<HostState>,
}

#[derive(Debug)]
struct HostState {
    /// No attempt to this host starts before this instant.
    paused_until: Option<Instant>,
    aimd: Option<Aimd>,
    budget: RetryBudget,
}

/// A request's claim on its host's entry; dropping it forgets the host once
/// no request to it remains.
#[derive(Debug)]
pub(crate) struct HostLease {
    limits: Arc<Limits>,
    key: Arc<str>,
    host: Arc<Host>,
}

/// `scheme://host:port`: requests with the same key share per-host limits.
pub fn host_key(url: &Url) -> Arc<str> {
    // Built by hand: `format!` costs several times as much, once per request.
    let (scheme, host) = (url.scheme(), url.host_str().unwrap_or(""));
    let mut port = url.port_or_known_default().unwrap_or(0);
    let mut digits = [0u8; 5];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (port % 10) as u8;
        port /= 10;
        if port == 0 {
            break;
        }
    }
    KEYS.with(|keys| {
        let (scratch, known) = &mut *keys.borrow_mut();
        scratch.clear();
        scratch.push_str(scheme);
        scratch.push_str("://");
        scratch.push_str(host);
        scratch.push(':');
        scratch.extend(digits[start..].iter().map(|&d| char::from(d)));
        if let Some(key) = known.get(scratch.as_str()) {
            return Arc::clone(key);
        }
        if known.len() == KEYS_KEPT {
            known.clear();
        }
        let key: Arc<str> = scratch.as_str().into();
        known.insert(Arc::clone(&key));
        key
    })
}

/// Keys kept per thread; the set is emptied when full, so a run over
/// millions of hosts builds each key anew, as without it.
const KEYS_KEPT: usize = 256;

thread_local! {
    /// The keys this thread has built, and a buffer to build the next in:
    /// a request to a known host shares its key instead of allocating one.
    static KEYS: RefCell<(String, HashSet<Arc<str>>)> = RefCell::default();
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data
    // half-updated in a way that matters (counters and instants), so a
    // poisoned lock is still used.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Limits {
    pub(crate) fn new(global: usize, per_host: usize, policy: RatePolicy) -> Self {
        Limits {
            global: Semaphore::new(global),
            global_rate: policy.global.as_ref().map(rate::Rate::limiter),
            per_host,
            policy,
            hosts: Mutex::new(HostTable::default()),
            counters: Counters::default(),
        }
    }

    /// Takes a lease on `key`'s entry, creating it if needed.
    pub(crate) fn lease(self: &Arc<Self>, key: Arc<str>) -> HostLease {
        let mut hosts = lock(&self.hosts);
        let now = Instant::now();
        hosts.sweep_if_due(now);
        let entry = hosts.entries.entry(Arc::clone(&key)).or_insert_with(|| {
            let host = Host {
                permits: Semaphore::new(self.per_host),
                limiter: self.policy.per_host.as_ref().map(rate::Rate::limiter),
                state: Mutex::new(HostState {
                    paused_until: None,
                    aimd: self.policy.adaptive.then(|| Aimd::new(Instant::now())),
                    budget: RetryBudget::default(),
                }),
            };
            Entry {
                host: Arc::new(host),
                users: 0,
                idle_since: None,
            }
        });
        entry.users += 1;
        entry.idle_since = None;
        HostLease {
            limits: Arc::clone(self),
            key,
            host: Arc::clone(&entry.host),
        }
    }

    /// Waits for a global slot, then for the global rate. Cancel safe:
    /// dropping the future gives up its place in the queue for a slot; once
    /// it holds one, its booked start goes unused (see `rate::Limiter`).
    pub(crate) async fn global(&self) -> SemaphorePermit<'_> {
        let permit = self
            .global
            .acquire()
            .await
            .expect("the global semaphore is never closed");
        if let Some(limiter) = &self.global_rate {
            limiter.until_ready().await;
        }
        permit
    }

    /// How many hosts are live (for tests).
    #[cfg(test)]
    fn live_hosts(&self) -> usize {
        lock(&self.hosts).entries.len()
    }
}

impl HostLease {
    /// Waits for one of this host's slots. Cancel safe.
    pub(crate) async fn acquire(&self) -> SemaphorePermit<'_> {
        self.host
            .permits
            .acquire()
            .await
            .expect("host semaphores are never closed")
    }

    /// Waits until this host may receive a request: its pause is over, its
    /// fixed rate and its adaptive pacing allow one more.
    pub(crate) async fn ready(&self) {
        loop {
            let paused = lock(&self.host.state).paused_until;
            if let Some(until) = paused.filter(|until| *until > Instant::now()) {
                tokio::time::sleep_until(until).await;
                continue;
            }
            if let Some(limiter) = &self.host.limiter {
                limiter.until_ready().await;
            }
            let pacing = {
                let mut state = lock(&self.host.state);
                let now = Instant::now();
                state
                    .aimd
                    .as_mut()
                    .map_or(Duration::ZERO, |aimd| aimd.reserve(now))
            };
            if !pacing.is_zero() {
                tokio::time::sleep(pacing).await;
            }
            // A pause that began while this request waited for its rate
            // still applies to it.
            let paused = lock(&self.host.state).paused_until;
            if paused.is_none_or(|until| until <= Instant::now()) {
                return;
            }
        }
    }

    /// Waits until an attempt to this host may start: its readiness
    /// ([`HostLease::ready`]), then a global slot and the global rate
    /// ([`Limits::global`]). Returns the global slot. Cancel safe.
    ///
    /// The wait for a global slot can be long when other hosts hold them
    /// all, and a `Retry-After` may pause this host meanwhile; a request that
    /// went out then would break the pause. So the pause is checked again
    /// with the slot in hand, and if one began, the slot is given back (to
    /// other hosts) and the request waits with its host. A pause is rare, so
    /// the rate starts booked for the first round and left unused do not
    /// matter.
    pub(crate) async fn admit(&self) -> SemaphorePermit<'_> {
        loop {
            self.ready().await;
            let global = self.limits.global().await;
            let paused = lock(&self.host.state).paused_until;
            if paused.is_none_or(|until| until <= Instant::now()) {
                return global;
            }
        }
    }

    /// The host asked (with `Retry-After`) that nothing be sent for `wait`.
    /// A zero wait (a date in the past) asks for no pause at all, and is not
    /// counted as one.
    pub(crate) fn pause_for(&self, wait: Duration) {
        if wait.is_zero() {
            return;
        }
        let until = Instant::now() + wait;
        let mut state = lock(&self.host.state);
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
            self.limits.counters.bump(Counter::HostPauses);
        }
    }

    /// Feeds the result of one attempt, sent at `sent`, to adaptive
    /// throttling.
    pub(crate) fn observe(&self, signal: Signal, sent: Instant) {
        let cut = {
            let mut state = lock(&self.host.state);
            let now = Instant::now();
            state
                .aimd
                .as_mut()
                .is_some_and(|aimd| aimd.observe(signal, sent, now))
        };
        if cut {
            self.limits.counters.bump(Counter::ThrottleDecreases);
        }
    }

    /// A first attempt: adds to the host's retry budget.
    pub(crate) fn first_attempt(&self) {
        lock(&self.host.state).budget.deposit();
    }

    /// Asks the host's retry budget for one retry.
    pub(crate) fn allow_retry(&self) -> bool {
        let allowed = lock(&self.host.state).budget.withdraw();
        if !allowed {
            self.limits.counters.bump(Counter::RetryBudgetExhausted);
        }
        allowed
    }
}

impl Drop for HostLease {
    fn drop(&mut self) {
        let mut hosts = lock(&self.limits.hosts);
        if let Some(entry) = hosts.entries.get_mut(&self.key) {
            entry.users -= 1;
            if entry.users == 0 {
                // Kept for a while: see `HostTable`.
                entry.idle_since = Some(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(global: usize, per_host: usize) -> Arc<Limits> {
        Arc::new(Limits::new(global, per_host, RatePolicy::default()))
    }

    #[test]
    fn keys_name_the_origin() {
        let key = |s| host_key(&Url::parse(s).expect("url"));
        assert_eq!(&*key("http://a.test/x?y"), "http://a.test:80");
        assert_eq!(&*key("https://A.test:8443/"), "https://a.test:8443");
        assert_ne!(key("http://a.test/"), key("https://a.test/"));
        assert_eq!(&*key("http://[::1]:9/"), "http://[::1]:9");
        assert_eq!(&*key("http://h:65535/"), "http://h:65535");
    }

    #[test]
    fn a_known_host_shares_its_key_and_the_kept_keys_stay_bounded() {
        let key = |s: &str| host_key(&Url::parse(s).expect("url"));
        let first = key("http://shared.test/a");
        let again = key("http://shared.test:80/b?c");
        assert!(Arc::ptr_eq(&first, &again), "{first} was built twice");
        for i in 0..(KEYS_KEPT * 3) {
            assert_eq!(
                &*key(&format!("http://h{i}.test/")),
                format!("http://h{i}.test:80")
            );
        }
        KEYS.with(|keys| assert!(keys.borrow().1.len() <= KEYS_KEPT));
        // Still right after the set was emptied.
        assert_eq!(&*key("http://shared.test/a"), "http://shared.test:80");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_hosts_are_kept_a_while_then_forgotten() {
        let limits = limits(4, 2);
        let a1 = limits.lease("a".into());
        let a2 = limits.lease("a".into());
        let b = limits.lease("b".into());
        assert_eq!(limits.live_hosts(), 2);
        drop((a1, a2, b));
        // Idle but remembered: a later request finds the same state.
        let again = limits.lease("a".into());
        again.first_attempt();
        drop(again);
        assert_eq!(limits.live_hosts(), 2);
        tokio::time::advance(IDLE_TTL).await;
        // The sweep runs after enough leases; other hosts' leases trigger it.
        for i in 0..64 {
            drop(limits.lease(format!("h{i}").into()));
        }
        let left = lock(&limits.hosts)
            .entries
            .keys()
            .filter(|k| !k.starts_with('h'))
            .count();
        assert_eq!(left, 0, "a and b were idle past the TTL");
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_survives_between_sequential_requests() {
        let limits = limits(4, 2);
        let mut granted = 0;
        for _ in 0..100 {
            let lease = limits.lease("dead".into());
            lease.first_attempt();
            granted += (0..3).filter(|_| lease.allow_retry()).count();
        }
        assert_eq!(granted, 30, "10 + 20% of 100, not 3 per request");
    }

    #[tokio::test]
    async fn per_host_permits_are_shared_by_leases() {
        let limits = limits(4, 1);
        let a1 = limits.lease("a".into());
        let a2 = limits.lease("a".into());
        let held = a1.acquire().await;
        assert!(
            a2.host.permits.try_acquire().is_err(),
            "second request to a waits"
        );
        let b = limits.lease("b".into());
        assert!(
            b.host.permits.try_acquire().is_ok(),
            "another host does not"
        );
        drop(held);
        assert!(a2.host.permits.try_acquire().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_request_to_the_host_only() {
        let limits = limits(4, 4);
        let a1 = limits.lease("a".into());
        let a2 = limits.lease("a".into());
        let b = limits.lease("b".into());
        a1.pause_for(Duration::from_secs(2));
        a1.pause_for(Duration::from_secs(1)); // a shorter pause does not shorten it
        let start = Instant::now();
        b.ready().await;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "other hosts are not paused"
        );
        a2.ready().await;
        assert!(
            start.elapsed() >= Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(limits.counters.snapshot().host_pauses, 1);
    }

    /// FAULTS row 7: a request that passed its host's checks and queued for
    /// the only global slot must not go out when it gets the slot if a
    /// pause began meanwhile.
    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_requests_already_queued_for_a_global_slot() {
        let limits = limits(1, 4);
        let a1 = limits.lease("a".into());
        let a2 = limits.lease("a".into());
        let start = Instant::now();
        let slot = a1.admit().await;
        let waiter = tokio::spawn(async move {
            let _slot = a2.admit().await;
            start.elapsed()
        });
        // Lets the waiter pass its host's checks and queue for the slot.
        tokio::task::yield_now().await;
        a1.pause_for(Duration::from_secs(2));
        drop(slot);
        let waited = waiter.await.expect("the waiter does not panic");
        assert!(waited >= Duration::from_secs(2), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_pause_is_no_pause() {
        let limits = limits(4, 4);
        let a = limits.lease("a".into());
        a.pause_for(Duration::ZERO);
        let start = Instant::now();
        drop(a.admit().await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(limits.counters.snapshot().host_pauses, 0);
    }
}
