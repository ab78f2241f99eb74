//! How response bodies are decoded and recorded: content encodings, JSON, text, binary, and `BodyMode::None`.

use base64::Engine as _;
use serde_json::Value;
use testbed::{json_item, pattern_byte, text_line, Testbed};
use volley::BodyMode;

use super::support::{assert_ok, check, client, fast, get};

/// Every content coding volley advertises, and a stacked one, decodes to the
/// same JSON document; `bytes` counts the decoded body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_bodies_are_decoded() {
    let tb = Testbed::start();
    let client = client();
    let mut documents = Vec::new();
    for coding in ["gzip", "deflate", "br", "zstd", "gzip,gzip"] {
        let outcome = get(&client, &tb.url(&format!("/encoded/{coding}"))).await;
        assert_ok(&outcome, 200, 1);
        let raw = outcome.body.as_deref().expect("a JSON body").get();
        assert_eq!(
            outcome.bytes,
            raw.len() as u64,
            "{coding}: bytes is the decoded length"
        );
        let document: Value = serde_json::from_str(raw).expect("the body is JSON");
        let ids: Vec<Value> = document
            .as_array()
            .expect("the document is an array")
            .iter()
            .map(|item| item["id"].clone())
            .collect();
        let expected: Vec<Value> = (1..=10).map(Value::from).collect();
        assert_eq!(ids, expected, "{coding}");
        documents.push((coding, raw.to_owned()));
    }
    let (first, reference) = &documents[0];
    for (coding, raw) in &documents {
        assert_eq!(raw, reference, "{coding} decodes to what {first} does");
    }
    // The server was asked for every coding volley can undo.
    let accepted = tb.journal().requests()[0]
        .header("accept-encoding")
        .map(str::to_owned)
        .expect("Accept-Encoding is sent");
    for coding in ["gzip", "deflate", "br", "zstd"] {
        assert!(accepted.contains(coding), "{accepted}");
    }
}

/// A JSON response is embedded as a JSON value, not as a string.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_is_embedded_as_a_value() {
    let tb = Testbed::start();
    let outcome = get(&client(), &tb.url("/json/7")).await;
    assert_ok(&outcome, 200, 1);
    let record = check(&outcome);
    let served: Value = serde_json::from_str(&json_item("7")).expect("testbed serves JSON");
    assert_eq!(record["body"], served);
    assert_eq!(record["body"]["id"], 7);
    assert_eq!(outcome.bytes, json_item("7").len() as u64);
    assert!(record.get("body_base64").is_none());
}

/// A text response is recorded as a JSON string.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_is_a_string() {
    let tb = Testbed::start();
    let outcome = get(&client(), &tb.url("/text/abc")).await;
    assert_ok(&outcome, 200, 1);
    let record = check(&outcome);
    assert_eq!(record["body"], Value::from(text_line("abc")));
    assert_eq!(outcome.text().as_deref(), Some(text_line("abc").as_str()));
    assert_eq!(outcome.bytes, text_line("abc").len() as u64);
}

/// A binary response is recorded as base64 that decodes to the bytes served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_is_base64() {
    let tb = Testbed::start();
    let outcome = get(&client(), &tb.url("/bytes/1000")).await;
    assert_ok(&outcome, 200, 1);
    let record = check(&outcome);
    assert!(record.get("body").is_none(), "{record}");
    let encoded = record["body_base64"]
        .as_str()
        .expect("body_base64 is a string");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("valid base64");
    let served: Vec<u8> = (0..1000).map(pattern_byte).collect();
    assert_eq!(decoded, served);
    assert_eq!(outcome.bytes, 1000);
}

/// `BodyMode::None` reads and counts the body but records none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_none_counts_but_omits() {
    let tb = Testbed::start();
    let counting = fast().body(BodyMode::None).build().expect("valid settings");
    // The decoded size of `/encoded/gzip`, from a client that keeps bodies.
    let full = get(&client(), &tb.url("/encoded/gzip")).await;
    assert!(full.bytes > 1500, "{}", full.bytes);
    for (path, len) in [
        ("/json/5".to_owned(), json_item("5").len() as u64),
        ("/bytes/4096".to_owned(), 4096),
        // Decoded size, not the compressed size on the wire.
        ("/encoded/gzip".to_owned(), full.bytes),
    ] {
        let outcome = get(&counting, &tb.url(&path)).await;
        assert_ok(&outcome, 200, 1);
        let record = check(&outcome);
        assert!(
            record.get("body").is_none() && record.get("body_base64").is_none(),
            "{record}"
        );
        assert_eq!(outcome.bytes, len, "{path}");
    }
}
