//! [`Testbed`]: the server run in process for tests, and [`serve`] for the
//! binary.
//!
//! A `Testbed` binds its listeners on the caller's thread (so the addresses
//! are known before `start` returns), then serves them from its own std
//! thread with its own current-thread tokio runtime, independent of whatever
//! runtime the test uses. Dropping it stops that thread and reports any
//! connection handler that panicked. With [`Options::tls`] every listener
//! serves HTTPS with a certificate made at start ([`Testbed::ca_pem`]).

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::journal::Journal;
use crate::server::{self, Shared};
use crate::sockets::loopback_listener;
use crate::tls::Certificate;

/// How to start a [`Testbed`].
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// How many listeners (each its own port, a distinct "host" for per-host
    /// limits); 0 means 1.
    pub listeners: usize,
    /// Close keep-alive connections that stay idle this long between requests
    /// (FAULTS row 21); `None` keeps them open until the client closes them.
    pub idle_close: Option<Duration>,
    /// Serve HTTPS on every listener, with a self-signed certificate for
    /// `localhost` and `127.0.0.1` made at start (FAULTS row 17); URLs are
    /// then `https://`, and [`Testbed::ca_pem`] is what a client must trust.
    pub tls: bool,
}

/// A running fault-injecting HTTP server on 127.0.0.1.
///
/// Dropping it shuts the server down (open connections are cut), then
/// panics if any connection handler panicked, unless the thread is already
/// panicking.
#[derive(Debug)]
pub struct Testbed {
    addrs: Vec<SocketAddr>,
    /// `"http"`, or `"https"` when serving TLS.
    scheme: &'static str,
    shared: Arc<Shared>,
    /// Dropping the sender is the shutdown signal: every accept loop waits on
    /// a receiver's `changed()`, which completes once the sender is gone.
    shutdown: Option<watch::Sender<()>>,
    /// The server thread; it returns the panic messages it collected.
    thread: Option<JoinHandle<Vec<String>>>,
}

impl Testbed {
    /// Starts one listener on 127.0.0.1 with an OS-chosen port.
    ///
    /// # Panics
    ///
    /// If a loopback port cannot be bound or the server thread cannot start.
    pub fn start() -> Testbed {
        Testbed::start_with(Options::default())
    }

    /// Starts as `options` say.
    ///
    /// # Panics
    ///
    /// If a loopback port cannot be bound, the server thread cannot start,
    /// or (with `tls`) the certificate cannot be made.
    pub fn start_with(options: Options) -> Testbed {
        let tls = options.tls.then(|| {
            Certificate::generate().expect("making a self-signed certificate with fixed parameters")
        });
        let listeners: Vec<TcpListener> = (0..options.listeners.max(1))
            .map(|_| {
                // Room for a test's few hundred connections opened at once.
                let listener = loopback_listener(0, 1024)
                    .expect("listening on 127.0.0.1:0 must work on any test machine");
                listener
                    .set_nonblocking(true)
                    .expect("tokio needs a non-blocking listener");
                listener
            })
            .collect();
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr().expect("a bound listener has an address"))
            .collect();
        let ports: Vec<u16> = addrs.iter().map(SocketAddr::port).collect();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared::new(&ports, true, options.idle_close, tls));
        let (shutdown, stop) = watch::channel(());

        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("testbed-{}", ports[0]))
            .spawn(move || run(listeners, thread_shared, stop))
            .expect("spawning the testbed thread");
        Testbed {
            addrs,
            scheme,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The address of the first listener.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// The addresses of all listeners, in order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.addrs.clone()
    }

    /// `http://127.0.0.1:PORT` + `path` on the first listener
    /// (`https://` when serving TLS).
    pub fn url(&self, path: &str) -> String {
        self.url_on(0, path)
    }

    /// `http://127.0.0.1:PORT` + `path` on listener number `listener`
    /// (`https://` when serving TLS). A `path` without a leading `/` gets one.
    ///
    /// # Panics
    ///
    /// If `listener` is not below the number of listeners.
    pub fn url_on(&self, listener: usize, path: &str) -> String {
        let addr = self.addrs[listener];
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("{}://{addr}{slash}{path}", self.scheme)
    }

    /// The certificate the listeners serve, in PEM, when serving TLS: the
    /// one root a client must trust to reach them (it is self-signed, so it
    /// is its own CA). `None` for plain HTTP.
    pub fn ca_pem(&self) -> Option<String> {
        self.shared.tls.as_ref().map(|cert| cert.pem().to_owned())
    }

    /// What the server has seen so far.
    pub fn journal(&self) -> &Journal {
        &self.shared.journal
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        let panics = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(panics)) => panics,
            Some(Err(_)) => vec!["the testbed server thread itself panicked".to_owned()],
            None => Vec::new(),
        };
        if !panics.is_empty() && !std::thread::panicking() {
            panic!(
                "testbed: {} connection handler(s) panicked: {}",
                panics.len(),
                panics.join("; ")
            );
        }
    }
}

