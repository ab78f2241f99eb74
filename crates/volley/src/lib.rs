//! # volley
//!
//! Fetch many web-API endpoints concurrently and reliably: one shared
//! connection pool, bounded global and per-host concurrency, retries with
//! jittered backoff that respect idempotency and `Retry-After`, strict
//! timeouts and body caps, and exactly one [`Outcome`] per request, in
//! bounded memory.
//!
//! It is what the Python pattern — one `aiohttp.ClientSession`, a list of
//! tasks, `asyncio.gather`, a `try/except` per URL — becomes when made
//! production-grade:
//!
//! ```no_run
//! # async fn demo() {
//! use volley::{Client, RequestSpec};
//!
//! let client = Client::builder().concurrency(32).build().expect("valid settings");
//! let urls = ["https://api.example.com/data1", "https://api.example.com/data2"];
//! let specs = urls.iter().enumerate().map(|(i, u)| RequestSpec::get(*u).with_index(i as u64));
//! for outcome in client.gather(specs.collect::<Vec<_>>()).await {
//!     match &outcome.error {
//!         None => println!("{}: {} bytes", outcome.url, outcome.bytes),
//!         Some(e) => eprintln!("{}: {} ({})", outcome.url, e.kind, e.message),
//!     }
//! }
//! # }
//! ```
//!
//! # Architecture
//!
//! ```text
//! specs ─► scheduler ──────────────► executor ──► retry policy ─┬─► Outcome
//!          (read-ahead window,       (one attempt: (classify,    │
//!           per-host then global      pool, deadline, backoff,   │
//!           slots)                    redirects,      Retry-After)│
//!                                     capped body)       │        │
//!                     ▲                                  │        │
//!                     └────────── retry later ◄──────────┘        │
//! ```
//!
//! - [`spec`]: [`RequestSpec`], plain data for one request.
//! - `scheduler`: the read-ahead window and the global and per-host limits.
//! - `executor`: one attempt, under one deadline, with manual redirects
//!   (`redirect`) and a streamed, decoded, capped body (`body`).
//! - `transport`: the connection pools under the executor: HTTP/1
//!   (`pool`, volley's own: a connection goes back when its body has been
//!   read) and HTTP/2 (hyper-util's), chosen per origin (`protocols`);
//!   `connect` makes the connections (TCP, TLS, proxies).
//! - `classify`: a transport error's source chain → [`ErrorKind`].
//! - [`policy`]: retry, backoff, `Retry-After`, rate limits, adaptive
//!   throttling, retry budget, status policy; one per file.
//! - `stats`: run-wide counters, read with [`Client::stats`].
//! - [`outcome`]: the record, [`Outcome`], and the closed [`ErrorKind`] list.
//!
//! Library code never panics on input and never returns a failed request
//! as an `Err`: failures are data in the outcome.

#![deny(missing_docs)]
#![warn(clippy::unwrap_used)]

mod body;
mod builder;
mod classify;
mod client;
mod connect;
mod descriptors;
mod executor;
mod intent;
mod origins;
pub mod outcome;
pub mod policy;
mod pool;
mod protocols;
mod redirect;
mod resolve;
mod save;
mod scheduler;
mod shard;
pub mod spec;
mod stats;
mod tls;
mod transport;

pub use body::{compact_json, BodyMode};
pub use builder::{BuildError, ClientBuilder};
pub use client::Client;
pub use descriptors::{raise_open_files_limit, reserve_descriptors, OpenFiles};
pub use intent::{IntentFuture, IntentHook};
pub use outcome::{ErrorInfo, ErrorKind, Outcome, RawBody, SCHEMA_VERSION};
pub use policy::backoff::Backoff;
pub use policy::rate::{Rate, RatePolicy};
pub use policy::retry::{is_idempotent, RetryPolicy};
pub use policy::status::StatusPolicy;
pub use resolve::DnsError;
pub use shard::{shard_of, Shard};
pub use spec::{parse_url, RequestSpec};
pub use stats::Stats;
/// The stop signal of [`Client::stream_until`] (re-exported from `tokio-util`).
pub use tokio_util::sync::CancellationToken;

/// Internals that the micro-benchmarks (`crates/volley-cli/benches`) measure
/// one by one. Not part of the API: they may change in any release.
#[doc(hidden)]
pub mod hot_paths {
    pub use crate::body::render as render_body;
    pub use crate::scheduler::hosts::host_key;
}
