//! The connector: how the pool gets a new connection to an origin.
//!
//! TCP (with `TCP_NODELAY`) to the addresses of our resolver, TLS by rustls
//! with ALPN (`h2`, then `http/1.1`) for `https`, and proxies: a plain `http`
//! request goes to its proxy as an absolute-form request, an `https` one
//! through a `CONNECT` tunnel with TLS to the origin inside. All of it runs
//! under the connect timeout, whose expiry is a [`ConnectTimeout`] in the
//! error chain (see `classify`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{HeaderMap, HeaderValue, PROXY_AUTHORIZATION, USER_AGENT};
use http::uri::Scheme;
use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tower_service::Service;

use crate::protocols::{Protocols, Speaks};
use crate::resolve::SystemResolver;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A TCP connection, with TLS when the URI it was made for is `https`.
type Hop = MaybeHttpsStream<TokioIo<TcpStream>>;

/// The connect timeout passed before a connection was made: TCP, TLS and
/// any proxy tunnel included.
#[derive(Debug)]
pub(crate) struct ConnectTimeout;

impl std::fmt::Display for ConnectTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connect timeout")
    }
}

impl std::error::Error for ConnectTimeout {}

/// Which proxy, if any, each URL goes through.
#[derive(Debug)]
pub(crate) struct Proxies {
    matcher: Matcher,
    /// Whether some proxy URL carries credentials. Only then does a
    /// forwarded (plain `http`) request need a look at its proxy to get a
    /// `Proxy-Authorization` header; a tunnel sends its own.
    has_auth: bool,
}

impl Proxies {
    /// Every URL through `url` (with no exceptions), or, without it, the
    /// proxies of the environment: `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`
    /// and `NO_PROXY`, in upper or lower case (none at all under CGI, where
    /// `HTTP_PROXY` may come from a request header).
    pub(crate) fn new(url: Option<&url::Url>) -> Self {
        match url {
            Some(url) => Proxies {
                matcher: Matcher::builder().all(String::from(url.as_str())).build(),
                has_auth: !url.username().is_empty() || url.password().is_some(),
            },
            None => {
                let vars = [
                    "ALL_PROXY",
                    "all_proxy",
                    "HTTP_PROXY",
                    "http_proxy",
                    "HTTPS_PROXY",
                    "https_proxy",
                ];
                Proxies {
                    matcher: Matcher::from_env(),
                    has_auth: vars
                        .iter()
                        .any(|v| std::env::var(v).is_ok_and(|value| value.contains('@'))),
                }
            }
        }
    }

    /// The `Proxy-Authorization` a plain `http` request to `uri` carries,
    /// when its proxy has credentials.
    pub(crate) fn forward_auth(&self, uri: &Uri) -> Option<HeaderValue> {
        if !self.has_auth || uri.scheme() != Some(&Scheme::HTTP) {
            return None;
        }
        let proxy = self.matcher.intercept(uri)?;
        let scheme = proxy.uri().scheme();
        if scheme == Some(&Scheme::HTTP) || scheme == Some(&Scheme::HTTPS) {
            proxy.basic_auth().cloned()
        } else {
            None
        }
    }
}

/// Makes the pools' connections. hyper-util's HTTP/2 pool clones it for
/// every request, connection or not, so it is one `Arc`.
#[derive(Clone)]
pub(crate) struct Connector {
    parts: Arc<Parts>,
    /// Make connections for the HTTP/2-only pool (see `transport`): only to
    /// an origin that may speak HTTP/2, and only when its TLS handshake
    /// chooses it.
    h2_only: bool,
}

/// The HTTP/2-only pool asked for a connection to an origin that does not
/// speak HTTP/2, or is not known to: nothing was sent, and the request
/// belongs in the other pool.
#[derive(Debug, thiserror::Error)]
#[error("the origin is not known to speak HTTP/2")]
pub(crate) struct NotH2;

struct Parts {
    /// To origins: TLS with ALPN.
    direct: HttpsConnector<HttpConnector<SystemResolver>>,
    /// To proxies: TLS (for an `https://` proxy) without ALPN, since a
    /// proxy is spoken to in HTTP/1.1 (a `CONNECT`, or absolute-form
    /// requests).
    to_proxy: HttpsConnector<HttpConnector<SystemResolver>>,
    /// TLS to the origin inside a tunnel.
    tls: TlsConnector,
    proxies: Arc<Proxies>,
    /// Sent in a `CONNECT` too, as the proxy may filter on it.
    user_agent: HeaderValue,
    timeout: Duration,
    protocols: Arc<Protocols>,
}

/// What [`Connector::new`] needs.
pub(crate) struct Settings {
    pub resolver: SystemResolver,
    pub tls: Arc<rustls::ClientConfig>,
    pub tls_to_proxy: Arc<rustls::ClientConfig>,
    pub proxies: Arc<Proxies>,
    pub user_agent: HeaderValue,
    pub connect_timeout: Duration,
}

