//! HTTP/1 connections, kept per origin between requests.
//!
//! A request takes an idle connection to its origin, or makes one, and owns
//! it until its response body has been read to the end: only then does it
//! put the connection back ([`Lease::release`]), from its own task, before
//! its slot in the scheduler is freed. So the next request to the origin
//! finds the connection idle, and an origin gets no more connections than
//! it has requests in flight. (hyper-util's pool put connections back from
//! a task of its own, and a request that started meanwhile opened another:
//! 65 to 270 TLS connections for 64 requests in flight.)
//!
//! A response whose body was not read to the end (an error, the body cap, a
//! redirect) takes its connection with it: hyper closes it.
//!
//! Idle connections are kept up to `per_host` per origin and, in all, up to
//! the client's concurrency or [`MAX_IDLE`], whichever is more, as far as
//! the limit on open files leaves room; each for up to [`IDLE_TIMEOUT`], or
//! less when the server says how long it keeps one (`Keep-Alive: timeout`,
//! see [`keep_idle_for`]). A task sweeps out the expired and the closed ones
//! while the pool lives.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use foldhash::HashMap;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::client::legacy::connect::Connection as _;
use tower_service::Service as _;

use crate::connect::Connector;

type Sender = SendRequest<Full<Bytes>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a connection may stay idle before it is closed.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The longest a connection may have been idle for a request that may not
/// be replayed (a `POST` without `Idempotency-Key`) to go on it. A server
/// closes an idle connection when its own timeout is up, most often without
/// saying when (2 s, 5 s, 60 s, …); a request written just as it does so
/// fails with a reset, and such a request cannot be retried. Past this, it
/// gets a new connection, and the idle one is left for a request that can.
pub(crate) const UNSAFE_IDLE: Duration = Duration::from_secs(1);

/// Idle connections kept over all origins, unless more requests may be in
/// flight at once: a run over many origins keeps only its most recent ones
/// open, not one per origin it ever saw.
pub(crate) const MAX_IDLE: usize = 1024;

/// A connection could not be made (TCP, TLS, a proxy tunnel, or the
/// connect timeout): nothing was sent.
#[derive(Debug, thiserror::Error)]
#[error("connect failed")]
pub(crate) struct ConnectFailed(#[source] pub BoxError);

/// The origin's TLS handshake chose HTTP/2 for a request routed here as
/// HTTP/1; nothing was sent, and the origin is now known to speak HTTP/2.
#[derive(Debug, thiserror::Error)]
#[error("the origin chose HTTP/2")]
pub(crate) struct ChoseH2;

/// Connections by origin.
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("per_host", &self.inner.per_host)
            .finish_non_exhaustive()
    }
}

struct Inner {
    connector: Connector,
    per_host: usize,
    max_idle: usize,
    idle: Mutex<Idle>,
}

#[derive(Default)]
struct Idle {
    by_origin: HashMap<Key, Origin>,
    count: usize,
    sweeping: bool,
}

/// An origin's idle connections, the last parked last, and its `Host`.
struct Origin {
    parked: Vec<Parked>,
    host: HeaderValue,
}

struct Parked {
    conn: Conn,
    /// When it was parked.
    since: Instant,
    /// When it is too old to be used.
    expires: Instant,
}

/// A connection's sending half, and whether it goes to a proxy that takes
/// absolute-form requests.
struct Conn {
    sender: Sender,
    forward: bool,
}

/// An origin: its scheme and authority, compared and hashed as written.
/// (The URL parser has lowercased the host; `Authority`'s own `Hash`
/// lowercases it again, a byte at a time, on every lookup.)
#[derive(Clone)]
struct Key {
    https: bool,
    authority: Authority,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.https == other.https && self.authority.as_str() == other.authority.as_str()
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.https.hash(state);
        state.write(self.authority.as_str().as_bytes());
    }
}

