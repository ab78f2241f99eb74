//! An HTTP/2 origin for the `h2` tests: hyper's server over rustls, offering
//! only ALPN `h2` (or, after [`H2Origin::speak_h2`]`(false)`, only
//! `http/1.1`), with a self-signed certificate made when it starts, on
//! 127.0.0.1 with a port chosen by the OS.
//!
//! The testbed speaks HTTP/1.1 only; this is the smallest server that lets
//! the suite see what volley does over HTTP/2. Like the testbed it runs on
//! its own thread and runtime and keeps a journal: the TCP connections it
//! accepted, and for every request its path, method, protocol version, the
//! connection it came on, and the in-flight high-water mark.
//!
//! Routes (a path chooses the behaviour; `n` and `ms` are numbers):
//! - `/json/n`: `{"id": n}`;
//! - `/delay/ms`: the same JSON after `ms` milliseconds;
//! - `/status/code/times/secs`: the first `times` arrivals get `code` with
//!   `Retry-After: secs`, later ones `{"ok": true}`;
//! - `/large/n`: `n` bytes of text with a `Content-Length`;
//! - `/stream/n`: `n` bytes of text in 16 KiB frames, with no length;
//! - `/gzip/n`: [`text`]`(n)` gzipped, with `Content-Encoding: gzip`;
//! - `/reset/reason/times`: the first `times` arrivals are answered with
//!   `RST_STREAM(reason)`, `reason` one of `refused`, `internal`, `cancel`;
//!   later ones with `{"ok": true}`;
//! - `/cut/n`: `Content-Length: 2n`, `n` bytes, and 50 ms later
//!   `RST_STREAM(INTERNAL_ERROR)`.
//!
//! With [`H2Options::goaway_after`], a connection that has received that many
//! requests starts a graceful shutdown: a GOAWAY, the requests it admitted
//! run to their end, and then the connection closes.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures_util::{stream, StreamExt as _};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};
use tokio_rustls::TlsAcceptor;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

/// How the origin behaves beyond its routes.
#[derive(Clone, Copy, Debug, Default)]
pub struct H2Options {
    /// Each connection sends GOAWAY (a graceful shutdown) once it has
    /// received this many requests.
    pub goaway_after: Option<usize>,
}

/// One request, as the origin saw it arrive.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub method: Method,
    pub path: String,
    pub version: Version,
    /// Which accepted connection (0, 1, …) carried it.
    pub connection: usize,
}

/// What the origin saw.
#[derive(Default)]
struct Journal {
    /// TCP connections accepted, whether or not they carried a request.
    accepted: AtomicUsize,
    arrivals: Mutex<Vec<Arrival>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A running HTTP/2 origin; stopped when dropped.
pub struct H2Origin {
    serving: Serving,
    journal: Arc<Journal>,
    /// What the next connection's handshake chooses: HTTP/2, or HTTP/1.1.
    h2: Arc<AtomicBool>,
}

impl H2Origin {
    /// An origin with the default options.
    pub fn start() -> H2Origin {
        H2Origin::start_with(H2Options::default())
    }

    /// An origin with `options`.
    pub fn start_with(options: H2Options) -> H2Origin {
        let journal = Arc::new(Journal::default());
        let h2 = Arc::new(AtomicBool::new(true));
        let serving = {
            let journal = Arc::clone(&journal);
            let h2 = Arc::clone(&h2);
            Serving::start("h2-origin", move |listener, acceptor| {
                accept(listener, acceptor, journal, h2, options)
            })
        };
        H2Origin {
            serving,
            journal,
            h2,
        }
    }

    /// From now on, each new connection's handshake chooses HTTP/2 (`true`,
    /// as at the start) or HTTP/1.1 (`false`): a server upgraded or
    /// downgraded during a run. Over HTTP/1.1 each connection carries one
    /// request and closes.
    pub fn speak_h2(&self, h2: bool) {
        self.h2.store(h2, Ordering::SeqCst);
    }

    /// `https://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        self.serving.url(path)
    }

    /// The self-signed certificate in PEM, to trust it.
    pub fn pem(&self) -> &str {
        &self.serving.pem
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.journal.accepted.load(Ordering::SeqCst)
    }

