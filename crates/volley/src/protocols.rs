//! What each `https` origin speaks, learnt from TLS handshakes, and which
//! pool its requests go to (see `transport`).
//!
//! An origin nobody has connected to yet gets one probe: its first request
//! connects through the HTTP/2-only pool while the others wait until the
//! handshake has said what the origin speaks (or the connection failed).
//! Then they go where the probe's handshake sends them: all onto its
//! connection for HTTP/2, each to a connection of its own for HTTP/1.1.
//! Without the wait, each of them would open a connection of its own, and
//! against an HTTP/2 origin all but one would be thrown away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

/// What the latest TLS handshake with an origin chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Speaks {
    Http1,
    Http2,
    /// The probe's connection failed before a handshake said anything:
    /// treated as HTTP/1 (each request connects for itself) until a
    /// handshake succeeds.
    Unreached,
}

#[derive(Debug)]
enum Known {
    Speaks(Speaks),
    /// A probe is connecting. Replacing or removing this entry drops the
    /// sender, which wakes the requests waiting on it.
    Probing(watch::Sender<()>),
}

/// The table, by authority as written in the origin's URLs.
#[derive(Debug, Default)]
pub(crate) struct Protocols(Mutex<HashMap<String, Known>>);

/// Origins remembered; past this many the table starts again, and an
/// origin forgotten is learnt again by its next connection.
const MAX_ORIGINS: usize = 4096;

/// Where a request to an `https` origin goes.
#[derive(Debug)]
pub(crate) enum Route {
    /// The HTTP/1 pool: the origin speaks HTTP/1.1, or was unreached.
    Http1,
    /// The HTTP/2-only pool.
    Http2,
    /// The HTTP/2-only pool, as the origin's probe: hold the [`Probe`]
    /// until the request is answered or has failed.
    Probe(Probe),
    /// Wait for the probe (`changed` returns when it is done), then ask
    /// again.
    Wait(watch::Receiver<()>),
}

/// The right to probe an origin. Dropped with nothing learnt (the request
/// was cancelled, say), it hands the probe on to a waiting request.
#[derive(Debug)]
pub(crate) struct Probe {
    protocols: Arc<Protocols>,
    authority: String,
    ours: watch::Receiver<()>,
}

impl Protocols {
    /// Where a request to `authority` goes now.
    pub(crate) fn route(self: &Arc<Self>, authority: &str) -> Route {
        let mut table = self.table();
        match table.get(authority) {
            Some(Known::Speaks(Speaks::Http2)) => Route::Http2,
            Some(Known::Speaks(Speaks::Http1 | Speaks::Unreached)) => Route::Http1,
            Some(Known::Probing(probing)) => Route::Wait(probing.subscribe()),
            None => {
                let (probing, ours) = watch::channel(());
                insert(&mut table, authority, Known::Probing(probing));
                Route::Probe(Probe {
                    protocols: Arc::clone(self),
                    authority: authority.to_owned(),
                    ours,
                })
            }
        }
    }

    /// What `authority` spoke at its latest handshake, if one has said.
    pub(crate) fn of(&self, authority: &str) -> Option<Speaks> {
        match self.table().get(authority) {
            Some(Known::Speaks(speaks)) => Some(*speaks),
            _ => None,
        }
    }

    /// Whether the HTTP/2-only pool may connect to `authority`: it is not
    /// known to speak anything else, nor unreached.
    pub(crate) fn may_speak_h2(&self, authority: &str) -> bool {
        !matches!(self.of(authority), Some(Speaks::Http1 | Speaks::Unreached))
    }

    /// Records what a handshake with `authority` chose.
    pub(crate) fn learn(&self, authority: &str, speaks: Speaks) {
        insert(&mut self.table(), authority, Known::Speaks(speaks));
    }

    /// Marks `authority` unreached, unless a handshake has said what it
    /// speaks.
    pub(crate) fn unreached(&self, authority: &str) {
        let mut table = self.table();
        if !matches!(table.get(authority), Some(Known::Speaks(_))) {
            insert(&mut table, authority, Known::Speaks(Speaks::Unreached));
        }
    }

    fn table(&self) -> MutexGuard<'_, HashMap<String, Known>> {
        // The table holds no invariant a panic elsewhere could break.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn insert(table: &mut HashMap<String, Known>, authority: &str, known: Known) {
    if let Some(entry) = table.get_mut(authority) {
        *entry = known;
        return;
    }
    if table.len() >= MAX_ORIGINS {
        table.clear();
    }
    table.insert(authority.to_owned(), known);
}

impl Drop for Probe {
    fn drop(&mut self) {
        let mut table = self.protocols.table();
        if let Some(Known::Probing(probing)) = table.get(&self.authority) {
            if probing.subscribe().same_channel(&self.ours) {
                table.remove(&self.authority);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(route: Route) -> Probe {
        match route {
            Route::Probe(probe) => probe,
            other => panic!("expected to probe, got {other:?}"),
        }
    }

    fn waiting(route: Route) -> watch::Receiver<()> {
        match route {
            Route::Wait(done) => done,
            other => panic!("expected to wait, got {other:?}"),
        }
    }

    #[test]
    fn one_probe_per_origin_and_the_others_wait_for_its_handshake() {
        let protocols = Arc::new(Protocols::default());
        let first = probe(protocols.route("a:443"));
        let done = waiting(protocols.route("a:443"));
        assert!(protocols.may_speak_h2("a:443"));
        // Another origin is probed on its own.
        let _other = probe(protocols.route("b:443"));

        protocols.learn("a:443", Speaks::Http2);
        assert!(done.has_changed().is_err(), "the waiting are woken");
        assert!(matches!(protocols.route("a:443"), Route::Http2));
        drop(first);
        assert!(matches!(protocols.route("a:443"), Route::Http2), "kept");

        protocols.learn("b:443", Speaks::Http1);
        assert!(matches!(protocols.route("b:443"), Route::Http1));
        assert!(!protocols.may_speak_h2("b:443"));
    }

    #[test]
    fn a_probe_dropped_unanswered_hands_on_to_a_waiting_request() {
        let protocols = Arc::new(Protocols::default());
        let first = probe(protocols.route("a:443"));
        let done = waiting(protocols.route("a:443"));
        drop(first);
        assert!(done.has_changed().is_err(), "the waiting are woken");
        let _second = probe(protocols.route("a:443"));
    }

    #[test]
    fn unreached_until_a_handshake_succeeds() {
        let protocols = Arc::new(Protocols::default());
        let first = probe(protocols.route("a:443"));
        let done = waiting(protocols.route("a:443"));
        protocols.unreached("a:443");
        assert!(done.has_changed().is_err(), "the waiting are woken");
        drop(first);
        assert!(matches!(protocols.route("a:443"), Route::Http1));
        assert!(!protocols.may_speak_h2("a:443"));
        // Only a handshake moves it on, and a failure never undoes one.
        protocols.learn("a:443", Speaks::Http2);
        protocols.unreached("a:443");
        assert!(matches!(protocols.route("a:443"), Route::Http2));
    }
}