/// The server thread: serves every listener until shutdown, returns panics.
fn run(listeners: Vec<TcpListener>, shared: Arc<Shared>, stop: watch::Receiver<()>) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("building the testbed runtime");
    let panics = runtime.block_on(async move {
        let mut loops = JoinSet::new();
        for listener in listeners {
            let listener = tokio::net::TcpListener::from_std(listener)
                .expect("registering a listener with the runtime");
            let mut stop = stop.clone();
            let shutdown = async move {
                // Completes when the sender is dropped (or sends, which it never does).
                let _ = stop.changed().await;
            };
            loops.spawn(server::accept_loop(listener, Arc::clone(&shared), shutdown));
        }
        let mut panics = Vec::new();
        while let Some(done) = loops.join_next().await {
            match done {
                Ok(found) => panics.extend(found),
                Err(error) => panics.extend(server::panic_message(Err(error))),
            }
        }
        panics
    });
    // Only blocking-pool work can remain (a gzip bomb being built); it is
    // cached process-wide, so let it finish in the background.
    runtime.shutdown_background();
    panics
}

/// Serves the testbed's URL grammar on `listener` until the returned future
/// is dropped (or its runtime shuts down), over HTTPS with `tls` when given.
/// This is the `testbed` binary's server; tests use [`Testbed`] instead.
///
/// It keeps no per-request journal, so memory stays flat however long a
/// benchmark runs.
///
/// # Errors
///
/// If `listener` is not bound to a loopback address: the testbed never
/// serves anything but 127.0.0.1 or ::1.
pub async fn serve(
    listener: tokio::net::TcpListener,
    idle_close: Option<Duration>,
    tls: Option<Certificate>,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("testbed serves on loopback only, not {addr}"),
        ));
    }
    let shared = Arc::new(Shared::new(&[addr.port()], false, idle_close, tls));
    let panics = server::accept_loop(listener, shared, std::future::pending()).await;
    // `pending()` never completes, so the loop never ends; keep the types honest.
    debug_assert!(panics.is_empty());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::panic::{catch_unwind, AssertUnwindSafe};

    #[test]
    fn drop_panics_when_a_handler_panicked() {
        let testbed = Testbed::start();
        let mut stream = std::net::TcpStream::connect(testbed.addr()).expect("connect");
        stream
            .write_all(b"GET /__panic HTTP/1.1\r\n\r\n")
            .expect("send");
        // The handler dies, which drops its socket: the read ends.
        let _ = stream.read_to_end(&mut Vec::new());
        let payload = catch_unwind(AssertUnwindSafe(move || drop(testbed)))
            .expect_err("dropping the testbed must panic");
        let message = payload
            .downcast_ref::<String>()
            .expect("a formatted panic message");
        assert!(message.contains("panics on purpose"), "{message}");
    }

    #[test]
    fn drop_is_quiet_without_panics_even_with_open_connections() {
        let testbed = Testbed::start();
        let mut stream = std::net::TcpStream::connect(testbed.addr()).expect("connect");
        stream
            .write_all(b"GET /delay/60000 HTTP/1.1\r\n\r\n")
            .expect("send");
        drop(testbed);
        // The server is gone: the open connection was cut.
        assert_eq!(stream.read(&mut [0; 16]).unwrap_or(0), 0);
    }
}
