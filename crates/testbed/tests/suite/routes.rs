//! The well-formed routes of the URL grammar, checked byte for byte.

use std::io::Read;

use testbed::{pattern_byte, Testbed};
use tokio::io::AsyncReadExt;

use super::client::{get, Client};

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

#[test]
fn json_text_and_bytes() {
    let tb = Testbed::start();
    let json = get(tb.addr(), "/json/42");
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.json()["id"], 42);
    assert_eq!(json.body, testbed::json_item("42").as_bytes());
    assert_eq!(get(tb.addr(), "/json/abc%20d").json()["id"], "abc d");

    let text = get(tb.addr(), "/text/7");
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(text.body, testbed::text_line("7").as_bytes());

    let bytes = get(tb.addr(), "/bytes/1000");
    assert_eq!(
        bytes.header("content-type"),
        Some("application/octet-stream")
    );
    let expected: Vec<u8> = (0..1000).map(pattern_byte).collect();
    assert_eq!(bytes.body, expected);
    assert!(std::str::from_utf8(&get(tb.addr(), "/bytes/1").body).is_err());
    assert!(get(tb.addr(), "/bytes/0").body.is_empty());
}

#[test]
fn status_codes_and_not_found() {
    let tb = Testbed::start();
    let teapot = get(tb.addr(), "/status/418");
    assert_eq!(teapot.status, 418);
    assert_eq!(teapot.json()["status"], 418);
    let no_content = get(tb.addr(), "/status/204");
    assert_eq!(
        (no_content.status, no_content.header("content-length")),
        (204, None)
    );
    assert_eq!(get(tb.addr(), "/status/abc").status, 400);
    let missing = get(tb.addr(), "/nowhere");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), serde_json::json!({"error": "not found"}));
}

#[test]
fn echo_reflects_the_request() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send(b"PATCH /echo/x/y?q=1&r HTTP/1.1\r\nX-Token: abc\r\nX-Multi: 1\r\nX-Multi: 2\r\nContent-Length: 5\r\n\r\nh\xffllo");
    let echo = client.read_response().expect("a response").json();
    assert_eq!(echo["method"], "PATCH");
    assert_eq!(echo["path"], "/echo/x/y");
    assert_eq!(echo["query"], "q=1&r");
    assert_eq!(echo["headers"]["x-token"], "abc");
    assert_eq!(echo["headers"]["x-multi"], "1, 2");
    assert_eq!(echo["body"], "h\u{fffd}llo");
    assert_eq!(
        get(tb.addr(), "/echo").json()["query"],
        serde_json::Value::Null
    );
}

/// FAULTS rows 15 and 16: redirect chains, loops and redirects elsewhere.
#[test]
fn redirects() {
    let tb = Testbed::start();
    let hop = get(tb.addr(), "/redirect/2");
    assert_eq!(
        (hop.status, hop.header("location")),
        (302, Some("/redirect/1"))
    );
    assert_eq!(get(tb.addr(), "/redirect/0").status, 200);
    let lp = get(tb.addr(), "/redirect-loop");
    assert_eq!(lp.header("location"), Some("/redirect-loop"));
    let to = get(
        tb.addr(),
        "/redirect-to?url=http%3A%2F%2F127.0.0.1%3A9%2Fecho%3Fa%3D1&status=307",
    );
    assert_eq!(
        (to.status, to.header("location")),
        (307, Some("http://127.0.0.1:9/echo?a=1"))
    );
    assert_eq!(get(tb.addr(), "/redirect-to?url=/x").status, 302);
    assert_eq!(get(tb.addr(), "/redirect-to").status, 400);
}

#[test]
fn encoded_bodies_decode_to_the_same_json() {
    let tb = Testbed::start();
    let gz = get(tb.addr(), "/gzip/json/5");
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&gz.body), testbed::json_item("5").as_bytes());

    let plain = gunzip(&get(tb.addr(), "/encoded/gzip").body);
    assert!(plain.len() > 1500);
    let stacked = get(tb.addr(), "/encoded/gzip,gzip");
    assert_eq!(stacked.header("content-encoding"), Some("gzip, gzip"));
    assert_eq!(gunzip(&gunzip(&stacked.body)), plain);

    let mut inflated = Vec::new();
    flate2::read::ZlibDecoder::new(&get(tb.addr(), "/encoded/deflate").body[..])
        .read_to_end(&mut inflated)
        .expect("zlib");
    assert_eq!(inflated, plain);

    let br = get(tb.addr(), "/encoded/br");
    let zstd = get(tb.addr(), "/encoded/zstd");
    assert_eq!(br.header("content-encoding"), Some("br"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (unbr, unzstd) = runtime.block_on(async {
        let mut unbr = Vec::new();
        async_compression::tokio::bufread::BrotliDecoder::new(&br.body[..])
            .read_to_end(&mut unbr)
            .await
            .expect("brotli");
        let mut unzstd = Vec::new();
        async_compression::tokio::bufread::ZstdDecoder::new(&zstd.body[..])
            .read_to_end(&mut unzstd)
            .await
            .expect("zstd");
        (unbr, unzstd)
    });
    assert_eq!(unbr, plain);
    assert_eq!(unzstd, plain);
    assert_eq!(get(tb.addr(), "/encoded/lzma").status, 400);
}

/// FAULTS row 14: bodies over any cap, with and without a length.
#[test]
fn big_bodies_with_length_and_chunked() {
    let tb = Testbed::start();
    let len = 200_000u64;
    let expected: Vec<u8> = (0..len).map(pattern_byte).collect();
    let big = get(tb.addr(), &format!("/big/{len}"));
    assert_eq!(big.header("content-length"), Some("200000"));
    assert_eq!(big.body, expected);
    let chunked = get(tb.addr(), &format!("/big-chunked/{len}"));
    assert_eq!(chunked.header("transfer-encoding"), Some("chunked"));
    assert_eq!(chunked.header("content-length"), None);
    assert_eq!(chunked.body, expected);
}

/// FAULTS row 13: a small gzip body that inflates to 100 MiB.
#[test]
fn gzip_bomb_is_small_on_the_wire() {
    let tb = Testbed::start();
    let bomb = get(tb.addr(), "/gzip-bomb");
    assert_eq!(bomb.header("content-encoding"), Some("gzip"));
    assert!(bomb.body.len() < 200 * 1024, "{} bytes", bomb.body.len());
    // Inflate only the first mebibyte: it is all zeros.
    let mut head = vec![1u8; 1 << 20];
    flate2::read::GzDecoder::new(&bomb.body[..])
        .read_exact(&mut head)
        .expect("inflate");
    assert!(head.iter().all(|&b| b == 0));

    let stacked = get(tb.addr(), "/gzip-bomb/stacked");
    assert_eq!(stacked.header("content-encoding"), Some("gzip, gzip"));
    assert_eq!(gunzip(&stacked.body), bomb.body);
}
