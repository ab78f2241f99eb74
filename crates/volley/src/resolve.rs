//! Name resolution: the system resolver, behind a type of our own so that a
//! DNS failure is recognisable in an error chain (see `classify`), with the
//! builder's fixed answers ([`ClientBuilder::resolve`](crate::ClientBuilder::resolve))
//! in front of it.
//!
//! Names under `.invalid` fail at once without a query, as RFC 6761 §6.4
//! asks of resolver APIs; this also gives tests a DNS failure that needs no
//! network.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;

/// A host name that did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsError {
    host: String,
    reason: String,
}

impl DnsError {
    pub(crate) fn new(host: impl Into<String>, reason: impl Into<String>) -> Self {
        DnsError {
            host: host.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for DnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "could not resolve host {:?}: {}", self.host, self.reason)
    }
}

impl std::error::Error for DnsError {}

/// The addresses of one name, as the connector wants them.
pub(crate) type Addrs = std::vec::IntoIter<SocketAddr>;

/// The system resolver (getaddrinfo, on tokio's blocking pool), after the
/// fixed answers. The connector puts the URL's port on every address; an
/// override's own port is kept only when the URL names none (as curl's
/// `--resolve` and reqwest do).
#[derive(Clone, Debug, Default)]
pub(crate) struct SystemResolver {
    /// Host name → the address given to [`ClientBuilder::resolve`](crate::ClientBuilder::resolve).
    /// Shared: the connector, and so this, is cloned for every connection.
    overrides: Arc<HashMap<String, Vec<SocketAddr>>>,
}

impl SystemResolver {
    /// A resolver that answers the hosts in `overrides` itself.
    pub(crate) fn new(overrides: &[(String, SocketAddr)]) -> Self {
        // A later answer for the same host replaces an earlier one.
        let map = overrides
            .iter()
            .map(|(host, addr)| (host.to_ascii_lowercase(), vec![*addr]))
            .collect();
        SystemResolver {
            overrides: Arc::new(map),
        }
    }
}

impl tower_service::Service<Name> for SystemResolver {
    type Response = Addrs;
    type Error = DnsError;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, DnsError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), DnsError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        if let Some(addrs) = self.overrides.get(name.as_str()) {
            let addrs = addrs.clone().into_iter();
            return Box::pin(std::future::ready(Ok(addrs)));
        }
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            if host == "invalid" || host.ends_with(".invalid") {
                return Err(DnsError::new(
                    host,
                    "the .invalid domain never resolves (RFC 6761)",
                ));
            }
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| DnsError::new(host.as_str(), e.to_string()))?
                .collect();
            if found.is_empty() {
                return Err(DnsError::new(host, "no addresses"));
            }
            Ok(found.into_iter())
        })
    }
}