/// A request's hold on its connection, from its response headers until its
/// body has been read.
pub(crate) struct Lease {
    pool: Weak<Inner>,
    key: Key,
    host: HeaderValue,
    conn: Conn,
    /// How long the connection may stay idle once given back.
    keep_for: Duration,
}

impl Pool {
    /// Keeps up to `per_host` idle connections per origin, and up to
    /// `concurrency` or [`MAX_IDLE`], whichever is more, in all: fewer when
    /// the limit on open files leaves less room (see
    /// [`idle_room`](crate::descriptors::idle_room)).
    pub(crate) fn new(connector: Connector, per_host: usize, concurrency: usize) -> Self {
        Pool {
            inner: Arc::new(Inner {
                connector,
                per_host,
                max_idle: concurrency
                    .max(MAX_IDLE)
                    .min(crate::descriptors::idle_room(concurrency)),
                idle: Mutex::default(),
            }),
        }
    }

    /// Sends `request` (whose URI is absolute) on an idle connection to its
    /// origin, or on a new one, and waits for the response headers. A
    /// request that finds its idle connection closed before any of it was
    /// written goes out again on a new connection. One that is not
    /// `replay_safe` takes only a connection idle for less than
    /// [`UNSAFE_IDLE`].
    ///
    /// # Errors
    ///
    /// [`ConnectFailed`], [`ChoseH2`], or hyper's error.
    pub(crate) async fn send(
        &self,
        mut request: Request<Full<Bytes>>,
        replay_safe: bool,
    ) -> Result<(Response<Incoming>, Lease), BoxError> {
        let uri = request.uri().clone();
        let key = Key {
            https: uri.scheme() == Some(&Scheme::HTTPS),
            authority: uri.authority().cloned().ok_or("the URL has no host")?,
        };
        loop {
            let (idle, host) = self.inner.checkout(&key, &uri, replay_safe)?;
            if !request.headers().contains_key(http::header::HOST) {
                request
                    .headers_mut()
                    .insert(http::header::HOST, host.clone());
            }
            let (mut conn, reused) = match idle {
                Some(conn) => (conn, true),
                // Boxed: a handshake's future is large, and rare.
                None => (Box::pin(self.connect(&uri)).await?, false),
            };
            *request.uri_mut() = if conn.forward {
                uri.clone()
            } else {
                origin_form(&uri)
            };
            match conn.sender.try_send_request(request).await {
                Ok(response) => {
                    let lease = Lease {
                        pool: Arc::downgrade(&self.inner),
                        key,
                        host,
                        conn,
                        keep_for: keep_idle_for(response.headers()),
                    };
                    return Ok((response, lease));
                }
                Err(mut err) => match err.take_message() {
                    // An idle connection closed under us; the server saw
                    // nothing of this request.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(err.into_error().into()),
                },
            }
        }
    }

    async fn connect(&self, uri: &Uri) -> Result<Conn, BoxError> {
        let io = self
            .inner
            .connector
            .clone()
            .call(uri.clone())
            .await
            .map_err(ConnectFailed)?;
        let connected = io.connected();
        if connected.is_negotiated_h2() {
            return Err(Box::new(ChoseH2));
        }
        let (sender, connection) = http1::Builder::new().handshake(io).await?;
        // Ends when the connection closes; its errors reach the request
        // that was using it.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn {
            sender,
            forward: connected.is_proxied(),
        })
    }
}

