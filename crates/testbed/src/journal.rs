//! The journal: what the testbed saw, so tests can assert server-side facts.
//!
//! Every request whose head parsed and whose body was read is appended as a
//! [`Seen`] (arrival order). Alongside, the journal keeps in-flight counters —
//! one for all listeners together and one per listener port — with their
//! high-water marks, which is how tests check global and per-host concurrency
//! limits (FAULTS row 22). A request is in flight from the moment its head is
//! parsed until its response is fully written or its fault has finished; the
//! [`InFlight`] guard returned by [`Journal::begin`] marks that span. It
//! also counts connections, including those that never carried a request (a
//! TLS client that refused the certificate, FAULTS row 17).
//!
//! The journal is shared by all connection handlers of one testbed, on any
//! runtime thread, so it uses only a `std::sync::Mutex` (never held across an
//! `.await`) and atomics.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// One request as the testbed saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The request method, as sent (`GET`, `POST`, …).
    pub method: String,
    /// The request path without the query string, as sent (not percent-decoded).
    pub path: String,
    /// The query string without the `?`, if the target had one.
    pub query: Option<String>,
    /// The port of the listener that received the request ("which host").
    pub port: u16,
    /// The request headers in order, names lowercased, values as sent (lossy UTF-8).
    pub headers: Vec<(String, String)>,
    /// The length of the request body after chunked decoding.
    pub body_len: usize,
    /// When the request head was parsed.
    pub at: Instant,
    /// Which connection carried it: an id unique within one testbed, so tests
    /// can tell keep-alive reuse from fresh connections.
    pub connection: u64,
}

impl Seen {
    /// The value of the first header named `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A current count and its high-water mark.
#[derive(Debug, Default)]
struct Gauge {
    current: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        // `fetch_add` returns the previous value, so `+ 1` is the count
        // including this request; `fetch_max` keeps the mark monotonic even
        // when several handlers enter at once.
        let now = self.current.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.current.fetch_sub(1, Ordering::SeqCst);
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

/// Everything one testbed saw, shared by all of its listeners.
///
/// Thread-safe: read it from the test thread while the server runs.
#[derive(Debug)]
pub struct Journal {
    /// `None` when the journal only counts (the long-running binary, where
    /// keeping every request would grow memory without bound).
    seen: Option<Mutex<Vec<Seen>>>,
    total: AtomicUsize,
    /// Connections accepted so far; the next one's id.
    connections: AtomicU64,
    all: Gauge,
    /// One gauge per listener port; fixed when the testbed starts, so a plain
    /// `Vec` searched linearly (a handful of entries) needs no lock.
    per_port: Vec<(u16, Gauge)>,
}

impl Journal {
    /// A journal for listeners on `ports`; `record` keeps each [`Seen`].
    pub(crate) fn new(ports: &[u16], record: bool) -> Journal {
        Journal {
            seen: record.then(|| Mutex::new(Vec::new())),
            total: AtomicUsize::new(0),
            connections: AtomicU64::new(0),
            all: Gauge::default(),
            per_port: ports.iter().map(|&p| (p, Gauge::default())).collect(),
        }
    }

    /// Counts a connection just accepted and returns its id ([`Seen::connection`]).
    pub(crate) fn connected(&self) -> u64 {
        self.connections.fetch_add(1, Ordering::SeqCst)
    }

    /// Marks a request on `port` as in flight until the guard is dropped.
    pub(crate) fn begin(&self, port: u16) -> InFlight<'_> {
        self.all.enter();
        if let Some(gauge) = self.port_gauge(port) {
            gauge.enter();
        }
        InFlight {
            journal: self,
            port,
        }
    }

    /// Appends a request that has been read in full. `seen` is only called
    /// when the journal keeps a list, so a counting-only journal costs no
    /// copies.
    pub(crate) fn record(&self, seen: impl FnOnce() -> Seen) {
        self.total.fetch_add(1, Ordering::SeqCst);
        if let Some(list) = &self.seen {
            let seen = seen();
            lock(list).push(seen);
        }
    }

    fn port_gauge(&self, port: u16) -> Option<&Gauge> {
        self.per_port
            .iter()
            .find(|(p, _)| *p == port)
            .map(|(_, g)| g)
    }

