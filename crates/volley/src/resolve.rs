//! Name resolution: the system resolver, behind a type of our own so that a
//! DNS failure is recognisable in an error chain (see `classify`).
//!
//! Names under `.invalid` fail at once without a query, as RFC 6761 §6.4
//! asks of resolver APIs; this also gives tests a DNS failure that needs no
//! network.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

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

/// The system resolver (getaddrinfo, on tokio's blocking pool).
#[derive(Debug, Default)]
pub(crate) struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            if host == "invalid" || host.ends_with(".invalid") {
                return Err(
                    DnsError::new(host, "the .invalid domain never resolves (RFC 6761)").into(),
                );
            }
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| DnsError::new(host.as_str(), e.to_string()))?
                .collect();
            if found.is_empty() {
                return Err(DnsError::new(host, "no addresses").into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}
