//! Reading HTTP/1.1 requests off one connection.
//!
//! [`Conn`] owns the socket and a read buffer that lives as long as the
//! connection, so pipelined requests and keep-alive reuse cost no extra
//! allocation or syscall. The head is parsed with `httparse`; the body is read
//! in full before any response is written (a `Content-Length` body, or a
//! chunked one decoded here), because several faults must only strike after
//! the whole request has arrived (FAULTS row 3: "RST after reading the
//! request").

use std::io;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::stream::Stream;

/// Largest request head accepted (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// Most header lines accepted in one request.
const MAX_HEADERS: usize = 128;
/// Largest request body accepted, after chunked decoding.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Longest chunk-size or trailer line accepted in a chunked body.
const MAX_LINE: usize = 4096;

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer is gone, or sent something that is not HTTP: close silently.
    Gone,
    /// The request is malformed: answer 400 and close.
    Malformed(String),
    /// The head or body is over our limits: answer with this status and close.
    TooLarge(u16),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Gone
    }
}

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    /// Exactly this many bytes follow the head (0 when no length was given).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: String,
    /// The path without the query, exactly as sent.
    pub path: String,
    pub query: Option<String>,
    /// Names lowercased, values lossy UTF-8, in order.
    pub headers: Vec<(String, String)>,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
    /// An HTTP/1.0 request, which needs `Connection: keep-alive` in the
    /// response to keep the connection.
    pub http10: bool,
    pub framing: BodyFraming,
    pub expect_continue: bool,
}

/// A request read in full.
#[derive(Debug)]
pub(crate) struct Request {
    pub head: Head,
    pub body: Bytes,
}

/// One accepted connection: the socket (plain or TLS) and its read buffer.
#[derive(Debug)]
pub(crate) struct Conn<S> {
    pub stream: S,
    buf: BytesMut,
}

impl<S: Stream> Conn<S> {
    pub fn new(stream: S) -> Conn<S> {
        Conn {
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(8 * 1024);
        }
        self.stream.read_buf(&mut self.buf).await
    }

    /// Fills until at least `n` bytes are buffered.
    async fn fill_to(&mut self, n: usize) -> Result<(), ReadError> {
        while self.buf.len() < n {
            if self.fill().await? == 0 {
                return Err(ReadError::Gone);
            }
        }
        Ok(())
    }

    /// Reads the next request head.
    ///
    /// Returns `Ok(None)` when the connection ends cleanly between requests:
    /// the peer closed it, or it stayed idle for `idle_close` (then the
    /// caller closes it, FAULTS row 21).
    pub async fn read_head(
        &mut self,
        idle_close: Option<Duration>,
    ) -> Result<Option<Head>, ReadError> {
        loop {
            if !self.buf.is_empty() {
                if let Some((head, used)) = parse_head(&self.buf)? {
                    self.buf.advance(used);
                    return Ok(Some(head));
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(ReadError::TooLarge(431));
                }
            }
            // The idle timer only runs between requests, while nothing of the
            // next one has arrived; a slow client mid-head is not "idle".
            let read = match idle_close {
                Some(idle) if self.buf.is_empty() => {
                    match tokio::time::timeout(idle, self.fill()).await {
                        Ok(read) => read?,
                        Err(_elapsed) => return Ok(None),
                    }
                }
                _ => self.fill().await?,
            };
            if read == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(ReadError::Gone)
                };
            }
        }
    }

    /// Completes when the client hangs up, as far as can be told without
    /// writing: while nothing of a next request is buffered, an end of
    /// stream or a read error means it is gone. If it has sent more
    /// (pipelining), that is kept in the buffer for the next [`read_head`],
    /// the client is still there, and this never completes.
    ///
    /// Used while a response is held back (`/delay`, a slow trickle) so the
    /// handler, and its in-flight count, ends when the client gives up, not
    /// when the delay runs out; otherwise a client that times out and retries
    /// would show the server more requests in flight than it really has.
    /// (A client that only half-closes its side is taken as gone, too.)
    ///
    /// It reads rather than peeks at the socket so that it works the same
    /// over TLS, where a client's `close_notify` is bytes on the wire but an
    /// end of stream once decrypted.
    ///
    /// [`read_head`]: Conn::read_head
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read that has not completed has taken nothing from the
    /// stream (tokio's sockets, and tokio-rustls, which keeps undelivered
    /// plaintext inside rustls), and one that has is in the buffer.
    pub async fn hung_up(&mut self) {
        if self.buf.is_empty() {
            match self.fill().await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        std::future::pending::<()>().await;
    }

    /// Tells a client that sent `Expect: 100-continue` to go ahead.
    pub async fn send_continue(&mut self) -> io::Result<()> {
        self.stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await?;
        // Over TLS the interim response may still sit in rustls's buffer.
        self.stream.flush().await
    }

    /// Reads the body that follows `head`, in full.
    pub async fn read_body(&mut self, framing: BodyFraming) -> Result<Bytes, ReadError> {
        match framing {
            BodyFraming::Length(0) => Ok(Bytes::new()),
            BodyFraming::Length(n) if n > MAX_BODY => Err(ReadError::TooLarge(413)),
            BodyFraming::Length(n) => {
                self.fill_to(n).await?;
                Ok(self.buf.split_to(n).freeze())
            }
            BodyFraming::Chunked => self.read_chunked().await,
        }
    }

    async fn read_chunked(&mut self) -> Result<Bytes, ReadError> {
        let mut body = BytesMut::new();
        loop {
            let line = self.read_line().await?;
            let size = parse_chunk_size(&line)?;
            if size == 0 {
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(ReadError::TooLarge(413));
            }
            self.fill_to(size + 2).await?;
            body.extend_from_slice(&self.buf[..size]);
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(ReadError::Malformed("chunk not followed by CRLF".into()));
            }
            self.buf.advance(size + 2);
        }
        // Trailer section: header lines up to an empty line, ignored.
        while !self.read_line().await?.is_empty() {}
        Ok(body.freeze())
    }

    /// Reads one CRLF-terminated line and returns it without the CRLF.
    async fn read_line(&mut self) -> Result<Bytes, ReadError> {
        let mut searched = 0;
        loop {
            if let Some(i) = self.buf[searched..].windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.split_to(searched + i).freeze();
                self.buf.advance(2);
                return Ok(line);
            }
            if self.buf.len() > MAX_LINE {
                return Err(ReadError::Malformed("chunk line too long".into()));
            }
            searched = self.buf.len().saturating_sub(1);
            if self.fill().await? == 0 {
                return Err(ReadError::Gone);
            }
        }
    }
}