impl Inner {
    /// The idle connection to `key` parked last, if one is ready (and, for
    /// a request that is not `replay_safe`, idle for less than
    /// [`UNSAFE_IDLE`]), and the origin's `Host`.
    fn checkout(
        &self,
        key: &Key,
        uri: &Uri,
        replay_safe: bool,
    ) -> Result<(Option<Conn>, HeaderValue), BoxError> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let Idle {
            by_origin, count, ..
        } = &mut *idle;
        let origin = match by_origin.get_mut(key) {
            Some(origin) => origin,
            None => by_origin.entry(key.clone()).or_insert(Origin {
                parked: Vec::new(),
                host: host_header(uri)?,
            }),
        };
        let now = Instant::now();
        while let Some(p) = origin.parked.last() {
            let usable = p.conn.sender.is_ready() && now < p.expires;
            if usable && !replay_safe && now.duration_since(p.since) >= UNSAFE_IDLE {
                // The last parked is the least idle: none will do. They
                // stay for the requests that may be replayed.
                break;
            }
            let Some(p) = origin.parked.pop() else { break };
            *count -= 1;
            if usable {
                return Ok((Some(p.conn), origin.host.clone()));
            }
        }
        Ok((None, origin.host.clone()))
    }

    /// Keeps `conn` for the next request to `key` for up to `keep_for`, if
    /// there is room.
    fn park(self: &Arc<Self>, key: Key, host: HeaderValue, conn: Conn, keep_for: Duration) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if keep_for.is_zero() {
            return;
        }
        let Idle {
            by_origin,
            count,
            sweeping,
        } = &mut *idle;
        let origin = match by_origin.get_mut(&key) {
            Some(origin) => origin,
            // Swept while all its connections were in use.
            None => by_origin.entry(key).or_insert(Origin {
                parked: Vec::new(),
                host,
            }),
        };
        if origin.parked.len() >= self.per_host {
            // The oldest makes room: the connection just used is the more
            // likely to still be open. (The origin is full when a request
            // that may not be replayed passed over connections idle a
            // while, and brings back the new one it made.)
            origin.parked.remove(0);
            *count -= 1;
        } else if *count >= self.max_idle {
            return;
        }
        let now = Instant::now();
        origin.parked.push(Parked {
            conn,
            since: now,
            expires: now + keep_for,
        });
        *count += 1;
        if !*sweeping {
            *sweeping = true;
            tokio::spawn(sweep(Arc::downgrade(self)));
        }
    }
}

impl Lease {
    /// Gives the connection back for the next request to its origin: call
    /// once the response body has been read to its end.
    pub(crate) fn release(self) {
        let Some(inner) = self.pool.upgrade() else {
            return;
        };
        let Lease {
            key,
            host,
            conn,
            keep_for,
            ..
        } = self;
        if conn.sender.is_ready() {
            inner.park(key, host, conn, keep_for);
        } else if !conn.sender.is_closed() {
            // The connection has the body's end but has not yet said it
            // takes another request: wait for it, briefly, elsewhere.
            let pool = Arc::downgrade(&inner);
            tokio::spawn(async move {
                let Conn {
                    mut sender,
                    forward,
                } = conn;
                let ready = tokio::time::timeout(Duration::from_secs(5), sender.ready()).await;
                if let (Ok(Ok(())), Some(inner)) = (ready, pool.upgrade()) {
                    inner.park(key, host, Conn { sender, forward }, keep_for);
                }
            });
        }
    }
}

/// Closes the expired and the closed idle connections every so often,
/// until the pool is gone.
async fn sweep(pool: Weak<Inner>) {
    loop {
        tokio::time::sleep(IDLE_TIMEOUT / 3).await;
        let Some(inner) = pool.upgrade() else {
            return;
        };
        let mut idle = inner.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let mut count = 0;
        idle.by_origin.retain(|_, origin| {
            origin
                .parked
                .retain(|p| !p.conn.sender.is_closed() && now < p.expires);
            count += origin.parked.len();
            !origin.parked.is_empty()
        });
        idle.count = count;
    }
}

/// How long a connection may stay idle after `headers`' response: a margin
/// less than the server's `Keep-Alive: timeout=N` (seconds; Apache, Node and
/// others send it), else [`IDLE_TIMEOUT`].
///
/// A server closes an idle connection when its timeout is up, and a request
/// written on it just then fails with a reset, which is not retried for a
/// `POST`. So the connection is dropped before: a second before, or at
/// half the timeout when that is sooner.
fn keep_idle_for(headers: &http::HeaderMap) -> Duration {
    const KEEP_ALIVE: http::HeaderName = http::HeaderName::from_static("keep-alive");
    let timeout = headers
        .get_all(KEEP_ALIVE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|param| {
            let (name, value) = param.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("timeout") {
                return None;
            }
            value.trim().trim_matches('"').parse::<u64>().ok()
        });
    match timeout {
        Some(secs) => {
            let timeout = Duration::from_secs(secs);
            (timeout - (timeout / 2).min(Duration::from_secs(1))).min(IDLE_TIMEOUT)
        }
        None => IDLE_TIMEOUT,
    }
}

