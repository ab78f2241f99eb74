//! The HTTP client under the executor: connection pools over our
//! connector, sending exactly the request they are given.
//!
//! It adds nothing but what HTTP needs (`Host`, framing) and a proxy's
//! credentials: no redirects, no retries, no default headers. Those are
//! volley's own (`redirect`, the retry policy, `Client::with_defaults`).
//! A request that finds its pooled connection closed before it was written
//! is sent again on a new one, by the pool; the server never saw it.
//!
//! Two pools share the connector: HTTP/1 connections (`pool`), one request
//! at a time each, and hyper-util's HTTP/2-only pool, which opens one
//! connection at a time per origin and shares it. Plain `http` is HTTP/1.
//! `https` requests are routed by what their origin is known to speak
//! (`protocols`), since only a TLS handshake tells: an origin not known yet
//! is probed by its first request, through the HTTP/2-only pool, while the
//! others wait for the probe's handshake rather than each start one.

use std::error::Error as StdError;
use std::sync::Arc;

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
use crate::pool::{self, ChoseH2, Lease, Pool};
use crate::protocols::{Protocols, Route, Speaks};

/// A failure to send a request or to receive its response headers.
pub(crate) type SendError = Box<dyn StdError + Send + Sync>;

/// The connection pools and how to reach each origin.
#[derive(Debug)]
pub(crate) struct Transport {
    /// HTTP/1: plain `http`, and the `https` origins that speak only it.
    h1: Pool,
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
    /// Pools that keep up to `per_host` idle connections per origin, each
    /// for up to 90 s, for a client with up to `concurrency` requests in
    /// flight.
    pub(crate) fn new(
        connector: Connector,
        proxies: Arc<Proxies>,
        per_host: usize,
        concurrency: usize,
    ) -> Self {
        let h2 = legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(pool::IDLE_TIMEOUT)
            .pool_max_idle_per_host(per_host)
            // The idle timeout needs the pool timer; HTTP/2 pings need the
            // connection timer.
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http2_only(true)
            .build(connector.h2_only());
        Transport {
            h1: Pool::new(connector.clone(), per_host, concurrency),
            h2,
            protocols: connector.protocols(),
            proxies,
        }
    }

    /// Sends one request and waits for the response headers. An HTTP/1
    /// response comes with the [`Lease`] on its connection, to be released
    /// once its body has been read to the end. A request that is not
    /// `replay_safe` does not go on an HTTP/1 connection that has been idle
    /// a while (see [`Pool::send`]).
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
        replay_safe: bool,
    ) -> Result<(Response<Incoming>, Option<Lease>), SendError> {
        let uri: Uri = url.as_str().parse().map_err(UnsendableUrl)?;
        let mut rerouted = false;
        loop {
            if uri.scheme() == Some(&Scheme::HTTPS) {
                if let Some(response) = self.send_h2(method, &uri, headers, body).await? {
                    return Ok((response, None));
                }
            }
            let request = self.request(method, uri.clone(), headers, body);
            match self.h1.send(request, replay_safe).await {
                Ok((response, lease)) => return Ok((response, Some(lease))),
                // A new connection to an origin taken for HTTP/1 chose
                // HTTP/2 (the origin changed), and the table now says so.
                Err(e) if e.is::<ChoseH2>() && !rerouted => rerouted = true,
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends an `https` request through the HTTP/2-only pool, unless its
    /// origin speaks HTTP/1 (`None`: send it there).
    async fn send_h2(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Option<&Bytes>,
    ) -> Result<Option<Response<Incoming>>, SendError> {
        let authority = uri.authority().map_or("", http::uri::Authority::as_str);
        loop {
            let probe = match self.protocols.route(authority) {
                Route::Http1 => return Ok(None),
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
                    return Ok(None)
                }
                Ok(response) => {
                    if probe.is_some() {
                        // Answered on a pooled connection, with no
                        // handshake to learn from (the table had been
                        // cleared).
                        self.protocols.learn(authority, Speaks::Http2);
                    }
                    return Ok(Some(response));
                }
                Err(e) => return Err(e.into()),
            }
        }
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
        // Room for the `Host` the pool adds (and a proxy's authorization):
        // a clone has no spare room, and growing it costs a second copy.
        let copy = request.headers_mut();
        copy.reserve(headers.len() + 2);
        copy.extend(
            headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone())),
        );
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