/// Parses a complete head at the start of `buf`; `None` if more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let used = match req.parse(buf) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(ReadError::TooLarge(431)),
        Err(e) => return Err(ReadError::Malformed(format!("bad request head: {e}"))),
    };
    let method = req
        .method
        .expect("a complete parse has a method")
        .to_owned();
    let target = req.path.expect("a complete parse has a target");
    let version = req.version.expect("a complete parse has a version");
    let (path, query) = split_target(target);

    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();

    // HTTP/1.1 keeps the connection by default, HTTP/1.0 closes it; the
    // Connection header's tokens override either way.
    let mut keep_alive = version == 1;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut expect_continue = false;
    for (name, value) in &headers {
        match name.as_str() {
            "connection" => {
                for token in value.split(',').map(str::trim) {
                    if token.eq_ignore_ascii_case("close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case("keep-alive") {
                        keep_alive = true;
                    }
                }
            }
            "content-length" => {
                let n: usize = value
                    .trim()
                    .parse()
                    .map_err(|_| ReadError::Malformed(format!("bad Content-Length {value:?}")))?;
                if length.is_some_and(|m| m != n) {
                    return Err(ReadError::Malformed("conflicting Content-Length".into()));
                }
                length = Some(n);
            }
            "transfer-encoding" => {
                let last = value.rsplit(',').next().unwrap_or_default().trim();
                if !last.eq_ignore_ascii_case("chunked") {
                    return Err(ReadError::Malformed(format!(
                        "unsupported Transfer-Encoding {value:?}"
                    )));
                }
                chunked = true;
            }
            "expect" => expect_continue = value.trim().eq_ignore_ascii_case("100-continue"),
            _ => {}
        }
    }
    // Both framings at once is the request-smuggling shape; refuse it.
    let framing = match (chunked, length) {
        (true, Some(_)) => {
            return Err(ReadError::Malformed(
                "both Transfer-Encoding and Content-Length".into(),
            ))
        }
        (true, None) => BodyFraming::Chunked,
        (false, n) => BodyFraming::Length(n.unwrap_or(0)),
    };
    let head = Head {
        method,
        path,
        query,
        headers,
        keep_alive,
        http10: version == 0,
        framing,
        expect_continue,
    };
    Ok(Some((head, used)))
}

/// Splits a request target into path and query; an absolute-form target
/// (`http://host/path`, as sent to proxies) is reduced to its path.
fn split_target(target: &str) -> (String, Option<String>) {
    let origin_form = match target.split_once("://") {
        Some((_scheme, rest)) if !target.starts_with('/') => {
            rest.find('/').map_or("/", |i| &rest[i..])
        }
        _ => target,
    };
    match origin_form.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (origin_form.to_owned(), None),
    }
}

/// Parses a chunk-size line (hex digits, optional `;extensions`).
fn parse_chunk_size(line: &[u8]) -> Result<usize, ReadError> {
    let bad = || ReadError::Malformed("bad chunk size".into());
    let text = std::str::from_utf8(line).map_err(|_| bad())?;
    let digits = text.split(';').next().unwrap_or_default().trim();
    if digits.is_empty() || digits.len() > 15 {
        return Err(bad());
    }
    usize::from_str_radix(digits, 16).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Head {
        parse_head(raw.as_bytes())
            .expect("valid head")
            .expect("complete head")
            .0
    }

    #[test]
    fn splits_path_and_query() {
        let h = head("GET /json/1?a=b&c HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(h.path, "/json/1");
        assert_eq!(h.query.as_deref(), Some("a=b&c"));
        assert_eq!(h.headers[0], ("host".to_string(), "x".to_string()));
        assert!(h.keep_alive);
        assert_eq!(h.framing, BodyFraming::Length(0));
    }

    #[test]
    fn absolute_form_target_is_reduced_to_its_path() {
        assert_eq!(
            split_target("http://h:1/a?b"),
            ("/a".into(), Some("b".into()))
        );
        assert_eq!(split_target("http://h:1"), ("/".into(), None));
    }

    #[test]
    fn connection_header_and_version_decide_keep_alive() {
        assert!(!head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn framing_is_validated() {
        let h = head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(h.framing, BodyFraming::Chunked);
        for raw in [
            "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
        ] {
            assert!(
                matches!(parse_head(raw.as_bytes()), Err(ReadError::Malformed(_))),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn partial_head_asks_for_more() {
        assert!(matches!(parse_head(b"GET / HTTP/1.1\r\nHo"), Ok(None)));
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"1a").ok(), Some(26));
        assert_eq!(parse_chunk_size(b"A;name=v").ok(), Some(10));
        assert!(parse_chunk_size(b"zz").is_err());
        assert!(parse_chunk_size(b"").is_err());
    }
}
