//! The server loop: accepting connections and serving requests on each.
//!
//! One task per listener accepts; one task per connection performs the TLS
//! handshake when the testbed serves HTTPS, then reads requests one after
//! another (keep-alive, pipelining), journals each, asks `routes` what to do
//! and does it, the same over plain TCP and TLS ([`Stream`]). The accept
//! task owns its connection tasks in a `JoinSet`, so it can reap them as they
//! end and collect the message of any that panicked: the `Testbed`'s `Drop`
//! turns those into a test failure.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinError, JoinSet};

use crate::fault;
use crate::journal::{Journal, Seen};
use crate::request::{Conn, ReadError, Request};
use crate::response::{self, Connection, Response};
use crate::routes::{self, Action, Counters};
use crate::stream::Stream;
use crate::tls::Certificate;

/// How long a TLS client may take to complete its handshake. A client that
/// connects and never speaks would otherwise hold its task until shutdown.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// State shared by every listener and connection of one testbed.
#[derive(Debug)]
pub(crate) struct Shared {
    pub journal: Journal,
    pub counters: Counters,
    pub idle_close: Option<Duration>,
    /// `Some` when every listener serves HTTPS with this certificate.
    pub tls: Option<Certificate>,
}

impl Shared {
    pub fn new(
        ports: &[u16],
        record: bool,
        idle_close: Option<Duration>,
        tls: Option<Certificate>,
    ) -> Shared {
        Shared {
            journal: Journal::new(ports, record),
            counters: Counters::default(),
            idle_close,
            tls,
        }
    }
}

/// Accepts connections on `listener` until `shutdown` completes, then aborts
/// the connections still open and returns the panic messages of connection
/// tasks that panicked.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) -> Vec<String> {
    let port = listener
        .local_addr()
        .map(|addr| addr.port())
        .unwrap_or_default();
    let mut connections = JoinSet::new();
    let mut panics = Vec::new();
    tokio::pin!(shutdown);
    loop {
        // All three arms are cancel safe: `accept` and `join_next` lose
        // nothing when another arm wins, and `shutdown` is polled by reference.
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, port, Arc::clone(&shared)));
                }
                // Out of file descriptors and the like: back off briefly
                // rather than spin; the listener itself stays usable.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                panics.extend(panic_message(done));
            }
        }
    }
    connections.abort_all();
    while let Some(done) = connections.join_next().await {
        panics.extend(panic_message(done));
    }
    panics
}

/// The panic message of a finished task, if it panicked (an abort is not a panic).
pub(crate) fn panic_message(done: Result<(), JoinError>) -> Option<String> {
    let error = done.err().filter(JoinError::is_panic)?;
    let payload = error.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    Some(message)
}

/// Serves one accepted connection: the TLS handshake first when the testbed
/// serves HTTPS, then its requests.
async fn serve_connection(stream: TcpStream, port: u16, shared: Arc<Shared>) {
    // Counted before the handshake, so a client that refuses the
    // certificate still shows as a connection (FAULTS row 17: one attempt).
    let connection = shared.journal.connected();
    // Responses go out in one write each; Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    match &shared.tls {
        None => serve_requests(stream, port, connection, &shared).await,
        Some(cert) => {
            let handshake = cert.acceptor().accept(stream);
            // A failed handshake (the client refused the certificate, or
            // spoke no TLS) or one that never finishes ends the connection:
            // no request was sent, so there is nothing to journal or answer.
            if let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                serve_requests(tls, port, connection, &shared).await;
            }
        }
    }
}

/// Serves requests on one connection until it closes or a fault ends it.
async fn serve_requests<S: Stream>(stream: S, port: u16, connection: u64, shared: &Shared) {
    let mut conn = Conn::new(stream);
    loop {
        let head = match conn.read_head(shared.idle_close).await {
            Ok(Some(head)) => head,
            Ok(None) => return close(conn.stream).await,
            Err(error) => return reject(conn, error).await,
        };
        let at = Instant::now();
        // In flight from here until this iteration ends: response written,
        // fault finished, or the client gone.
        let _in_flight = shared.journal.begin(port);
        if head.expect_continue && conn.send_continue().await.is_err() {
            return;
        }
        let body = match conn.read_body(head.framing).await {
            Ok(body) => body,
            Err(error) => return reject(conn, error).await,
        };
        shared.journal.record(|| Seen {
            method: head.method.clone(),
            path: head.path.clone(),
            query: head.query.clone(),
            port,
            headers: head.headers.clone(),
            body_len: body.len(),
            at,
            connection,
        });
        let request = Request { head, body };
        // `route` only waits in `/delay` (and while the gzip bomb is first
        // built); if the client hangs up meanwhile, the request is over.
        // `biased` polls the route first, so an immediate answer costs no
        // extra syscall for the hang-up check.
        let action = tokio::select! {
            biased;
            action = routes::route(&request, &shared.counters) => action,
            () = conn.hung_up() => return,
        };
        match action {
            Action::Respond(response) => {
                let keep_alive = request.head.keep_alive;
                let head_only = request.head.method == "HEAD";
                let connection = match (keep_alive, request.head.http10) {
                    (false, _) => Connection::Close,
                    (true, true) => Connection::KeepAlive,
                    (true, false) => Connection::Default,
                };
                if response::write(&mut conn, response, head_only, connection)
                    .await
                    .is_err()
                {
                    return;
                }
                if !keep_alive {
                    return close(conn.stream).await;
                }
            }
            Action::Fault(fault) => return fault::inject(fault, conn.stream).await,
        }
    }
}

/// Answers a request that could not be read, when there is anyone to answer.
async fn reject<S: Stream>(mut conn: Conn<S>, error: ReadError) {
    let response = match error {
        ReadError::Gone => return,
        ReadError::Malformed(message) => Response::error(400, &message),
        ReadError::TooLarge(status) => Response::error(status, "request too large"),
    };
    if response::write(&mut conn, response, false, Connection::Close)
        .await
        .is_ok()
    {
        close(conn.stream).await;
    }
}

/// Closes cleanly: FIN after everything written (over TLS, `close_notify`
/// first), then release the socket.
async fn close(mut stream: impl Stream) {
    let _ = stream.shutdown().await;
}
