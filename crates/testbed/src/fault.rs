//! Faults that break the connection itself: resets, truncated bodies and
//! malformed responses (FAULTS rows 3, 4, 11 and 12).
//!
//! Each fault takes the socket over once the request has been read in full
//! and ends the connection; nothing else is ever sent on it. Slow and huge
//! responses are well-formed, so they live in `response.rs`, not here.
//!
//! Over TLS the bytes go through the TLS layer (the garbage is encrypted, as
//! a broken server behind TLS would send it); a clean close sends
//! `close_notify` before the FIN, and a reset takes the TCP socket back and
//! sends a bare RST.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use crate::stream::Stream;

/// A way to break a connection.
#[derive(Debug)]
pub(crate) enum Fault {
    /// RST without writing anything (row 3).
    ResetBeforeHeaders,
    /// `Content-Length: 1000`, 300 body bytes, then RST (row 4).
    ResetMidBody,
    /// `Content-Length: 100`, 5 body bytes, then a clean FIN (row 11).
    Truncated,
    /// These bytes, then a clean close: not HTTP, or broken HTTP (row 12).
    Garbage(Bytes),
}

/// `HELLO\r\n\r\n`: no status line at all.
pub(crate) fn invalid_hello() -> Fault {
    Fault::Garbage(Bytes::from_static(b"HELLO\r\n\r\n"))
}

/// A status line whose code is not a number.
pub(crate) fn invalid_status() -> Fault {
    Fault::Garbage(Bytes::from_static(b"HTTP/1.1 abc OK\r\n\r\n"))
}

/// A valid chunked head, then a chunk size that is not hex.
pub(crate) fn invalid_chunk() -> Fault {
    Fault::Garbage(Bytes::from_static(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ))
}

/// A status line, then one header line of 1 MiB (CRLF included).
pub(crate) fn invalid_header() -> Fault {
    const LINE: usize = 1024 * 1024;
    let status = b"HTTP/1.1 200 OK\r\n";
    let name = b"X-Huge: ";
    let mut raw = Vec::with_capacity(status.len() + LINE + 2);
    raw.extend_from_slice(status);
    raw.extend_from_slice(name);
    raw.resize(status.len() + LINE - 2, b'a');
    raw.extend_from_slice(b"\r\n\r\n");
    Fault::Garbage(Bytes::from(raw))
}

/// Closes with RST instead of FIN: `SO_LINGER` 0, then close.
fn reset(stream: impl Stream) {
    let stream = stream.into_tcp();
    // `set_linger` is deprecated in tokio because a non-zero linger blocks
    // the thread in `close`; a zero linger never blocks (the kernel drops the
    // send queue and sends RST at once), which is exactly the fault we want.
    // (`set_zero_linger` says the same but needs tokio 1.50.) If it fails the
    // connection is merely closed cleanly, which tests would notice.
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Writes `bytes`, then closes cleanly (FIN). Errors mean the client already
/// left, which ends the fault just the same.
async fn write_and_close(mut stream: impl Stream, bytes: &[u8]) {
    if stream.write_all(bytes).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

/// Breaks the connection as `fault` says. Consumes the socket.
pub(crate) async fn inject(fault: Fault, mut stream: impl Stream) {
    match fault {
        Fault::ResetBeforeHeaders => reset(stream),
        Fault::ResetMidBody => {
            let mut raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n".to_vec();
            raw.extend_from_slice(&crate::payload::block()[..300]);
            if stream.write_all(&raw).await.is_err() {
                return;
            }
            let _ = stream.flush().await;
            // An RST discards whatever the kernel has not yet transmitted.
            // On loopback the write is normally on the wire before `write`
            // returns; the pause makes sure, so the client sees the headers
            // and the 300 bytes before the reset.
            tokio::time::sleep(Duration::from_millis(20)).await;
            reset(stream);
        }
        Fault::Truncated => {
            let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\"";
            write_and_close(stream, raw).await;
        }
        Fault::Garbage(bytes) => write_and_close(stream, &bytes).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_header_line_is_one_mebibyte() {
        let Fault::Garbage(raw) = invalid_header() else {
            panic!("garbage expected");
        };
        let head = &raw[..];
        let status_len = b"HTTP/1.1 200 OK\r\n".len();
        let line = &head[status_len..head.len() - 2];
        assert_eq!(line.len(), 1024 * 1024);
        assert!(line.ends_with(b"\r\n") && head.ends_with(b"\r\n\r\n"));
    }
}
