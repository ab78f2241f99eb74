//! FAULTS.md rows 15 and 16: redirect loops and chains, and which headers survive a hop to another origin.

use serde_json::Value;
use testbed::{Options, Testbed};
use volley::{ErrorKind, Outcome, RequestSpec};

use super::support::{assert_failed, assert_ok, client, fast, fetch, get, percent_encode};

/// FAULTS row 15: a redirect loop stops after 10 hops: `redirect`, one
/// attempt (a loop is not transient), 11 requests on the wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row15_redirect_loop_stops_after_ten_hops() {
    let tb = Testbed::start();
    let outcome = get(&client(), &tb.url("/redirect-loop")).await;
    let message = assert_failed(&outcome, ErrorKind::Redirect, 1);
    assert!(message.contains("redirect loop"), "{message}");
    assert!(message.contains("10 redirects"), "{message}");
    assert_eq!(tb.journal().count("/redirect-loop"), 11);
}

/// FAULTS row 15, the good case: a chain of three redirects succeeds and
/// the record names where it ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row15_redirect_chain_succeeds_with_final_url() {
    let tb = Testbed::start();
    let outcome = get(&client(), &tb.url("/redirect/3")).await;
    assert_ok(&outcome, 200, 1);
    assert_eq!(outcome.url, tb.url("/redirect/3"));
    assert_eq!(
        outcome.final_url.as_deref(),
        Some(tb.url("/redirect/0").as_str())
    );
    assert_eq!(
        outcome.json::<Value>().expect("JSON body")["redirected"],
        true
    );
    for hop in 0..=3 {
        assert_eq!(tb.journal().count(&format!("/redirect/{hop}")), 1);
    }
    // Each redirect's body was read, so its connection carried the next hop.
    assert_eq!(tb.journal().connections(), 1, "one connection for 4 hops");

    // Too many hops for the client's limit is a `redirect` error too.
    let strict = fast().max_redirects(2).build().expect("valid settings");
    let outcome = get(&strict, &tb.url("/redirect/3")).await;
    let message = assert_failed(&outcome, ErrorKind::Redirect, 1);
    assert!(message.contains("too many redirects"), "{message}");
}

/// The credentials a request carries in the redirect tests.
const SENT: [(&str, &str); 3] = [
    ("Authorization", "Bearer secret-token"),
    ("Cookie", "session=s3cr3t"),
    ("X-Api-Key", "key-123"),
];

/// GETs `url` with [`SENT`] through a client that marks `x-api-key` secret.
async fn fetch_with_credentials(url: String) -> Outcome {
    let client = fast()
        .secret_header("x-api-key")
        .build()
        .expect("valid settings");
    let spec = SENT
        .iter()
        .fold(RequestSpec::get(url), |spec, (name, value)| {
            spec.with_header(*name, *value)
        });
    fetch(&client, spec).await
}

/// The headers `/echo` reported, as a JSON object with lower-cased names.
fn echoed_headers(outcome: &Outcome) -> serde_json::Map<String, Value> {
    let body: Value = outcome.json().expect("echo answers JSON");
    body["headers"]
        .as_object()
        .cloned()
        .expect("echo lists headers")
}

/// A testbed with two origins (ports), and a URL on the first that
/// redirects to `path` on the second; returns both URLs.
fn cross_origin_redirect(path: &str) -> (Testbed, String, String) {
    let tb = Testbed::start_with(Options {
        listeners: 2,
        ..Options::default()
    });
    let target = tb.url_on(1, path);
    let start = tb.url_on(0, &format!("/redirect-to?url={}", percent_encode(&target)));
    (tb, start, target)
}

/// FAULTS row 16: a redirect to another port is another origin; it sees no
/// `Authorization`, `Cookie`, secret header or `Referer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row16_cross_origin_redirect_strips_credentials() {
    let (tb, start, target) = cross_origin_redirect("/echo?from=redirect");
    let outcome = fetch_with_credentials(start).await;
    assert_ok(&outcome, 200, 1);
    assert_eq!(outcome.final_url.as_deref(), Some(target.as_str()));

    let headers = echoed_headers(&outcome);
    for name in ["authorization", "cookie", "x-api-key", "referer"] {
        assert!(!headers.contains_key(name), "{name} leaked: {headers:?}");
    }
    // The server agrees, and the first hop did carry them (so the stripping,
    // not their absence, is what the test sees).
    let seen = tb.journal().requests();
    let (first, second) = (&seen[0], &seen[1]);
    assert_eq!(
        (first.path.as_str(), first.port),
        ("/redirect-to", tb.addrs()[0].port())
    );
    assert_eq!(
        (second.path.as_str(), second.port),
        ("/echo", tb.addrs()[1].port())
    );
    for (name, value) in SENT {
        assert_eq!(first.header(name), Some(value), "{name} was sent");
        assert_eq!(second.header(name), None, "{name} leaked");
    }
    assert_eq!(second.header("referer"), None);
}

/// A URL with a user and password (`http://user:pw@host/`) is sent with
/// `Authorization: Basic`, as curl sends it; a redirect to another origin
/// drops it like any `Authorization`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_url_are_sent_as_basic_authorization() {
    let (tb, start, _) = cross_origin_redirect("/echo");
    let start = start.replacen("http://", "http://user:p%40ss@", 1);
    let client = fast().build().expect("valid settings");
    assert_ok(&fetch(&client, RequestSpec::get(start)).await, 200, 1);

    let seen = tb.journal().requests();
    // "user:p@ss"
    assert_eq!(seen[0].header("authorization"), Some("Basic dXNlcjpwQHNz"));
    assert_eq!(seen[1].header("authorization"), None, "leaked on redirect");
}

/// FAULTS row 16, the same-origin case: a redirect that stays on the
/// origin keeps the credentials, and still adds no `Referer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row16_same_origin_redirect_keeps_credentials() {
    let tb = Testbed::start();
    let start = tb.url(&format!("/redirect-to?url={}", percent_encode("/echo")));
    let outcome = fetch_with_credentials(start).await;
    assert_ok(&outcome, 200, 1);
    assert_eq!(outcome.final_url.as_deref(), Some(tb.url("/echo").as_str()));

    let headers = echoed_headers(&outcome);
    for (name, value) in SENT {
        let name = name.to_ascii_lowercase();
        assert_eq!(
            headers.get(&name).and_then(Value::as_str),
            Some(value),
            "{name}: {headers:?}"
        );
    }
    assert!(!headers.contains_key("referer"), "{headers:?}");
}
