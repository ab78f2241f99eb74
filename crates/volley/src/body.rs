//! Response bodies: read as a stream, decoded (gzip, deflate, br, zstd, also
//! stacked), capped *after* decoding, and rendered into the record.
//!
//! The cap is enforced while bytes arrive, so a gzip bomb or a runaway
//! chunked body stops at `cap + 1` decoded bytes and memory stays near the
//! cap; a `Content-Length` above the cap is refused before reading.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder};
use base64::Engine as _;
use futures_util::TryStreamExt;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use serde_json::value::RawValue;
use tokio::fs::File;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader, BufWriter};
use tokio_util::io::StreamReader;

/// How bodies are put into records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BodyMode {
    /// JSON for JSON content types, text for valid UTF-8, base64 otherwise.
    #[default]
    Auto,
    /// JSON whenever the body parses as JSON, whatever the content type; else as `Auto`.
    Json,
    /// Text for valid UTF-8, base64 otherwise.
    Text,
    /// Always base64.
    Base64,
    /// Read and count, but do not record the body.
    None,
    /// Keep the bytes outside the record, in [`Outcome::raw_body`](crate::Outcome::raw_body),
    /// for the caller to store (e.g. one file per response).
    Raw,
}

/// The `Accept-Encoding` sent when the request does not set its own.
pub(crate) const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// More than `cap` bytes (after decoding), or a declared length above it.
    TooLarge { declared: Option<u64> },
    /// The transport or a decoder failed after `got` decoded bytes.
    Read { err: io::Error, got: u64 },
    /// The body's file could not be written.
    Save(io::Error),
}

/// The body's length as the response declares it, in encoded bytes.
pub(crate) fn content_length(response: &Response<Incoming>) -> Option<u64> {
    response.body().size_hint().exact()
}

/// A decoder layer named in `Content-Encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

/// The codings to undo, in the order they were applied, or `None` when one
/// is unknown (the body is then kept as sent).
fn codings(header: Option<&str>) -> Option<Vec<Coding>> {
    let mut out = Vec::new();
    for token in header.unwrap_or("").split(',') {
        match token.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => {}
            "gzip" | "x-gzip" => out.push(Coding::Gzip),
            "deflate" => out.push(Coding::Deflate),
            "br" => out.push(Coding::Brotli),
            "zstd" => out.push(Coding::Zstd),
            _ => return None,
        }
    }
    Some(out)
}

type Reader = Pin<Box<dyn AsyncBufRead + Send>>;

fn decoder(inner: Reader, coding: Coding) -> Reader {
    fn buffered<R: AsyncRead + Send + 'static>(r: R) -> Reader {
        Box::pin(BufReader::with_capacity(16 * 1024, r))
    }
    match coding {
        Coding::Gzip => {
            let mut d = GzipDecoder::new(inner);
            d.multiple_members(true);
            buffered(d)
        }
        Coding::Deflate => buffered(ZlibDecoder::new(inner)),
        Coding::Brotli => buffered(BrotliDecoder::new(inner)),
        Coding::Zstd => buffered(ZstdDecoder::new(inner)),
    }
}

/// Where a body's bytes go as they arrive.
#[derive(Debug)]
pub(crate) enum Destination {
    /// Counted and dropped.
    Discard,
    /// Kept in memory, for the record.
    Memory,
    /// Written to this file (see `save`); nothing is kept in memory.
    File(PathBuf),
}

/// A body being read: where its bytes go.
enum Out {
    Discard,
    Memory(Vec<u8>),
    File(BufWriter<File>),
}

/// The buffer in front of a body's file: large enough that a body costs a
/// few writes, small enough to stay in the CPU's cache.
const FILE_BUFFER: usize = 256 * 1024;

impl Out {
    async fn open(to: &Destination, capacity: usize) -> Result<Out, BodyError> {
        Ok(match to {
            Destination::Discard => Out::Discard,
            Destination::Memory => Out::Memory(Vec::with_capacity(capacity)),
            Destination::File(path) => {
                let file = File::create(path).await.map_err(BodyError::Save)?;
                Out::File(BufWriter::with_capacity(FILE_BUFFER, file))
            }
        })
    }

    async fn put(&mut self, chunk: &[u8]) -> Result<(), BodyError> {
        match self {
            Out::Discard => Ok(()),
            Out::Memory(kept) => {
                kept.extend_from_slice(chunk);
                Ok(())
            }
            Out::File(file) => file.write_all(chunk).await.map_err(BodyError::Save),
        }
    }

    /// The body kept in memory (empty unless [`Destination::Memory`]).
    async fn finish(self) -> Result<Vec<u8>, BodyError> {
        match self {
            Out::Discard => Ok(Vec::new()),
            Out::Memory(kept) => Ok(kept),
            Out::File(mut file) => {
                file.flush().await.map_err(BodyError::Save)?;
                Ok(Vec::new())
            }
        }
    }
}

