//! Well-formed responses and how they are written to the socket.
//!
//! A [`Response`] is a status, headers and a [`Body`]. Small bodies go out in
//! the same write as the head (one syscall per response, which is what keeps
//! the testbed fast under benchmarks); large or slow bodies are streamed:
//! the binary pattern in 64 KiB writes with a length or chunked (FAULTS row
//! 14), or one byte at a time (row 6). Malformed responses are not built
//! here: they are faults (`fault.rs`). Every response ends with a flush, so
//! over TLS nothing is left in rustls's buffer while the client waits.

use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use crate::payload;
use crate::request::Conn;
use crate::stream::Stream;

/// What follows the head.
#[derive(Debug)]
pub(crate) enum Body {
    /// These bytes, with `Content-Length`.
    Full(Bytes),
    /// `len` bytes of the binary pattern, with `Content-Length`, written in
    /// 64 KiB pieces.
    Pattern(u64),
    /// `len` bytes of the binary pattern, `Transfer-Encoding: chunked`, one
    /// 64 KiB chunk per write.
    PatternChunked(u64),
    /// `len` bytes of the pattern with `Content-Length`, one byte per `interval`.
    Trickle { interval: Duration, len: u64 },
}

/// A well-formed response.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

impl Response {
    /// A response with a full body of type `content_type`.
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_owned())],
            body: Body::Full(body.into()),
        }
    }

    /// A JSON response.
    pub fn json(status: u16, body: impl Into<Bytes>) -> Response {
        Response::new(status, "application/json", body)
    }

    /// A JSON response from a value.
    pub fn json_value(status: u16, value: &serde_json::Value) -> Response {
        Response::json(status, value.to_string())
    }

    /// `{"error": message}` with `status`.
    pub fn error(status: u16, message: &str) -> Response {
        Response::json_value(status, &serde_json::json!({ "error": message }))
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

/// The reason phrase for `status` (empty for codes without a common one,
/// which HTTP/1.1 allows).
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        418 => "I'm a teapot",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Statuses whose responses never carry a body (RFC 9110 §6.4.1).
fn bodyless(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

/// The `Connection` header a response carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Connection {
    /// None: HTTP/1.1 keeps the connection by default.
    Default,
    /// `Connection: keep-alive`, for HTTP/1.0 clients that asked for it.
    KeepAlive,
    /// `Connection: close`: the server closes after this response.
    Close,
}

/// Writes `response` on `conn` and flushes it. `head_only` answers a HEAD
/// request (headers, no body).
///
/// An error means the client went away; the caller drops the connection.
pub(crate) async fn write<S: Stream>(
    conn: &mut Conn<S>,
    response: Response,
    head_only: bool,
    connection: Connection,
) -> io::Result<()> {
    send(conn, response, head_only, connection).await?;
    conn.stream.flush().await
}

/// [`write()`] without the final flush.
async fn send<S: Stream>(
    conn: &mut Conn<S>,
    response: Response,
    head_only: bool,
    connection: Connection,
) -> io::Result<()> {
    let Response {
        status,
        headers,
        body,
    } = response;
    let mut head = String::with_capacity(256);
    // Writing into a String cannot fail; the `let _` discards the `fmt::Result`.
    let _ = write!(head, "HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in &headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let no_body = bodyless(status);
    if !no_body {
        match &body {
            Body::Full(bytes) => {
                let _ = write!(head, "Content-Length: {}\r\n", bytes.len());
            }
            Body::Pattern(len) | Body::Trickle { len, .. } => {
                let _ = write!(head, "Content-Length: {len}\r\n");
            }
            Body::PatternChunked(_) => head.push_str("Transfer-Encoding: chunked\r\n"),
        }
    }
    match connection {
        Connection::Default => {}
        Connection::KeepAlive => head.push_str("Connection: keep-alive\r\n"),
        Connection::Close => head.push_str("Connection: close\r\n"),
    }
    head.push_str("\r\n");
    let stream = &mut conn.stream;
    if head_only || no_body {
        return stream.write_all(head.as_bytes()).await;
    }

    match body {
        Body::Full(bytes) => write_with_head(stream, head, &bytes).await,
        Body::Pattern(len) => {
            let first = len.min(payload::BLOCK as u64) as usize;
            write_with_head(stream, head, &payload::block()[..first]).await?;
            let mut left = len - first as u64;
            while left > 0 {
                let n = left.min(payload::BLOCK as u64) as usize;
                stream.write_all(&payload::block()[..n]).await?;
                left -= n as u64;
            }
            Ok(())
        }
        Body::PatternChunked(len) => {
            stream.write_all(head.as_bytes()).await?;
            let mut left = len;
            while left > 0 {
                let n = left.min(payload::BLOCK as u64) as usize;
                let mut chunk = Vec::with_capacity(n + 16);
                chunk.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                chunk.extend_from_slice(&payload::block()[..n]);
                chunk.extend_from_slice(b"\r\n");
                stream.write_all(&chunk).await?;
                left -= n as u64;
            }
            stream.write_all(b"0\r\n\r\n").await
        }
        Body::Trickle { interval, len } => {
            stream.write_all(head.as_bytes()).await?;
            stream.flush().await?;
            for i in 0..len {
                // Stop as soon as the client leaves rather than at the next
                // write, which may be a long interval away. Both arms are
                // cancel safe (a pipelined request `hung_up` reads is kept
                // in the connection's buffer).
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = conn.hung_up() => {
                        return Err(io::ErrorKind::ConnectionAborted.into());
                    }
                }
                conn.stream.write_all(&[payload::pattern_byte(i)]).await?;
                conn.stream.flush().await?;
            }
            Ok(())
        }
    }
}

/// Writes head and body, in a single write when the body is small.
async fn write_with_head<S: Stream>(stream: &mut S, head: String, body: &[u8]) -> io::Result<()> {
    if body.len() <= 16 * 1024 {
        let mut all = head.into_bytes();
        all.extend_from_slice(body);
        stream.write_all(&all).await
    } else {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_and_bodyless_statuses() {
        assert_eq!(reason(429), "Too Many Requests");
        assert_eq!(reason(599), "");
        assert!(bodyless(204) && bodyless(304) && bodyless(101));
        assert!(!bodyless(200) && !bodyless(500));
    }
}
