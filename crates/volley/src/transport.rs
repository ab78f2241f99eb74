//! The HTTP client under the executor: hyper's connection pool over our
//! connector, sending exactly the request it is given.
//!
//! It adds nothing but what HTTP needs (`Host`, framing) and a proxy's
//! credentials: no redirects, no retries, no default headers. Those are
//! volley's own (`redirect`, the retry policy, `Client::with_defaults`).
//! A request that finds its pooled connection closed before it was written
//! is sent again on a new one, by the pool; the server never saw it.
//!
//! Two pools share the connector. The first learns each connection's
//! protocol from its TLS handshake, so while no connection to an origin is
//! open, every request waiting for one starts its own: for an HTTP/2
//! origin, a burst of handshakes of which one is kept (at the start, and
//! again after each GOAWAY). Once an origin has answered over HTTP/2, its
//! requests go to the second pool, which speaks only HTTP/2 and opens one
//! connection at a time per origin, the others waiting to share it.

use std::collections::HashSet;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http::{HeaderMap, Method, Request, Response, Uri, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use url::Url;

use crate::connect::{Connector, Proxies};

/// A failure to send a request or to receive its response headers.
pub(crate) type SendError = Box<dyn StdError + Send + Sync>;

/// The connection pool and how to reach each origin.
#[derive(Debug)]
pub(crate) struct Transport {
    pool: legacy::Client<Connector, Full<Bytes>>,
    /// HTTP/2 only: for the origins in `h2_origins`.
    h2: legacy::Client<Connector, Full<Bytes>>,
    /// `https` authorities that have answered over HTTP/2, as written in
    /// their URLs (bounded: see [`MAX_H2_ORIGINS`]).
    h2_origins: Mutex<HashSet<String>>,
    proxies: Arc<Proxies>,
}

/// Origins remembered as speaking HTTP/2; past this many the set starts
/// again, and an origin forgotten costs one burst of handshakes.
const MAX_H2_ORIGINS: usize = 4096;

/// A URL that `url` accepts but an HTTP request line cannot carry.
#[derive(Debug, thiserror::Error)]
#[error("the URL cannot be sent in an HTTP request: {0}")]
struct UnsendableUrl(#[source] http::uri::InvalidUri);

impl Transport {
    /// A pool that keeps up to `per_host` idle connections per origin, each
    /// for up to 90 s.
    pub(crate) fn new(connector: Connector, proxies: Arc<Proxies>, per_host: usize) -> Self {
        let builder = || {
            let mut builder = legacy::Client::builder(TokioExecutor::new());
            builder
                .pool_idle_timeout(Duration::from_secs(90))
                .pool_max_idle_per_host(per_host)
                // The idle timeout needs the pool timer; HTTP/2 pings and
                // HTTP/1 header timeouts need the connection timer.
                .pool_timer(TokioTimer::new())
                .timer(TokioTimer::new());
            builder
        };
        Transport {
            pool: builder().build(connector.clone()),
            h2: builder().http2_only(true).build(connector.h2_only()),
            h2_origins: Mutex::new(HashSet::new()),
            proxies,
        }
    }

    /// Remembers that `authority` answered over HTTP/2.
    fn remember_h2(&self, authority: &str) {
        let mut origins = self.origins();
        if origins.len() >= MAX_H2_ORIGINS {
            origins.clear();
        }
        origins.insert(authority.to_owned());
    }

    fn origins(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // The set holds no invariant a panic elsewhere could break.
        self.h2_origins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends one request and waits for the response headers.
    ///
    /// # Errors
    ///
    /// The pool's error (connect, TLS, a reset, a malformed response), or
    /// [`UnsendableUrl`]; `classify` reads either.
    pub(crate) async fn send(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: Option<&Bytes>,
    ) -> Result<Response<Incoming>, SendError> {
        let uri: Uri = url.as_str().parse().map_err(UnsendableUrl)?;
        let body = Full::new(body.cloned().unwrap_or_default());
        let mut request = Request::new(body);
        *request.method_mut() = method.clone();
        *request.headers_mut() = headers.clone();
        if !headers.contains_key(http::header::PROXY_AUTHORIZATION) {
            if let Some(auth) = self.proxies.forward_auth(&uri) {
                request
                    .headers_mut()
                    .insert(http::header::PROXY_AUTHORIZATION, auth);
            }
        }
        if uri.scheme() != Some(&Scheme::HTTPS) {
            *request.uri_mut() = uri;
            return Ok(self.pool.request(request).await?);
        }
        *request.uri_mut() = uri.clone();
        let authority = uri.authority().map_or("", http::uri::Authority::as_str);
        if self.origins().contains(authority) {
            // An origin that stopped offering HTTP/2 is refused by the
            // connector before anything is sent (a connect error, retried),
            // and goes back to the first pool for its next attempt.
            let sent = self.h2.request(request).await;
            if sent.as_ref().is_err_and(legacy::Error::is_connect) {
                self.origins().remove(authority);
            }
            return Ok(sent?);
        }
        let response = self.pool.request(request).await?;
        if response.version() == Version::HTTP_2 {
            self.remember_h2(authority);
        }
        Ok(response)
    }
}