/// `Host`: the URI's host, and its port unless it is the scheme's default
/// (never its user information).
fn host_header(uri: &Uri) -> Result<HeaderValue, BoxError> {
    let host = uri.host().ok_or("the URL has no host")?;
    let default_port = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    let value = match uri.port_u16() {
        Some(port) if port != default_port => HeaderValue::try_from(format!("{host}:{port}")),
        _ => HeaderValue::from_str(host),
    };
    Ok(value?)
}

/// The path and query alone, as a request to the origin itself carries them.
fn origin_form(uri: &Uri) -> Uri {
    let path = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    Uri::from(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().expect("a valid URI")
    }

    #[test]
    fn host_is_the_host_and_a_port_that_is_not_the_default() {
        let cases = [
            ("http://example.test/a", "example.test"),
            ("http://example.test:80/a", "example.test"),
            ("http://example.test:443/a", "example.test:443"),
            ("https://example.test:443/a", "example.test"),
            ("https://example.test:8443/a", "example.test:8443"),
            ("http://user:secret@example.test:8080/", "example.test:8080"),
            ("http://[::1]:9000/", "[::1]:9000"),
            ("http://[::1]/", "[::1]"),
        ];
        for (given, host) in cases {
            assert_eq!(host_header(&uri(given)).expect(given), host, "{given}");
        }
    }

    #[test]
    fn keep_alive_timeout_shortens_the_idle_time_by_a_margin() {
        let keep = |values: &[&str]| {
            let mut headers = http::HeaderMap::new();
            for value in values {
                headers.append("keep-alive", HeaderValue::from_str(value).expect("a value"));
            }
            keep_idle_for(&headers)
        };
        let secs = Duration::from_secs;
        assert_eq!(keep(&[]), IDLE_TIMEOUT);
        assert_eq!(keep(&["timeout=5"]), secs(4));
        assert_eq!(keep(&["timeout=5, max=100"]), secs(4));
        assert_eq!(keep(&["max=100", "Timeout = \"75\""]), secs(74));
        assert_eq!(keep(&["timeout=1"]), Duration::from_millis(500));
        assert_eq!(keep(&["timeout=0"]), Duration::ZERO);
        assert_eq!(keep(&["timeout=3600"]), IDLE_TIMEOUT);
        // Unreadable: as if absent.
        assert_eq!(keep(&["timeout=soon"]), IDLE_TIMEOUT);
        assert_eq!(keep(&["timeout=-5"]), IDLE_TIMEOUT);
    }

    #[test]
    fn origin_form_keeps_the_path_and_query_only() {
        assert_eq!(origin_form(&uri("http://h:1/a/b?c=d&e")), "/a/b?c=d&e");
        assert_eq!(origin_form(&uri("http://h:1")), "/");
        assert_eq!(origin_form(&uri("http://h:1/?q")), "/?q");
    }

    #[test]
    fn keys_compare_scheme_and_authority() {
        let key = |https, a: &str| Key {
            https,
            authority: a.parse().expect("an authority"),
        };
        let hash = |k: &Key| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            k.hash(&mut h);
            h.finish()
        };
        assert!(key(false, "h:1") == key(false, "h:1"));
        assert_eq!(hash(&key(false, "h:1")), hash(&key(false, "h:1")));
        assert!(key(false, "h:1") != key(true, "h:1"));
        assert!(key(false, "h:1") != key(false, "h:2"));
    }
}
