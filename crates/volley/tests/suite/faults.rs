//! FAULTS.md rows 1–14 and 18: transport faults and broken responses, with the exact record and the attempts the server saw.

use std::time::Duration;

use testbed::{closed_port, NeverAccept, Testbed};
use volley::{BodyMode, ErrorKind, RequestSpec};

use super::support::{assert_failed, assert_ok, check, client, fast, fetch, get, quick_retry};

/// FAULTS row 1: connection refused is retried with backoff for any method,
/// because the request never left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row01_connection_refused_is_retried_for_get_and_post() {
    let client = client();
    let url = format!("http://{}/json/1", closed_port());
    for method in ["GET", "POST"] {
        let outcome = fetch(
            &client,
            RequestSpec::new(method, url.as_str()).with_body("{}"),
        )
        .await;
        let message = assert_failed(&outcome, ErrorKind::Connect, 4);
        assert!(message.contains("refused"), "{method}: {message}");
        assert_eq!(outcome.method, method);
    }
}

/// A dead host is not an overloaded one: 2,000 requests to a refused port
/// all end with `connect` records promptly. Read as failures to slow down
/// for, they cut the host's rate to its floor, and the same run took hours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_a_refused_port_are_not_throttled() {
    let client = fast().concurrency(64).build().expect("valid settings");
    let url = format!("http://{}/json/1", closed_port());
    let specs: Vec<RequestSpec> = (0..2_000)
        .map(|i| RequestSpec::get(url.as_str()).with_index(i))
        .collect();
    let outcomes = tokio::time::timeout(Duration::from_secs(60), client.gather(specs))
        .await
        .expect("2,000 refused requests finish within a minute");
    assert_eq!(outcomes.len(), 2_000);
    for outcome in &outcomes {
        assert_eq!(
            outcome.error_kind(),
            Some(ErrorKind::Connect),
            "{outcome:?}"
        );
    }
    let stats = client.stats();
    assert_eq!(stats.throttle_decreases, 0, "{stats:?}");
}

/// FAULTS row 2: a listener that never accepts; each attempt ends at the
/// connect timeout (not the much longer total deadline) and is retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row02_connect_timeout_names_the_connect_phase() {
    let never = NeverAccept::start();
    let client = fast()
        .connect_timeout(Duration::from_millis(200))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("valid settings");
    let outcome = get(&client, &format!("http://{}/json/1", never.addr())).await;
    let message = assert_failed(&outcome, ErrorKind::Timeout, 4);
    assert!(message.contains("connect"), "{message}");
    assert!(!message.contains("total deadline"), "{message}");
    // Four connect timeouts of 200 ms, far below one 10 s deadline.
    assert!(
        (750.0..8_000.0).contains(&outcome.elapsed_ms),
        "{} ms",
        outcome.elapsed_ms
    );
}

/// FAULTS row 3: RST after the request was read. A GET is retried; a POST
/// was delivered, so it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row03_reset_before_headers_retries_get_not_post() {
    let tb = Testbed::start();
    let client = client();
    let url = tb.url("/reset/headers");

    let outcome = get(&client, &url).await;
    assert_failed(&outcome, ErrorKind::Reset, 4);
    assert_eq!(tb.journal().count_method("GET", "/reset/headers"), 4);

    let post = fetch(
        &client,
        RequestSpec::new("POST", url.as_str()).with_body("{\"a\":1}"),
    )
    .await;
    assert_failed(&post, ErrorKind::Reset, 1);
    assert_eq!(tb.journal().count_method("POST", "/reset/headers"), 1);
}

/// FAULTS row 4: `Content-Length: 1000`, 300 bytes, RST. No partial body in
/// the record; the GET is retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row04_reset_mid_body_leaves_no_partial_body() {
    let tb = Testbed::start();
    let outcome = get(&client(), &tb.url("/reset/body")).await;
    let message = assert_failed(&outcome, ErrorKind::Reset, 4);
    assert!(message.contains("1000"), "{message}");
    assert_eq!(tb.journal().count("/reset/body"), 4);
}

