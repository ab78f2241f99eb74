//! Response bodies: read as a stream, decoded (gzip, deflate, br, zstd, also
//! stacked), capped *after* decoding, and rendered into the record.
//!
//! The cap is enforced while bytes arrive, so a gzip bomb or a runaway
//! chunked body stops at `cap + 1` decoded bytes and memory stays near the
//! cap; a `Content-Length` above the cap is refused before reading.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::TryStreamExt;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use serde_json::value::RawValue;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};
use tokio::time::{timeout_at, Instant};
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
    File(FileOut),
}

/// How many bytes of a body are handed to the blocking pool at once to be
/// written to its file: a few writes per megabyte.
const FILE_BATCH: usize = 256 * 1024;

/// A body's file. Chunks are held as they arrived (no copy) until a batch
/// is full, then written on tokio's blocking pool, so that a slow disk
/// never stalls the workers that run requests.
struct FileOut {
    /// `None` only while a batch is being written.
    file: Option<std::fs::File>,
    pending: Vec<Bytes>,
    pending_len: usize,
}

impl FileOut {
    async fn create(path: PathBuf) -> io::Result<FileOut> {
        let file = blocking(move || std::fs::File::create(path)).await?;
        Ok(FileOut {
            file: Some(file),
            pending: Vec::new(),
            pending_len: 0,
        })
    }

    async fn put(&mut self, chunk: Bytes) -> io::Result<()> {
        self.pending_len += chunk.len();
        self.pending.push(chunk);
        if self.pending_len >= FILE_BATCH {
            self.write().await?;
        }
        Ok(())
    }

    async fn write(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut file = self
            .file
            .take()
            .expect("the file is back after every write");
        let chunks = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        let file = blocking(move || {
            for chunk in &chunks {
                file.write_all(chunk)?;
            }
            Ok(file)
        })
        .await?;
        self.file = Some(file);
        Ok(())
    }
}

/// Runs blocking file I/O on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

impl Out {
    async fn open(to: &Destination, capacity: usize) -> Result<Out, BodyError> {
        Ok(match to {
            Destination::Discard => Out::Discard,
            Destination::Memory => Out::Memory(Vec::with_capacity(capacity)),
            Destination::File(path) => Out::File(
                FileOut::create(path.clone())
                    .await
                    .map_err(BodyError::Save)?,
            ),
        })
    }

    /// Takes a chunk the body handed over whole.
    async fn put(&mut self, chunk: Bytes) -> Result<(), BodyError> {
        match self {
            Out::File(file) => file.put(chunk).await.map_err(BodyError::Save),
            _ => self.put_slice(&chunk).await,
        }
    }

    /// Takes a chunk borrowed from a decoder's buffer.
    async fn put_slice(&mut self, chunk: &[u8]) -> Result<(), BodyError> {
        match self {
            Out::Discard => Ok(()),
            Out::Memory(kept) => {
                kept.extend_from_slice(chunk);
                Ok(())
            }
            Out::File(file) => file
                .put(Bytes::copy_from_slice(chunk))
                .await
                .map_err(BodyError::Save),
        }
    }

    /// The body kept in memory (empty unless [`Destination::Memory`]).
    async fn finish(self) -> Result<Vec<u8>, BodyError> {
        match self {
            Out::Discard => Ok(Vec::new()),
            Out::Memory(kept) => Ok(kept),
            Out::File(mut file) => {
                file.write().await.map_err(BodyError::Save)?;
                Ok(Vec::new())
            }
        }
    }
}

/// The longest body [`drain`] reads to keep its connection.
const DRAIN_MAX: u64 = 64 * 1024;

/// How long [`drain`] waits for such a body.
const DRAIN_WAIT: Duration = Duration::from_millis(200);

/// Reads and drops a body nobody wants (a redirect's), so that its HTTP/1
/// connection can carry the next request. True if the body was read to its
/// end: it was short and came quickly, before `deadline`.
pub(crate) async fn drain(response: Response<Incoming>, deadline: Instant) -> bool {
    if content_length(&response).is_some_and(|len| len > DRAIN_MAX) {
        return false;
    }
    let mut body = response.into_body();
    let read = async {
        let mut got = 0u64;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return false;
            };
            if let Some(data) = frame.data_ref() {
                if count(data, DRAIN_MAX, &mut got).is_err() {
                    return false;
                }
            }
        }
        true
    };
    let until = deadline.min(Instant::now() + DRAIN_WAIT);
    timeout_at(until, read).await.unwrap_or(false)
}

/// Reads `response`'s body, decoded and capped, into `to`. `progress` is
/// updated as decoded bytes arrive, so a caller whose deadline fires can
/// say how far it got. A file left behind by a failure is the caller's to
/// remove. `Ok` only once the body has been read to its end.
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
            if let Ok(chunk) = frame.into_data() {
                count(&chunk, cap, progress)?;
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
        out.put_slice(chunk).await?;
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
pub fn render(
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
        // A record must be one line. The text is checked first: taking the
        // spaces out of broken JSON can make other, valid JSON (`[1 2]`).
        serde_json::from_str::<&RawValue>(text).ok()?;
        return RawValue::from_string(compact_json(text)).ok();
    }
    serde_json::from_str::<Box<RawValue>>(text).ok()
}

/// `text` without whitespace outside its strings: for valid JSON, the same
/// document on one line (a raw newline can only be whitespace between
/// tokens, as a string cannot hold one), with every key, number and escape
/// exactly as written. It does not check that `text` is JSON, and from text
/// that is not, it can make JSON that is (`[1 2]` becomes `[12]`).
///
/// ```
/// let pretty = "{\n  \"id\": 12345678901234567890123,\n  \"name\": \"A b\"\n}";
/// assert_eq!(volley::compact_json(pretty), r#"{"id":12345678901234567890123,"name":"A b"}"#);
/// ```
pub fn compact_json(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for &byte in text.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        } else if byte == b'"' {
            in_string = true;
        }
        out.push(byte);
    }
    // Only ASCII bytes were left out, so what remains is still UTF-8.
    String::from_utf8(out).unwrap_or_default()
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
        // Compacted as written: key order, numbers past f64 and escapes kept.
        assert_eq!(
            get(
                BodyMode::Auto,
                json,
                b"{\r\n  \"z\": 123456789012345678901234567890,\n  \"a\": [1.50, \"x \\\" y\\n\\\\\", \"\xc3\xa9 \"]\n}\n"
            ),
            (
                Some("{\"z\":123456789012345678901234567890,\"a\":[1.50,\"x \\\" y\\n\\\\\",\"\u{e9} \"]}".into()),
                None
            )
        );
        // Broken JSON over several lines is kept as text, even where taking
        // its spaces out would make JSON.
        assert_eq!(
            get(BodyMode::Auto, json, b"{\n \"a\": \n}"),
            (Some("\"{\\n \\\"a\\\": \\n}\"".into()), None)
        );
        assert_eq!(
            get(BodyMode::Auto, json, b"[1\n 2]"),
            (Some("\"[1\\n 2]\"".into()), None)
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
