//! Addresses that fail before HTTP starts: a refused port (FAULTS row 1) and
//! a listener that never accepts, so connects time out (row 2).
//!
//! Both stay on loopback: FAULTS.md forbids "blackhole" addresses, so the
//! connect timeout is made by filling a tiny accept queue ourselves.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// An address on 127.0.0.1 where nothing listens, so a connect is refused
/// (FAULTS row 1).
///
/// It binds port 0, notes the port and closes the listener. Another process
/// could in principle take the port afterwards; on a test machine that is
/// vanishingly rare.
///
/// # Panics
///
/// If binding a loopback port fails (no loopback interface).
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("binding 127.0.0.1:0 must work on any test machine");
    listener
        .local_addr()
        .expect("a bound listener has a local address")
}

/// A listener on 127.0.0.1 that never accepts and whose accept queue is
/// full, so every further connect hangs until the client's connect timeout
/// (FAULTS row 2).
///
/// The listener is created with a backlog of 1; `start` then opens
/// connections to it until one does not complete within 100 ms, and holds
/// the ones that did. With the queue full, Linux drops new SYNs, so a
/// client's connect neither succeeds nor is refused. Everything is released
/// when the value is dropped.
#[derive(Debug)]
pub struct NeverAccept {
    /// Listening (backlog 1) and never accepted from; held so the port stays taken.
    _listener: TcpListener,
    addr: SocketAddr,
    /// The connections that fill the accept queue; held, never used.
    _fillers: Vec<TcpStream>,
}

impl NeverAccept {
    /// Creates the listener and fills its accept queue.
    ///
    /// This blocks the calling thread for about 100 ms (the probe connect
    /// that finds the queue full), which is harmless inside a test, also an
    /// async one.
    ///
    /// # Panics
    ///
    /// If no loopback listener can be made, or if the queue never fills
    /// (an operating system that does not drop SYNs on a full queue).
    pub fn start() -> NeverAccept {
        let listener = listen_with_backlog_1();
        let addr = listener
            .local_addr()
            .expect("a bound listener has a local address");
        let mut fillers = Vec::new();
        for _ in 0..64 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
                Ok(stream) => fillers.push(stream),
                Err(_) => {
                    return NeverAccept {
                        _listener: listener,
                        addr,
                        _fillers: fillers,
                    }
                }
            }
        }
        panic!("NeverAccept: the accept queue of {addr} never filled up");
    }

    /// The address whose connects time out.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A std listener on 127.0.0.1:0 with a backlog of 1.
///
/// `std` always listens with a large backlog, and tokio's `TcpSocket` is the
/// only way to choose it without another dependency; but tokio's listener
/// must be made inside a runtime. So a throwaway current-thread runtime is
/// entered just long enough to create it, and the socket is handed back to
/// `std` (it stays listening, backlog unchanged). `shutdown_background` lets
/// that runtime go even when the caller is itself inside an async context,
/// where dropping a runtime would panic.
fn listen_with_backlog_1() -> TcpListener {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("building a current-thread runtime cannot fail short of exhausted resources");
    let listener = {
        let _entered = runtime.enter();
        let socket = tokio::net::TcpSocket::new_v4().expect("creating a TCP socket");
        socket
            .bind((Ipv4Addr::LOCALHOST, 0).into())
            .expect("binding 127.0.0.1:0 must work on any test machine");
        socket
            .listen(1)
            .expect("listening on a bound socket")
            .into_std()
            .expect("handing a listener back to std")
    };
    runtime.shutdown_background();
    listener
}