/// FAULTS row 5: headers slower than the deadline; each attempt is aborted
/// at the deadline and the GET is retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row05_slow_headers_time_out_and_are_retried() {
    let tb = Testbed::start();
    let client = fast()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("valid settings");
    let outcome = get(&client, &tb.url("/delay/3000")).await;
    let message = assert_failed(&outcome, ErrorKind::Timeout, 4);
    assert!(message.contains("total deadline of 300ms"), "{message}");
    assert!(message.contains("response headers"), "{message}");
    assert_eq!(tb.journal().count("/delay/3000"), 4);
}

/// FAULTS row 6: a body trickling one byte per 100 ms is never idle for
/// long, but the total per-attempt deadline still ends each attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row06_trickle_hits_the_total_deadline() {
    let tb = Testbed::start();
    let client = fast()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("valid settings");
    let outcome = get(&client, &tb.url("/trickle/100/1000")).await;
    let message = assert_failed(&outcome, ErrorKind::Timeout, 4);
    assert!(message.contains("total deadline of 500ms"), "{message}");
    assert!(message.contains("reading the body"), "{message}");
    assert_eq!(tb.journal().count("/trickle/100/1000"), 4);
    // Each attempt lasted its 500 ms, none the 100 s the body would take.
    assert!(
        (1_900.0..20_000.0).contains(&outcome.elapsed_ms),
        "{} ms",
        outcome.elapsed_ms
    );
}

/// FAULTS row 9: 503 twice, then 200: success on the third attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row09_503_twice_then_success_on_the_third_attempt() {
    let tb = Testbed::start();
    let outcome = get(&client(), &tb.url("/flaky/row9/2/503")).await;
    assert_ok(&outcome, 200, 3);
    let body: serde_json::Value = outcome.json().expect("JSON body");
    assert_eq!(body["attempt"], 3);
    assert_eq!(tb.journal().count("/flaky/row9/2/503"), 3);
}

/// FAULTS row 10: a POST answered 500 is not retried by default; it is when
/// it carries `Idempotency-Key` or the user opts in. The journal shows how
/// many POSTs the server saw, each with its body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row10_post_500_retried_only_with_key_or_opt_in() {
    let tb = Testbed::start();
    let body = "{\"order\":42}";
    let post = |path: &str| RequestSpec::new("POST", tb.url(path)).with_body(body);

    // Default: exactly one POST.
    let outcome = fetch(&client(), post("/status/500")).await;
    let record = check(&outcome);
    assert_eq!(record["ok"], false);
    assert_eq!(record["status"], 500);
    assert_eq!(record["error"]["kind"], "http_status");
    assert_eq!(record["attempts"], 1);
    assert_eq!(tb.journal().count_method("POST", "/status/500"), 1);

    // With an Idempotency-Key: replayed, and the second attempt succeeds.
    let keyed = post("/flaky/keyed/1/500").with_header("Idempotency-Key", "order-42");
    let outcome = fetch(&client(), keyed).await;
    assert_ok(&outcome, 200, 2);
    assert_eq!(tb.journal().count_method("POST", "/flaky/keyed/1/500"), 2);

    // Opted in: retried to the limit, the last 500 is the record.
    let opted = fast()
        .retry(quick_retry().retry_non_idempotent(true))
        .build()
        .expect("valid settings");
    let outcome = fetch(&opted, post("/flaky/optin/100/500")).await;
    let record = check(&outcome);
    assert_eq!(record["ok"], false);
    assert_eq!(record["status"], 500);
    assert_eq!(record["error"]["kind"], "http_status");
    assert_eq!(record["attempts"], 4);
    assert_eq!(tb.journal().count_method("POST", "/flaky/optin/100/500"), 4);

    // Every replay carried the whole body.
    let lengths: Vec<usize> = tb.journal().requests().iter().map(|s| s.body_len).collect();
    assert_eq!(lengths, vec![body.len(); 7]);
}