impl Connector {
    pub(crate) fn new(s: Settings) -> Self {
        let mut http = HttpConnector::new_with_resolver(s.resolver);
        http.set_nodelay(true);
        // `https` URIs are passed on to the TLS layer.
        http.enforce_http(false);
        // Per address tried, so that a host with several addresses can
        // move on from one that does not answer (a share of the timeout
        // each); the timeout below bounds the whole.
        http.set_connect_timeout(Some(s.connect_timeout));
        // A pooled connection whose peer vanished is found out by the
        // kernel: keepalive probes after 15 s idle, every 15 s, 3 of them;
        // and unacknowledged data gives up after 30 s.
        http.set_keepalive(Some(Duration::from_secs(15)));
        http.set_keepalive_interval(Some(Duration::from_secs(15)));
        http.set_keepalive_retries(Some(3));
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        http.set_tcp_user_timeout(Some(Duration::from_secs(30)));
        let parts = Arc::new(Parts {
            direct: HttpsConnector::from((http.clone(), s.tls.clone())),
            to_proxy: HttpsConnector::from((http, s.tls_to_proxy)),
            tls: TlsConnector::from(s.tls),
            proxies: s.proxies,
            user_agent: s.user_agent,
            timeout: s.connect_timeout,
            protocols: Arc::default(),
        });
        Connector {
            parts,
            h2_only: false,
        }
    }

    /// The same connector, for the HTTP/2-only pool: it refuses, with
    /// [`NotH2`], to connect to an origin known to speak HTTP/1 or found
    /// unreached, and a connection whose handshake did not choose HTTP/2.
    pub(crate) fn h2_only(&self) -> Connector {
        Connector {
            parts: Arc::clone(&self.parts),
            h2_only: true,
        }
    }

    /// What the connections made so far have learnt of each origin.
    pub(crate) fn protocols(&self) -> Arc<Protocols> {
        Arc::clone(&self.parts.protocols)
    }

    async fn connect(self, dst: Uri) -> Result<Conn, BoxError> {
        let parts = &*self.parts;
        let Some(proxy) = parts.proxies.matcher.intercept(&dst) else {
            let hop = parts.direct.clone().call(dst).await?;
            return Ok(Conn {
                io: hop.into(),
                forward: false,
            });
        };
        if dst.scheme() != Some(&Scheme::HTTPS) {
            // The pool sends absolute-form requests on a connection marked
            // as forwarding to a proxy.
            let hop = parts.to_proxy.clone().call(proxy.uri().clone()).await?;
            return Ok(Conn {
                io: hop.into(),
                forward: true,
            });
        }
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, parts.user_agent.clone());
        if let Some(auth) = proxy.basic_auth() {
            headers.insert(PROXY_AUTHORIZATION, auth.clone());
        }
        // `Tunnel::poll_ready` only asks our connector, which is always ready.
        let hop = Tunnel::new(proxy.uri().clone(), parts.to_proxy.clone())
            .with_headers(headers)
            .call(dst.clone())
            .await?;
        let host = dst.host().ok_or("no host in the URL")?;
        let name = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let name = ServerName::try_from(name)?;
        let tls = parts.tls.connect(name, TokioIo::new(hop)).await?;
        Ok(Conn {
            io: tls.into(),
            forward: false,
        })
    }
}

impl Service<Uri> for Connector {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let timeout = self.parts.timeout;
        let h2_only = self.h2_only;
        let protocols = self.protocols();
        // Plain `http` is HTTP/1 (no HTTP/2 without TLS), and is not learnt.
        let https = (dst.scheme() == Some(&Scheme::HTTPS)).then(|| {
            dst.authority()
                .map_or_else(String::new, |a| a.as_str().to_owned())
        });
        if h2_only {
            let may_speak_h2 = https
                .as_deref()
                .is_some_and(|origin| protocols.may_speak_h2(origin));
            if !may_speak_h2 {
                return Box::pin(std::future::ready(Err(Box::new(NotH2) as BoxError)));
            }
        }
        let connecting = self.clone().connect(dst);
        Box::pin(async move {
            let made = match tokio::time::timeout(timeout, connecting).await {
                Ok(made) => made,
                Err(_elapsed) => Err(Box::new(ConnectTimeout) as BoxError),
            };
            let Some(origin) = https else {
                return made;
            };
            let conn = made.inspect_err(|_| {
                if h2_only {
                    // The requests waiting for this connection go to the
                    // other pool, each to connect for itself.
                    protocols.unreached(&origin);
                }
            })?;
            let h2 = conn.connected().is_negotiated_h2();
            protocols.learn(&origin, if h2 { Speaks::Http2 } else { Speaks::Http1 });
            if h2_only && !h2 {
                return Err(Box::new(NotH2));
            }
            Ok(conn)
        })
    }
}

/// A connection the pool can use: a [`Hop`] to the origin, or to a proxy
/// that takes absolute-form requests for plain `http` origins (`forward`),
/// or TLS to the origin inside a `CONNECT` tunnel through a proxy.
pub(crate) struct Conn {
    io: MaybeHttpsStream<Hop>,
    forward: bool,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.forward)
    }
}

impl Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