    fn with_seen<T>(&self, f: impl FnOnce(&[Seen]) -> T) -> T {
        match &self.seen {
            Some(list) => f(&lock(list)),
            None => f(&[]),
        }
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.with_seen(<[Seen]>::to_vec)
    }

    /// How many requests had exactly this path (query excluded), any method.
    pub fn count(&self, path: &str) -> usize {
        self.with_seen(|seen| seen.iter().filter(|s| s.path == path).count())
    }

    /// How many requests had this method (case-sensitive, e.g. `"POST"`) and path.
    pub fn count_method(&self, method: &str, path: &str) -> usize {
        self.with_seen(|seen| {
            seen.iter()
                .filter(|s| s.method == method && s.path == path)
                .count()
        })
    }

    /// The most requests that were in flight at once, all listeners together.
    pub fn max_in_flight(&self) -> usize {
        self.all.max()
    }

    /// The most requests that were in flight at once on the listener bound to
    /// `port` (one "host"); 0 for a port that is not one of this testbed's.
    pub fn max_in_flight_on(&self, port: u16) -> usize {
        self.port_gauge(port).map_or(0, Gauge::max)
    }

    /// How many requests are in flight right now, all listeners together.
    /// Tests poll it to see that the server let go of requests whose client
    /// gave up.
    pub fn in_flight(&self) -> usize {
        self.all.current.load(Ordering::SeqCst)
    }

    /// How many requests were seen in all.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// How many connections were accepted in all, whether or not a request
    /// came on them. Over TLS a connection is counted before its handshake,
    /// so a client that refused the certificate shows here and not in
    /// [`total`](Journal::total).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Locks the list even if a handler panicked while holding it: the list is
/// only ever pushed to, so it is never left half-updated, and the panic itself
/// is reported by the testbed's `Drop`.
fn lock(list: &Mutex<Vec<Seen>>) -> MutexGuard<'_, Vec<Seen>> {
    list.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A request in flight; dropping it (response written, fault finished, or
/// connection gone) takes it out of the counts.
#[derive(Debug)]
pub(crate) struct InFlight<'a> {
    journal: &'a Journal,
    port: u16,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.journal.all.leave();
        if let Some(gauge) = self.journal.port_gauge(self.port) {
            gauge.leave();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(method: &str, path: &str) -> Seen {
        Seen {
            method: method.into(),
            path: path.into(),
            query: None,
            port: 1,
            headers: vec![("x-a".into(), "1".into())],
            body_len: 0,
            at: Instant::now(),
            connection: 0,
        }
    }

    #[test]
    fn counts_by_path_and_method() {
        let j = Journal::new(&[1], true);
        j.record(|| seen("GET", "/a"));
        j.record(|| seen("POST", "/a"));
        j.record(|| seen("GET", "/b"));
        assert_eq!(j.count("/a"), 2);
        assert_eq!(j.count_method("POST", "/a"), 1);
        assert_eq!(j.total(), 3);
        assert_eq!((j.connected(), j.connected(), j.connections()), (0, 1, 2));
        assert_eq!(j.requests()[2].path, "/b");
        assert_eq!(j.requests()[0].header("X-A"), Some("1"));
    }

    #[test]
    fn high_water_marks_are_global_and_per_port() {
        let j = Journal::new(&[1, 2], true);
        let a = j.begin(1);
        let b = j.begin(1);
        let c = j.begin(2);
        assert_eq!(j.in_flight(), 3);
        drop((a, b, c));
        let _d = j.begin(2);
        assert_eq!(j.in_flight(), 1);
        assert_eq!(j.max_in_flight(), 3);
        assert_eq!(j.max_in_flight_on(1), 2);
        assert_eq!(j.max_in_flight_on(2), 1);
        assert_eq!(j.max_in_flight_on(3), 0);
    }

    #[test]
    fn counting_only_journal_keeps_no_list() {
        let j = Journal::new(&[1], false);
        j.record(|| seen("GET", "/a"));
        assert_eq!(j.total(), 1);
        assert!(j.requests().is_empty());
    }
}
