//! Content codings for encoded responses and the gzip bomb (FAULTS row 13).
//!
//! gzip and deflate are produced with `flate2` (HTTP's `deflate` is the zlib
//! format, RFC 9110 §8.4.1.2); br and zstd with `async-compression`. A list of
//! codings is applied in the order listed, as `Content-Encoding` states it.
//!
//! The bomb (100 MiB of zeros, ~100 KiB gzipped) costs a second of CPU to
//! build, so it is built once per process on the blocking pool and cached.

use std::io::{self, Write};
use std::sync::OnceLock;

use bytes::Bytes;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use tokio::io::AsyncReadExt;

/// Uncompressed size of the gzip bomb.
pub(crate) const BOMB_SIZE: usize = 100 * 1024 * 1024;

/// A content coding the testbed can apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
    Br,
    Zstd,
}

impl Coding {
    fn parse(name: &str) -> Option<Coding> {
        match name.trim().to_ascii_lowercase().as_str() {
            "gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
            "br" => Some(Coding::Br),
            "zstd" => Some(Coding::Zstd),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Br => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// Parses a comma-separated coding list (`"gzip,gzip"`); `None` if empty or
/// if any entry is unknown.
pub(crate) fn parse_codings(list: &str) -> Option<Vec<Coding>> {
    let codings: Option<Vec<Coding>> = list.split(',').map(Coding::parse).collect();
    codings.filter(|c| !c.is_empty())
}

/// The `Content-Encoding` value for `codings`: `"gzip, gzip"`.
pub(crate) fn header_value(codings: &[Coding]) -> String {
    let names: Vec<&str> = codings.iter().map(|c| c.name()).collect();
    names.join(", ")
}

/// Applies `codings` to `body`, first listed first.
pub(crate) async fn encode(body: &[u8], codings: &[Coding]) -> io::Result<Vec<u8>> {
    let mut data = body.to_vec();
    for coding in codings {
        data = match coding {
            Coding::Gzip => gzip(&data)?,
            Coding::Deflate => {
                let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
                enc.write_all(&data)?;
                enc.finish()?
            }
            Coding::Br => {
                let mut out = Vec::new();
                async_compression::tokio::bufread::BrotliEncoder::new(&data[..])
                    .read_to_end(&mut out)
                    .await?;
                out
            }
            Coding::Zstd => {
                let mut out = Vec::new();
                async_compression::tokio::bufread::ZstdEncoder::new(&data[..])
                    .read_to_end(&mut out)
                    .await?;
                out
            }
        };
    }
    Ok(data)
}

/// `data` gzip-compressed.
pub(crate) fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data)?;
    enc.finish()
}

fn build_bomb() -> Bytes {
    let zeros = vec![0u8; 1024 * 1024];
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    for _ in 0..BOMB_SIZE / zeros.len() {
        enc.write_all(&zeros)
            .expect("writing to an in-memory encoder cannot fail");
    }
    Bytes::from(
        enc.finish()
            .expect("finishing an in-memory encoder cannot fail"),
    )
}

/// The gzip bomb: [`BOMB_SIZE`] zeros, gzipped once (`stacked == false`) or
/// twice (`stacked == true`, for `Content-Encoding: gzip, gzip`).
pub(crate) async fn bomb(stacked: bool) -> Bytes {
    static ONCE: OnceLock<Bytes> = OnceLock::new();
    static TWICE: OnceLock<Bytes> = OnceLock::new();
    let cell = if stacked { &TWICE } else { &ONCE };
    if let Some(bytes) = cell.get() {
        return bytes.clone();
    }
    // Built on the blocking pool so the runtime keeps serving meanwhile;
    // concurrent first requests all wait in `get_or_init` for one build.
    tokio::task::spawn_blocking(move || {
        let once = ONCE.get_or_init(build_bomb);
        if stacked {
            TWICE
                .get_or_init(|| Bytes::from(gzip(once).expect("gzip into memory cannot fail")))
                .clone()
        } else {
            once.clone()
        }
    })
    .await
    .expect("building the bomb does not panic")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn coding_lists() {
        assert_eq!(
            parse_codings("gzip, GZIP"),
            Some(vec![Coding::Gzip, Coding::Gzip])
        );
        assert_eq!(parse_codings("br,zstd,deflate").map(|c| c.len()), Some(3));
        assert_eq!(parse_codings("gzip,lzma"), None);
        assert_eq!(parse_codings(""), None);
        assert_eq!(header_value(&[Coding::Gzip, Coding::Br]), "gzip, br");
    }

    #[tokio::test]
    async fn stacked_gzip_round_trips() {
        let body = b"hello hello hello";
        let twice = encode(body, &[Coding::Gzip, Coding::Gzip])
            .await
            .expect("encode");
        let mut once = Vec::new();
        flate2::read::GzDecoder::new(&twice[..])
            .read_to_end(&mut once)
            .expect("outer layer");
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&once[..])
            .read_to_end(&mut plain)
            .expect("inner layer");
        assert_eq!(plain, body);
    }

    #[tokio::test]
    async fn deflate_is_zlib() {
        let z = encode(b"abc", &[Coding::Deflate]).await.expect("encode");
        let mut plain = Vec::new();
        flate2::read::ZlibDecoder::new(&z[..])
            .read_to_end(&mut plain)
            .expect("zlib");
        assert_eq!(plain, b"abc");
    }
}