    /// Every request so far, in arrival order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        lock(&self.journal.arrivals).clone()
    }

    /// How many requests for `path` arrived with `method`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        lock(&self.journal.arrivals)
            .iter()
            .filter(|a| a.method == method && a.path == path)
            .count()
    }

    /// The connections that carried at least one request, without repeats.
    pub fn busy_connections(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = self.arrivals().iter().map(|a| a.connection).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The most requests that were being handled at once.
    pub fn max_in_flight(&self) -> usize {
        self.journal.max_in_flight.load(Ordering::SeqCst)
    }
}

/// A server on its own thread and current-thread runtime, listening on
/// 127.0.0.1 with a port chosen by the OS and a fresh certificate; stopped
/// (its runtime dropped, which ends every connection) when dropped.
struct Serving {
    addr: SocketAddr,
    pem: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Serving {
    fn start<F, Fut>(name: &str, serve: F) -> Serving
    where
        F: FnOnce(TcpListener, TlsAcceptor) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let (acceptor, pem) = certificate();
        let listener = testbed::loopback_listener(0, 1024)
            .expect("listening on 127.0.0.1:0 must work on any test machine");
        listener
            .set_nonblocking(true)
            .expect("tokio needs a non-blocking listener");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a current-thread runtime");
                // Ends on the stop signal (or its sender dropped).
                runtime.block_on(async move {
                    let listener =
                        TcpListener::from_std(listener).expect("a non-blocking std listener");
                    tokio::select! {
                        _ = stopped => {}
                        () = serve(listener, acceptor) => {}
                    }
                });
            })
            .expect("spawning the server's thread");
        Serving {
            addr,
            pem,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        // The thread may already have ended (its receiver gone): then the
        // send fails, and that is fine.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let joined = thread.join();
            if !std::thread::panicking() {
                joined.expect("the server's thread did not panic");
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A handler that panicked fails its own test; the data stays usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fresh key and a certificate for `127.0.0.1` and `localhost` signed by
/// it; rustls serving it with ALPN `h2` only; the certificate in PEM.
fn certificate() -> (TlsAcceptor, String) {
    let key = rcgen::KeyPair::generate().expect("generating a key");
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("fixed, valid names");
    let cert = params.self_signed(&key).expect("signing the certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the provider's default protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key_der)
        .expect("a certificate matching its key");
    config.alpn_protocols = vec![b"h2".to_vec()];
    let text = base64::engine::general_purpose::STANDARD.encode(cert.der());
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).expect("base64 is ASCII"))
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    (TlsAcceptor::from(Arc::new(config)), pem)
}

/// Accepts connections until the runtime ends, each served on its own task
/// over HTTP/2, or over HTTP/1.1 while `h2` is false.
async fn accept(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    journal: Arc<Journal>,
    h2: Arc<AtomicBool>,
    options: H2Options,
) {
    let http1_acceptor = {
        let mut config = rustls::ServerConfig::clone(acceptor.config());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        TlsAcceptor::from(Arc::new(config))
    };
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let connection = journal.accepted.fetch_add(1, Ordering::SeqCst);
        let journal = Arc::clone(&journal);
        if h2.load(Ordering::SeqCst) {
            tokio::spawn(serve(tcp, connection, acceptor.clone(), journal, options));
        } else {
            tokio::spawn(serve_http1(
                tcp,
                connection,
                http1_acceptor.clone(),
                journal,
            ));
        }
    }
}

