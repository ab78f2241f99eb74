//! The HTTP client under the executor: hyper's connection pool over our
//! connector, sending exactly the request it is given.
//!
//! It adds nothing but what HTTP needs (`Host`, framing) and a proxy's
//! credentials: no redirects, no retries, no default headers. Those are
//! volley's own (`redirect`, the retry policy, `Client::with_defaults`).
//! A request that finds its pooled connection closed before it was written
//! is sent again on a new one, by the pool; the server never saw it.
//!
//! Two pools share the connector. hyper's pool learns a connection's
//! protocol from its TLS handshake, so while it has no connection to an
//! origin, every request waiting for one starts its own: against an HTTP/2
//! origin, a burst of handshakes of which one is kept. So `https` requests
//! are routed by what their origin is known to speak (`protocols`): to an
//! HTTP/2-only pool, which opens one connection at a time per origin and
//! shares it, or to the first pool, which is also the one for plain `http`.
//! An origin not known yet is probed by its first request, through the
//! HTTP/2-only pool, while the others wait for the probe's handshake.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http::{HeaderMap, Method, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use url::Url;

use crate::classify;
use crate::connect::{Connector, NotH2, Proxies};
use crate::protocols::{Protocols, Route, Speaks};

/// A failure to send a request or to receive its response headers.
pub(crate) type SendError = Box<dyn StdError + Send + Sync>;

/// The connection pool and how to reach each origin.
#[derive(Debug)]
pub(crate) struct Transport {
    pool: legacy::Client<Connector, Full<Bytes>>,
    /// HTTP/2 only: for the `https` origins that speak it or may.
    h2: legacy::Client<Connector, Full<Bytes>>,
    protocols: Arc<Protocols>,
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
            protocols: connector.protocols(),
            proxies,
        }
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
        if uri.scheme() == Some(&Scheme::HTTPS) {
            let authority = uri.authority().map_or("", http::uri::Authority::as_str);
            loop {
                let probe = match self.protocols.route(authority) {
                    Route::Http1 => break,
                    Route::Wait(mut done) => {
                        // Only ever closed, when the probe is done.
                        let _ = done.changed().await;
                        continue;
                    }
                    Route::Http2 => None,
                    Route::Probe(probe) => Some(probe),
                };
                let request = self.request(method, uri.clone(), headers, body);
                match self.h2.request(request).await {
                    // Nothing was sent, and the origin speaks HTTP/1: the
                    // connector refused, or this request was waiting for a
                    // connection that found it out (hyper's pool then
                    // fails it: "request was canceled").
                    Err(e)
                        if e.is_connect()
                            && (refused_as_not_h2(&e)
                                || self.protocols.of(authority) == Some(Speaks::Http1)) =>
                    {
                        break
                    }
                    Ok(response) => {
                        if probe.is_some() {
                            // Answered on a pooled connection, with no
                            // handshake to learn from (the table had been
                            // cleared).
                            self.protocols.learn(authority, Speaks::Http2);
                        }
                        return Ok(response);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let request = self.request(method, uri, headers, body);
        Ok(self.pool.request(request).await?)
    }

    fn request(
        &self,
        method: &Method,
        uri: Uri,
        headers: &HeaderMap,
        body: Option<&Bytes>,
    ) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body.cloned().unwrap_or_default()));
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
        request
    }
}

/// Whether the HTTP/2-only pool's connector refused the connection.
fn refused_as_not_h2(err: &legacy::Error) -> bool {
    classify::causes(err).iter().any(|c| c.is::<NotH2>())
}
