//! The HTTP client under the executor: hyper's connection pool over our
//! connector, sending exactly the request it is given.
//!
//! It adds nothing but what HTTP needs (`Host`, framing) and a proxy's
//! credentials: no redirects, no retries, no default headers. Those are
//! volley's own (`redirect`, the retry policy, `Client::with_defaults`).
//! A request that finds its pooled connection closed before it was written
//! is sent again on a new one, by the pool; the server never saw it.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, Uri};
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
    proxies: Arc<Proxies>,
}

/// A URL that `url` accepts but an HTTP request line cannot carry.
#[derive(Debug, thiserror::Error)]
#[error("the URL cannot be sent in an HTTP request: {0}")]
struct UnsendableUrl(#[source] http::uri::InvalidUri);

impl Transport {
    /// A pool that keeps up to `per_host` idle connections per origin, each
    /// for up to 90 s.
    pub(crate) fn new(connector: Connector, proxies: Arc<Proxies>, per_host: usize) -> Self {
        let pool = legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(per_host)
            // The idle timeout needs the pool timer; HTTP/2 pings and
            // HTTP/1 header timeouts need the connection timer.
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Transport { pool, proxies }
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
        *request.uri_mut() = uri;
        Ok(self.pool.request(request).await?)
    }
}
