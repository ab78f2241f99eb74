//! Addresses that fail before HTTP starts: a refused port (FAULTS row 1) and
//! a listener that never accepts, so connects time out (row 2).
//!
//! Both stay on loopback: FAULTS.md forbids "blackhole" addresses, so the
//! connect timeout is made by filling a tiny accept queue ourselves.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

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
        let listener = loopback_listener(0, 1)
            .expect("listening on 127.0.0.1:0 must work on any test machine");
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

/// A std listener on 127.0.0.1:`port` (0 for any free port) whose accept
/// queue holds `backlog` connections.
///
/// A plain `TcpListener::bind` always asks for 128: a client that opens a
/// few hundred connections at once then overflows the queue whenever the
/// server falls behind in accepting, and each connection dropped so waits a
/// second for its SYN's resend. Like a plain bind, it sets `SO_REUSEADDR`,
/// so a restart on the same port need not wait out `TIME_WAIT`.
///
/// # Errors
///
/// If the socket cannot be created, bound or put in listening state.
pub fn loopback_listener(port: u16, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)).into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 400 connections complete while nothing accepts: the queue holds more
    /// than the 128 a plain bind gives (there, the 130th connect times out).
    #[test]
    fn a_listener_queues_as_many_connections_as_its_backlog() {
        // The kernel caps every backlog at `net.core.somaxconn`.
        let cap = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok());
        if cap.is_some_and(|cap| cap < 1024) {
            eprintln!("skipped: net.core.somaxconn is {cap:?}, below 1,024");
            return;
        }
        let listener = loopback_listener(0, 1024).expect("a loopback listener");
        let addr = listener.local_addr().expect("a bound listener's address");
        let mut held = Vec::new();
        for n in 1..=400 {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
                Ok(stream) => held.push(stream),
                Err(e) => panic!("connect {n} to a listener with a backlog of 1,024: {e}"),
            }
        }
    }
}