/// FAULTS row 11: `Content-Length: 100`, 5 bytes, clean close. An error,
/// never a short success; the message says expected vs got; GET retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row11_truncated_body_is_an_error_not_a_short_success() {
    let tb = Testbed::start();
    let outcome = get(&client(), &tb.url("/truncated")).await;
    let message = assert_failed(&outcome, ErrorKind::Reset, 4);
    assert!(message.contains("expected 100 bytes, got 5"), "{message}");
    assert_eq!(tb.journal().count("/truncated"), 4);
}

/// FAULTS row 12: four kinds of invalid HTTP, each `protocol`, each retried
/// (GET is idempotent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row12_invalid_http_is_protocol_and_retried() {
    let tb = Testbed::start();
    for variant in ["hello", "status", "chunk", "header"] {
        // A client per variant: one client's requests to one host share a
        // retry budget (10 + 20%), and this row is about one request's retries.
        let client = client();
        let path = format!("/invalid/{variant}");
        let outcome = get(&client, &tb.url(&path)).await;
        let message = assert_failed(&outcome, ErrorKind::Protocol, 4);
        assert!(!message.is_empty(), "{variant}");
        assert_eq!(tb.journal().count(&path), 4, "{variant}: {message}");
    }
}

/// FAULTS row 13: a gzip bomb (100 MiB of zeros in ~100 KiB), alone and
/// stacked twice: decoding stops at the 16 MiB cap, `too_large`, not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row13_gzip_bombs_stop_at_the_cap_and_are_not_retried() {
    let tb = Testbed::start();
    let client = client();
    for path in ["/gzip-bomb", "/gzip-bomb/stacked"] {
        let outcome = get(&client, &tb.url(path)).await;
        let message = assert_failed(&outcome, ErrorKind::TooLarge, 1);
        assert!(message.contains("16777216"), "{path}: {message}");
        assert!(message.contains("after decoding"), "{path}: {message}");
        assert_eq!(tb.journal().count(path), 1, "{path}");
    }
}

/// FAULTS row 14: a body over the 16 MiB cap. (a) A `Content-Length` above
/// the cap is refused before reading; (b) a chunked body is cut when the
/// count passes the cap. Neither is retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row14_bodies_over_the_cap_are_too_large() {
    const CAP: u64 = 16 * 1024 * 1024;
    let tb = Testbed::start();
    let client = client();

    let declared = format!("/big/{}", CAP + 1);
    let outcome = get(&client, &tb.url(&declared)).await;
    let message = assert_failed(&outcome, ErrorKind::TooLarge, 1);
    assert!(
        message.contains(&format!("Content-Length {}", CAP + 1)),
        "{message}"
    );
    assert_eq!(tb.journal().count(&declared), 1);

    let chunked = format!("/big-chunked/{}", CAP + 1);
    let outcome = get(&client, &tb.url(&chunked)).await;
    let message = assert_failed(&outcome, ErrorKind::TooLarge, 1);
    assert!(
        message.contains(&format!("passed the cap of {CAP} bytes")),
        "{message}"
    );
    assert_eq!(tb.journal().count(&chunked), 1);

    // Exactly at the cap is fine (counted, not kept: the check would
    // otherwise validate 22 MB of base64).
    let counting = fast().body(BodyMode::None).build().expect("valid settings");
    let at_cap = get(&counting, &tb.url(&format!("/big-chunked/{CAP}"))).await;
    assert_ok(&at_cap, 200, 1);
    assert_eq!(at_cap.bytes, CAP);
}

/// FAULTS row 18: a name under `.invalid` never resolves; `dns`, not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row18_dns_failure_is_not_retried() {
    let outcome = get(&client(), "http://no-such-host.invalid/json/1").await;
    let message = assert_failed(&outcome, ErrorKind::Dns, 1);
    assert!(message.contains("no-such-host.invalid"), "{message}");
}