/// Serves one connection over HTTP/1.1: TLS, one request, and the close.
async fn serve_http1(
    tcp: tokio::net::TcpStream,
    connection: usize,
    acceptor: TlsAcceptor,
    journal: Arc<Journal>,
) {
    let Ok(tls) = acceptor.accept(tcp).await else {
        return;
    };
    let service = service_fn(move |request| handle(request, connection, Arc::clone(&journal)));
    let _ = http1::Builder::new()
        .keep_alive(false)
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

/// Serves one connection: TLS, then HTTP/2 until the client leaves or, with
/// `goaway_after`, a graceful shutdown after that many requests.
async fn serve(
    tcp: tokio::net::TcpStream,
    connection: usize,
    acceptor: TlsAcceptor,
    journal: Arc<Journal>,
    options: H2Options,
) {
    // A client that gives up during the handshake is no error of ours.
    let Ok(tls) = acceptor.accept(tcp).await else {
        return;
    };
    // Notified (once, by the handler of the request that reaches the
    // count) when this connection should go away.
    let go_away = Arc::new(Notify::new());
    let received = Arc::new(AtomicUsize::new(0));
    let service = {
        let go_away = Arc::clone(&go_away);
        service_fn(move |request| {
            let number = received.fetch_add(1, Ordering::SeqCst) + 1;
            if options.goaway_after == Some(number) {
                go_away.notify_one();
            }
            handle(request, connection, Arc::clone(&journal))
        })
    };
    let conn =
        http2::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tls), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        // The client closed the connection, or it failed: either way, done.
        _ = conn.as_mut() => return,
        () = go_away.notified() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Lowers the in-flight count when a handler ends, however it ends.
struct InFlight(Arc<Journal>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Records the request, then answers it by its path.
async fn handle(
    request: Request<Incoming>,
    connection: usize,
    journal: Arc<Journal>,
) -> Result<Response<Body>, h2::Error> {
    let path = request.uri().path().to_owned();
    let earlier = {
        let mut arrivals = lock(&journal.arrivals);
        let earlier = arrivals.iter().filter(|a| a.path == path).count();
        arrivals.push(Arrival {
            method: request.method().clone(),
            path: path.clone(),
            version: request.version(),
            connection,
        });
        earlier
    };
    let now = journal.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    journal.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _in_flight = InFlight(journal);

    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let number = |i: usize| -> u64 {
        segments
            .get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{path}: segment {i} must be a number"))
    };
    let ok = || json(StatusCode::OK, r#"{"ok":true}"#.to_owned());
    let response = match segments[0] {
        "json" => json(StatusCode::OK, format!(r#"{{"id":{}}}"#, number(1))),
        "delay" => {
            tokio::time::sleep(Duration::from_millis(number(1))).await;
            json(StatusCode::OK, format!(r#"{{"id":{}}}"#, number(1)))
        }
        "status" if earlier < number(2) as usize => {
            let code = u16::try_from(number(1)).expect("a status code");
            let mut response = json(
                StatusCode::from_u16(code).expect("a status code"),
                r#"{"ok":false}"#.to_owned(),
            );
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                number(3).to_string().parse().expect("digits"),
            );
            response
        }
        "reset" if earlier < number(2) as usize => {
            let reason = match segments[1] {
                "refused" => h2::Reason::REFUSED_STREAM,
                "internal" => h2::Reason::INTERNAL_ERROR,
                "cancel" => h2::Reason::CANCEL,
                other => panic!("{path}: no reset reason {other}"),
            };
            // hyper answers a service's error with RST_STREAM, taking the
            // reason from the h2 error it finds in it.
            return Err(h2::Error::from(reason));
        }
        "status" | "reset" => ok(),
        "large" => text_response(Full::new(text(number(1))).map_err(never).boxed()),
        "stream" => {
            let frames: Vec<Result<Frame<Bytes>, BoxError>> = text(number(1))
                .chunks(16 * 1024)
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect();
            text_response(BodyExt::boxed(StreamBody::new(stream::iter(frames))))
        }
        "gzip" => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder
                .write_all(&text(number(1)))
                .expect("writing to memory");
            let gzipped = encoder.finish().expect("writing to memory");
            let mut response =
                text_response(Full::new(Bytes::from(gzipped)).map_err(never).boxed());
            response.headers_mut().insert(
                http::header::CONTENT_ENCODING,
                http::HeaderValue::from_static("gzip"),
            );
            response
        }
        "cut" => {
            let n = number(1);
            let data = stream::once(async move { Ok(Frame::data(text(n))) });
            // A body error: hyper resets the stream (INTERNAL_ERROR). It
            // comes a moment later, as a reset would mid-body: a reset that
            // overtakes the headers in the client's queue drops them.
            let cut = stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err::<Frame<Bytes>, BoxError>("cut short on purpose".into())
            });
            let mut response = text_response(BodyExt::boxed(StreamBody::new(data.chain(cut))));
            response.headers_mut().insert(
                http::header::CONTENT_LENGTH,
                (2 * n).to_string().parse().expect("digits"),
            );
            response
        }
        _ => json(
            StatusCode::NOT_FOUND,
            r#"{"error":"no such route"}"#.to_owned(),
        ),
    };
    Ok(response)
}

fn never(never: Infallible) -> BoxError {
    match never {}
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(never).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn text_response(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    response
}

/// `n` bytes of printable text: numbered lines, so a body that was cut,
/// doubled or shuffled does not compare equal.
pub fn text(n: u64) -> Bytes {
    let n = usize::try_from(n).expect("a test body fits in memory");
    let mut out = Vec::with_capacity(n + 32);
    let mut line = 0u64;
    while out.len() < n {
        out.extend_from_slice(format!("line {line:08}\n").as_bytes());
        line += 1;
    }
    out.truncate(n);
    Bytes::from(out)
}

/// An HTTP/2 origin that turns every request away unprocessed: it answers
/// the first HEADERS frame on each connection with `GOAWAY(last stream 0,
/// NO_ERROR)`, which tells the client that no stream was processed.
///
/// hyper's server cannot be made to do this (its GOAWAY always covers every
/// stream it received), so it speaks the few frames it needs itself: its
/// SETTINGS, an ACK of the client's, and the GOAWAY; everything else it
/// reads and ignores.
pub struct GoawayOrigin {
    serving: Serving,
    /// HEADERS frames received: requests turned away.
    turned_away: Arc<AtomicUsize>,
}

impl GoawayOrigin {
    pub fn start() -> GoawayOrigin {
        let turned_away = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&turned_away);
        let serving = Serving::start("goaway-origin", move |listener, acceptor| async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(turn_away(tcp, acceptor.clone(), Arc::clone(&counter)));
            }
        });
        GoawayOrigin {
            serving,
            turned_away,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.serving.url(path)
    }

    pub fn pem(&self) -> &str {
        &self.serving.pem
    }

    /// Requests (HEADERS frames) received and turned away.
    pub fn turned_away(&self) -> usize {
        self.turned_away.load(Ordering::SeqCst)
    }
}

/// One connection of [`GoawayOrigin`]; ends when the client closes it or
/// sends something that is not HTTP/2.
async fn turn_away(tcp: tokio::net::TcpStream, acceptor: TlsAcceptor, counter: Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    const SETTINGS: u8 = 0x4;
    const HEADERS: u8 = 0x1;
    const ACK: u8 = 0x1;
    let Ok(mut tls) = acceptor.accept(tcp).await else {
        return;
    };
    // A frame: 24-bit length, type, flags, 31-bit stream id, payload.
    let frame = |kind: u8, flags: u8, payload: &[u8]| {
        let len = u32::try_from(payload.len())
            .expect("a small frame")
            .to_be_bytes();
        let mut out = vec![len[1], len[2], len[3], kind, flags, 0, 0, 0, 0];
        out.extend_from_slice(payload);
        out
    };
    if tls.write_all(&frame(SETTINGS, 0, &[])).await.is_err() {
        return;
    }
    let mut preface = [0u8; 24];
    if tls.read_exact(&mut preface).await.is_err()
        || &preface[..] != b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    {
        return;
    }
    loop {
        let mut head = [0u8; 9];
        if tls.read_exact(&mut head).await.is_err() {
            return;
        }
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        if tls.read_exact(&mut payload).await.is_err() {
            return;
        }
        let reply = match head[3] {
            SETTINGS if head[4] & ACK == 0 => frame(SETTINGS, ACK, &[]),
            HEADERS => {
                counter.fetch_add(1, Ordering::SeqCst);
                // GOAWAY: last stream id 0, error code NO_ERROR.
                frame(0x7, 0, &[0; 8])
            }
            _ => continue,
        };
        if tls.write_all(&reply).await.is_err() || tls.flush().await.is_err() {
            return;
        }
    }
}
