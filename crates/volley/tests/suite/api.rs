//! The public API's contract: invalid specs, fields copied from the spec, status policy, headers, and `Client` settings.

use serde_json::{json, Map, Value};
use testbed::Testbed;
use volley::{Client, ErrorKind, RequestSpec, StatusPolicy};

use super::support::{assert_failed, assert_ok, check, client, fast, fetch};

/// Specs that cannot be sent, each with a word its message must contain.
fn unusable(url: &str) -> Vec<(RequestSpec, &'static str)> {
    vec![
        (
            RequestSpec::get("ftp://127.0.0.1/file"),
            "unsupported scheme",
        ),
        (RequestSpec::new("GE T", url), "invalid method"),
        (
            RequestSpec::get(url).with_header("X-Note", "line\nbreak"),
            "invalid value",
        ),
        (
            RequestSpec::get(url).with_header("bad name", "v"),
            "invalid header name",
        ),
        (RequestSpec::get("not a url"), "space"),
        (RequestSpec::get(""), "empty URL"),
    ]
}

/// Invalid specs through `fetch` are `invalid_request` records with 0
/// attempts, and nothing reaches the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_specs_through_fetch_are_never_sent() {
    let tb = Testbed::start();
    let client = client();
    for (spec, reason) in unusable(&tb.url("/json/1")) {
        let outcome = fetch(&client, spec.clone().with_index(9).with_id("bad")).await;
        let message = assert_failed(&outcome, ErrorKind::InvalidRequest, 0);
        assert!(message.contains(reason), "{spec:?}: {message}");
        assert_eq!((outcome.index, outcome.id.as_deref()), (9, Some("bad")));
        assert_eq!(outcome.url, spec.url);
        assert_eq!(outcome.elapsed_ms, 0.0);
    }
    assert_eq!(tb.journal().total(), 0);
}

/// Through `gather`, invalid specs take their own slots; the valid specs
/// around them succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_specs_in_gather_do_not_disturb_the_others() {
    let tb = Testbed::start();
    let mut specs = Vec::new();
    let mut invalid = Vec::new();
    for (spec, reason) in unusable(&tb.url("/json/1")) {
        specs.push(RequestSpec::get(tb.url(&format!("/json/{}", specs.len()))));
        invalid.push((specs.len(), reason));
        specs.push(spec);
    }
    specs.push(RequestSpec::get(tb.url(&format!("/json/{}", specs.len()))));
    let specs: Vec<RequestSpec> = specs
        .into_iter()
        .enumerate()
        .map(|(i, spec)| spec.with_index(i as u64))
        .collect();

    let outcomes = client().gather(specs.clone()).await;
    assert_eq!(outcomes.len(), specs.len());
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.index, i as u64);
        match invalid.iter().find(|(at, _)| *at == i) {
            Some((_, reason)) => {
                let message = assert_failed(outcome, ErrorKind::InvalidRequest, 0);
                assert!(message.contains(reason), "slot {i}: {message}");
            }
            None => {
                assert_ok(outcome, 200, 1);
                assert_eq!(check(outcome)["body"]["id"], i, "slot {i}");
            }
        }
    }
    assert_eq!(tb.journal().total(), specs.len() - invalid.len());
}

/// `index`, `id` and `meta` are copied from the spec untouched; the method
/// is recorded as sent (upper-cased); the request body and headers arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_fields_are_copied_into_the_record() {
    let tb = Testbed::start();
    let mut meta = Map::new();
    meta.insert("row".into(), json!(17));
    meta.insert("tags".into(), json!(["a", {"b": null}]));
    let mut spec = RequestSpec::new("post", tb.url("/echo/orders?x=1"))
        .with_index(1234)
        .with_id("order-17")
        .with_header("Content-Type", "application/json")
        .with_body("{\"qty\":3}");
    spec.meta = Some(meta.clone());

    let outcome = fetch(&client(), spec).await;
    assert_ok(&outcome, 200, 1);
    let record = check(&outcome);
    assert_eq!(record["index"], 1234);
    assert_eq!(record["id"], "order-17");
    assert_eq!(record["method"], "POST");
    assert_eq!(record["url"], tb.url("/echo/orders?x=1"));
    assert_eq!(record["meta"], Value::Object(meta));
    assert!(
        record.get("final_url").is_none(),
        "no redirect, no final_url"
    );
    let echo = &record["body"];
    assert_eq!(echo["method"], "POST");
    assert_eq!(
        (echo["path"].clone(), echo["query"].clone()),
        (json!("/echo/orders"), json!("x=1"))
    );
    assert_eq!(echo["body"], "{\"qty\":3}");
    assert_eq!(echo["headers"]["content-type"], "application/json");

    // Without an id or meta, `id` is null and `meta` absent.
    let plain = fetch(&client(), RequestSpec::get(tb.url("/json/1"))).await;
    let record = check(&plain);
    assert_eq!(record["id"], Value::Null);
    assert!(record.get("meta").is_none());
}

