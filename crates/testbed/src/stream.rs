//! [`Stream`]: the byte stream one connection is served on, plain TCP or
//! TLS over TCP, so the connection handler, the responses and the faults are
//! written once for both.
//!
//! Everything the handler does goes through `AsyncRead`/`AsyncWrite`, except
//! the resets: only TCP can send an RST, so a fault takes the socket beneath
//! back with [`Stream::into_tcp`] (over TLS, without a `close_notify`: the
//! client sees the same abrupt end as over plain TCP).
//!
//! Over TLS a write may leave bytes in rustls's buffer when the socket is
//! full, so every caller that waits for the client after writing flushes
//! first (a no-op on a `TcpStream`).

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// A connection's byte stream.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The TCP socket beneath, for an RST; TLS state still buffered is dropped.
    fn into_tcp(self) -> TcpStream;
}

impl Stream for TcpStream {
    fn into_tcp(self) -> TcpStream {
        self
    }
}

impl Stream for TlsStream<TcpStream> {
    fn into_tcp(self) -> TcpStream {
        self.into_inner().0
    }
}