/// Reads `response`'s body, decoded and capped, into `to`. `progress` is
/// updated as decoded bytes arrive, so a caller whose deadline fires can
/// say how far it got. A file left behind by a failure is the caller's to
/// remove.
pub(crate) async fn read(
    response: Response<Incoming>,
    cap: u64,
    to: &Destination,
    progress: &mut u64,
) -> Result<Vec<u8>, BodyError> {
    let declared = content_length(&response);
    if declared.is_some_and(|len| len > cap) {
        return Err(BodyError::TooLarge { declared });
    }
    let encoding = response
        .headers()
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let layers = codings(encoding.as_deref()).unwrap_or_default();
    *progress = 0;
    if layers.is_empty() {
        // The common case: the chunks as they arrive, with no reader or
        // buffer of our own in between.
        let mut out = Out::open(to, declared.unwrap_or(0).min(cap) as usize).await?;
        let mut body = response.into_body();
        loop {
            let frame = body
                .frame()
                .await
                .transpose()
                .map_err(|err| BodyError::Read {
                    err: io::Error::other(err),
                    got: *progress,
                })?;
            let Some(frame) = frame else {
                return out.finish().await;
            };
            // Trailers, the only other kind of frame, are not recorded.
            if let Some(chunk) = frame.data_ref() {
                count(chunk, cap, progress)?;
                out.put(chunk).await?;
            }
        }
    }
    let stream = response
        .into_body()
        .into_data_stream()
        .map_err(io::Error::other);
    let mut reader: Reader = Box::pin(StreamReader::new(stream));
    for coding in layers.iter().rev() {
        reader = decoder(reader, *coding);
    }
    let mut out = Out::open(to, 0).await?;
    // Every decoder is buffered: read from its buffer, so that no scratch
    // space of our own lives in (and is copied with) this future.
    loop {
        let chunk = reader.fill_buf().await.map_err(|err| BodyError::Read {
            err,
            got: *progress,
        })?;
        let n = chunk.len();
        if n == 0 {
            return out.finish().await;
        }
        count(chunk, cap, progress)?;
        out.put(chunk).await?;
        reader.as_mut().consume(n);
    }
}

/// Counts `chunk` against the cap.
fn count(chunk: &[u8], cap: u64, progress: &mut u64) -> Result<(), BodyError> {
    *progress += chunk.len() as u64;
    if *progress > cap {
        return Err(BodyError::TooLarge { declared: None });
    }
    Ok(())
}

/// True for `application/json` and `application/*+json` (parameters ignored).
fn is_json_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The body as it goes into the record: `(body, body_base64)`.
pub(crate) fn render(
    mode: BodyMode,
    content_type: Option<&str>,
    bytes: &[u8],
) -> (Option<Box<RawValue>>, Option<String>) {
    let want_json = match mode {
        BodyMode::None | BodyMode::Raw => return (None, None),
        BodyMode::Base64 => return (None, Some(base64(bytes))),
        BodyMode::Auto => is_json_type(content_type),
        BodyMode::Json => true,
        BodyMode::Text => false,
    };
    if want_json {
        if let Some(raw) = json_value(bytes) {
            return (Some(raw), None);
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let quoted = serde_json::to_string(text).expect("a string always serialises");
            let raw = RawValue::from_string(quoted).expect("a serialised string is valid JSON");
            (Some(raw), None)
        }
        Err(_) => (None, Some(base64(bytes))),
    }
}

/// The body as an embeddable JSON value, compacted onto one line when the
/// document spans several; `None` when it is not JSON.
fn json_value(bytes: &[u8]) -> Option<Box<RawValue>> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    if text.as_bytes().contains(&b'\n') || text.as_bytes().contains(&b'\r') {
        // Newlines in JSON are only ever whitespace between tokens, but a
        // record must be one line: reparse and write it compactly.
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        return serde_json::value::to_raw_value(&value).ok();
    }
    serde_json::from_str::<Box<RawValue>>(text).ok()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_encoding_lists() {
        use Coding::*;
        assert_eq!(codings(None), Some(vec![]));
        assert_eq!(codings(Some("gzip")), Some(vec![Gzip]));
        assert_eq!(codings(Some("identity")), Some(vec![]));
        assert_eq!(codings(Some("gzip, br")), Some(vec![Gzip, Brotli]));
        assert_eq!(codings(Some("GZIP,gzip")), Some(vec![Gzip, Gzip]));
        assert_eq!(codings(Some("zstd, deflate")), Some(vec![Zstd, Deflate]));
        assert_eq!(codings(Some("compress")), None);
    }

    #[test]
    fn json_types() {
        assert!(is_json_type(Some("application/json")));
        assert!(is_json_type(Some("Application/JSON; charset=utf-8")));
        assert!(is_json_type(Some("application/problem+json")));
        assert!(!is_json_type(Some("text/plain")));
        assert!(!is_json_type(None));
    }

    #[test]
    fn rendering_by_mode() {
        let json = Some("application/json");
        let get = |mode, ct, bytes: &[u8]| {
            let (body, b64) = render(mode, ct, bytes);
            (body.map(|r| r.get().to_owned()), b64)
        };
        assert_eq!(
            get(BodyMode::Auto, json, b"{\"a\": 1}"),
            (Some("{\"a\": 1}".into()), None)
        );
        assert_eq!(
            get(BodyMode::Auto, json, b"{\n \"a\": 1\n}"),
            (Some("{\"a\":1}".into()), None)
        );
        // Declared JSON that is not JSON is kept as text, not lost.
        assert_eq!(
            get(BodyMode::Auto, json, b"oops"),
            (Some("\"oops\"".into()), None)
        );
        assert_eq!(
            get(BodyMode::Auto, Some("text/plain"), b"[1]"),
            (Some("\"[1]\"".into()), None)
        );
        assert_eq!(
            get(BodyMode::Json, Some("text/plain"), b"[1]"),
            (Some("[1]".into()), None)
        );
        assert_eq!(
            get(BodyMode::Text, json, b"{}"),
            (Some("\"{}\"".into()), None)
        );
        assert_eq!(
            get(BodyMode::Auto, None, &[0xff, 0x00]),
            (None, Some("/wA=".into()))
        );
        assert_eq!(
            get(BodyMode::Base64, json, b"{}"),
            (None, Some("e30=".into()))
        );
        assert_eq!(get(BodyMode::None, json, b"{}"), (None, None));
        assert_eq!(
            get(BodyMode::Auto, None, b"line\nbreak"),
            (Some("\"line\\nbreak\"".into()), None)
        );
    }
}