/// A failing status is `ok: false` with an `http_status` error and the body
/// kept; a status policy can count it as success instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_policy_decides_what_fails() {
    let tb = Testbed::start();
    let outcome = fetch(&client(), RequestSpec::get(tb.url("/status/404"))).await;
    let record = check(&outcome);
    assert_eq!(
        (record["ok"].clone(), record["status"].clone()),
        (json!(false), json!(404))
    );
    assert_eq!(record["error"]["kind"], "http_status");
    assert!(
        record["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("404")),
        "{record}"
    );
    assert_eq!(record["attempts"], 1);
    assert_eq!(record["body"], json!({"status": 404}));

    let lenient = fast()
        .status_policy(StatusPolicy::none())
        .build()
        .expect("valid settings");
    let outcome = fetch(&lenient, RequestSpec::get(tb.url("/status/404"))).await;
    assert_ok(&outcome, 404, 1);

    let strict = fast()
        .status_policy(StatusPolicy::default().with(200..=299))
        .build()
        .expect("valid settings");
    let outcome = fetch(&strict, RequestSpec::get(tb.url("/json/1"))).await;
    let record = check(&outcome);
    assert_eq!(
        (record["ok"].clone(), record["status"].clone()),
        (json!(false), json!(200))
    );
    assert_eq!(record["error"]["kind"], "http_status");
}

/// Response headers are recorded only when asked for; default headers and
/// the user agent are sent unless the spec sets its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_in_and_out() {
    let tb = Testbed::start();
    let plain = fetch(&client(), RequestSpec::get(tb.url("/json/1"))).await;
    assert!(check(&plain).get("headers").is_none());

    let client = fast()
        .include_headers(true)
        .header("X-Team", "data")
        .header("X-Env", "test")
        .user_agent("volley-tests/1")
        .build()
        .expect("valid settings");
    let spec = RequestSpec::get(tb.url("/echo")).with_header("X-Env", "override");
    let outcome = fetch(&client, spec).await;
    let record = check(&outcome);
    assert_eq!(record["headers"]["content-type"], "application/json");
    assert!(record["headers"]["content-length"].is_string(), "{record}");
    let sent = &record["body"]["headers"];
    assert_eq!(sent["x-team"], "data");
    assert_eq!(sent["x-env"], "override");
    assert_eq!(sent["user-agent"], "volley-tests/1");
}

/// Settings that cannot work are refused by `build`, before any request.
#[test]
fn bad_settings_are_refused_at_build() {
    let cases = [
        Client::builder().concurrency(0),
        Client::builder().per_host(0),
        Client::builder().timeout(std::time::Duration::ZERO),
        Client::builder().header("bad name", "v"),
    ];
    for builder in cases {
        assert!(builder.build().is_err());
    }
}

/// `save_bodies`: each body in a file of its own named after the request,
/// byte for byte as served (decoded), the path in `body_path` and no body in
/// the record; an attempt that is retried leaves no file; a directory that
/// cannot be written to gives `save_error` and no `body_path`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_bodies_streams_each_body_to_its_file() {
    let tb = Testbed::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let client = fast()
        .save_bodies(dir.path())
        .build()
        .expect("valid settings");
    let big = fetch(
        &client,
        RequestSpec::get(tb.url("/bytes/3000000")).with_index(4),
    )
    .await;
    assert_ok(&big, 200, 1);
    let path = big.body_path.clone().expect("a body path");
    assert_eq!(path, dir.path().join("4.bin").to_string_lossy());
    let saved = std::fs::read(&path).expect("the saved body");
    let expected: Vec<u8> = (0..3_000_000u64).map(testbed::pattern_byte).collect();
    assert!(saved == expected, "the file holds the body as served");
    assert_eq!((big.bytes, big.body.is_none()), (3_000_000, true));

    let gzip = fetch(
        &client,
        RequestSpec::get(tb.url("/gzip/json/7")).with_id("item-7"),
    )
    .await;
    assert_ok(&gzip, 200, 1);
    let text = std::fs::read_to_string(dir.path().join("item-7.json")).expect("saved JSON");
    assert!(text.contains("\"id\": 7"), "decoded before saving: {text}");

    let flaky = fetch(
        &client,
        RequestSpec::get(tb.url("/flaky/save-dir/1/503")).with_index(9),
    )
    .await;
    assert_ok(&flaky, 200, 2);
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        files.len(),
        3,
        "one file per request, none for the retried attempt: {files:?}"
    );

    let nowhere = fast()
        .save_bodies(dir.path().join("missing"))
        .build()
        .expect("valid settings");
    let lost = nowhere
        .fetch(RequestSpec::get(tb.url("/json/1")).with_index(1))
        .await;
    assert_eq!(lost.status, Some(200));
    assert!(lost.body_path.is_none() && lost.body.is_none());
    let why = lost.save_error.expect("why the body was lost");
    assert!(why.contains("cannot save the body"), "{why}");
}
