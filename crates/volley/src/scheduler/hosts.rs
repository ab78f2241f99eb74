//! Concurrency limits: one global semaphore and one per origin.
//!
//! An attempt takes its host's permit first and the global permit second.
//! Waiting for a busy host therefore holds nothing global: requests to other
//! hosts keep the global slots. Both permits are released when the attempt
//! ends, before any backoff sleep, so a request waiting to retry holds no
//! slot at all.
//!
//! The table of hosts holds an entry only while some request to that host
//! is alive (counted by [`HostLease`]), so a run over millions of distinct
//! hosts does not grow it without bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use reqwest::Url;
use tokio::sync::{Semaphore, SemaphorePermit};

/// The global and per-host limits shared by every request of one client.
#[derive(Debug)]
pub(crate) struct Limits {
    /// One permit per request allowed in flight, across all hosts.
    global: Semaphore,
    per_host: usize,
    /// Live hosts and how many requests hold a lease on each.
    hosts: Mutex<HashMap<String, (Arc<Host>, usize)>>,
}

/// The state of one origin.
#[derive(Debug)]
pub(crate) struct Host {
    /// One permit per request allowed in flight to this host.
    permits: Semaphore,
}

/// A request's claim on its host's entry; dropping it forgets the host once
/// no request to it remains.
#[derive(Debug)]
pub(crate) struct HostLease {
    limits: Arc<Limits>,
    key: String,
    host: Arc<Host>,
}

/// `scheme://host:port`: requests with the same key share per-host limits.
pub(crate) fn host_key(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

impl Limits {
    pub(crate) fn new(global: usize, per_host: usize) -> Self {
        Limits {
            global: Semaphore::new(global),
            per_host,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a lease on `key`'s entry, creating it if needed.
    pub(crate) fn lease(self: &Arc<Self>, key: String) -> HostLease {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = hosts.entry(key.clone()).or_insert_with(|| {
            let host = Host {
                permits: Semaphore::new(self.per_host),
            };
            (Arc::new(host), 0)
        });
        entry.1 += 1;
        HostLease {
            limits: Arc::clone(self),
            key,
            host: Arc::clone(&entry.0),
        }
    }

    /// Waits for a global slot. Cancel safe: dropping the future gives up
    /// its place in the queue.
    pub(crate) async fn global(&self) -> SemaphorePermit<'_> {
        self.global
            .acquire()
            .await
            .expect("the global semaphore is never closed")
    }

    /// How many hosts are live (for tests).
    #[cfg(test)]
    fn live_hosts(&self) -> usize {
        self.hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
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
}

impl Drop for HostLease {
    fn drop(&mut self) {
        let mut hosts = self
            .limits
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = hosts.get_mut(&self.key) {
            entry.1 -= 1;
            if entry.1 == 0 {
                hosts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_origin() {
        let key = |s| host_key(&Url::parse(s).expect("url"));
        assert_eq!(key("http://a.test/x?y"), "http://a.test:80");
        assert_eq!(key("https://A.test:8443/"), "https://a.test:8443");
        assert_ne!(key("http://a.test/"), key("https://a.test/"));
    }

    #[tokio::test]
    async fn hosts_are_forgotten_when_unused() {
        let limits = Arc::new(Limits::new(4, 2));
        let a1 = limits.lease("a".into());
        let a2 = limits.lease("a".into());
        let b = limits.lease("b".into());
        assert_eq!(limits.live_hosts(), 2);
        drop(a1);
        assert_eq!(limits.live_hosts(), 2);
        drop((a2, b));
        assert_eq!(limits.live_hosts(), 0);
    }

    #[tokio::test]
    async fn per_host_permits_are_shared_by_leases() {
        let limits = Arc::new(Limits::new(4, 1));
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
}
