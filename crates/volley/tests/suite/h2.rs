//! HTTP/2: volley offers ALPN `h2` on every `https` connection, so against
//! an origin that speaks it (`h2_origin`) every request goes over HTTP/2.
//! The same contract holds as over HTTP/1.1 — one record per request, the
//! limits, retries, body cap and decoding — and HTTP/2's own failures (a
//! reset stream, a GOAWAY) are classified and retried by the same rules.

use std::time::Duration;

use http::Version;
use volley::RetryPolicy;
use volley::{Client, ClientBuilder, ErrorKind, RequestSpec};

use super::h2_origin::{text, GoawayOrigin, H2Options, H2Origin};
use super::support::{all_ok, assert_failed, assert_ok, check, fast, fetch, get};

/// A builder that trusts `origin`'s certificate, with short timeouts.
fn trusting(origin: &H2Origin) -> ClientBuilder {
    fast().add_root_certificate_pem(origin.pem())
}

fn client_for(origin: &H2Origin) -> Client {
    trusting(origin).build().expect("valid settings")
}

/// A GET over HTTP/2: the server saw HTTP/2, the record is the usual one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_over_h2_has_the_usual_record() {
    let origin = H2Origin::start();
    let outcome = get(&client_for(&origin), &origin.url("/json/7")).await;
    assert_ok(&outcome, 200, 1);
    let record = check(&outcome);
    assert_eq!(record["body"]["id"], 7, "{record}");
    assert_eq!(record["method"], "GET", "{record}");
    assert_eq!(record["url"], origin.url("/json/7"), "{record}");
    assert_eq!(outcome.bytes, br#"{"id":7}"#.len() as u64);
    let arrivals = origin.arrivals();
    assert_eq!(arrivals.len(), 1);
    assert_eq!(arrivals[0].version, Version::HTTP_2, "{arrivals:?}");
}

/// 200 requests at concurrency 64 to one HTTP/2 origin: all succeed, one
/// record each, all over HTTP/2, multiplexed on one connection.
///
/// The first request's connection finds out that the origin speaks HTTP/2;
/// the 63 others wait for it rather than each opening its own (which is
/// what a pool that learns the protocol from the handshake does: up to 64
/// handshakes, 63 of them thrown away).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_share_one_connection() {
    const CONCURRENCY: usize = 64;
    let origin = H2Origin::start();
    let client = trusting(&origin)
        .concurrency(CONCURRENCY)
        .build()
        .expect("valid settings");
    let specs: Vec<RequestSpec> = (0..200u64)
        .map(|i| RequestSpec::get(origin.url(&format!("/json/{i}"))).with_index(i))
        .collect();
    let outcomes = client.gather(specs).await;
    assert_eq!(outcomes.len(), 200);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_ok(outcome, 200, 1);
        assert_eq!(outcome.index, i as u64);
        assert_eq!(check(outcome)["body"]["id"], i, "{outcome:?}");
    }
    let arrivals = origin.arrivals();
    assert_eq!(arrivals.len(), 200, "each request arrived once");
    assert!(arrivals.iter().all(|a| a.version == Version::HTTP_2));
    // One, or in about 2 runs of 100 two: a second connection is then made
    // right after the first, while the first still stands (not pinned down).
    let accepted = origin.accepted();
    assert!(
        (1..=2).contains(&accepted),
        "{accepted} connections accepted for {CONCURRENCY} concurrent requests"
    );
}

/// The other side of the above: an `https` origin that speaks only
/// HTTP/1.1. The first connection finds that out and is closed unused;
/// from then on each request may have a connection of its own, so 16
/// slow requests at a time run side by side, as over plain `http`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_origin_over_tls_is_found_out_once() {
    const CONCURRENCY: usize = 16;
    let tb = testbed::Testbed::start_with(testbed::Options {
        tls: true,
        ..testbed::Options::default()
    });
    let client = fast()
        .add_root_certificate_pem(tb.ca_pem().expect("a TLS testbed has a certificate"))
        .concurrency(CONCURRENCY)
        .build()
        .expect("valid settings");
    all_ok(&client, 100, |i| {
        RequestSpec::new("POST", tb.url(&format!("/delay/20?i={i}")))
    })
    .await;
    assert_eq!(tb.journal().total(), 100, "each request arrived once");
    // At most one per request in flight, and the probe's: a request gives
    // its connection back before the next one starts. (hyper-util's pool
    // handed them back from a task of its own, and opened up to 33 here.)
    let opened = tb.journal().connections();
    assert!(
        (2..=CONCURRENCY as u64 + 1).contains(&opened),
        "{opened} connections for {CONCURRENCY} concurrent requests over HTTP/1.1"
    );
    // Known now: a second run opens no probe connection, and finds the
    // first run's connections idle.
    all_ok(&client, 16, |i| {
        RequestSpec::get(tb.url(&format!("/json/{i}")))
    })
    .await;
    let all = tb.journal().connections();
    assert!(
        all <= CONCURRENCY as u64 + 1,
        "{} more connections for a second run, {all} in all",
        all - opened
    );
}

/// An origin that answers over HTTP/1.1 and then, mid-run, chooses HTTP/2
/// (its server was upgraded). The first new connection after the change is
/// made for HTTP/1 and its handshake chooses HTTP/2; its request, not yet
/// sent, goes to the HTTP/2 pool instead, and so do the ones after it. Each
/// POST arrives once, and none fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_turns_to_h2_mid_run_is_followed() {
    let origin = H2Origin::start();
    origin.speak_h2(false);
    let client = client_for(&origin);
    let post = |i: u64| RequestSpec::new("POST", origin.url(&format!("/json/{i}")));
    assert_ok(&fetch(&client, post(1)).await, 200, 1);

    origin.speak_h2(true);
    for i in 2..=4 {
        assert_ok(&fetch(&client, post(i)).await, 200, 1);
    }
    let versions: Vec<(String, Version)> = origin
        .arrivals()
        .into_iter()
        .map(|a| (a.path, a.version))
        .collect();
    assert_eq!(
        versions,
        [
            ("/json/1".to_owned(), Version::HTTP_11),
            ("/json/2".to_owned(), Version::HTTP_2),
            ("/json/3".to_owned(), Version::HTTP_2),
            ("/json/4".to_owned(), Version::HTTP_2),
        ]
    );
}

/// The other way: an HTTP/2 origin that closes its connection (GOAWAY after
/// one request) and comes back speaking HTTP/1.1 only. The next request's
/// new HTTP/2 connection is refused by the handshake, and the request goes
/// out over HTTP/1.1 instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_turns_to_http1_mid_run_is_followed() {
    let origin = H2Origin::start_with(H2Options {
        goaway_after: Some(1),
    });
    let client = client_for(&origin);
    assert_ok(&get(&client, &origin.url("/json/1")).await, 200, 1);

    origin.speak_h2(false);
    // The GOAWAY has reached the client long before this; a request sent
    // on the closing connection would be retried anyway (a GET).
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 2..=4 {
        assert_ok(
            &get(&client, &origin.url(&format!("/json/{i}"))).await,
            200,
            1,
        );
    }
    let versions: Vec<Version> = origin.arrivals().into_iter().map(|a| a.version).collect();
    assert_eq!(
        versions,
        [
            Version::HTTP_2,
            Version::HTTP_11,
            Version::HTTP_11,
            Version::HTTP_11
        ]
    );
}

/// An `https` origin whose first connection fails: the requests that
/// waited for it each make an attempt of their own and fail with the real
/// reason (a connect timeout), not with the pool's "request was canceled".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_waiting_on_an_unreached_origin_fail_with_their_own_reason() {
    let never = testbed::NeverAccept::start();
    let client = fast()
        .connect_timeout(Duration::from_millis(200))
        .retry(RetryPolicy::never())
        .concurrency(8)
        .build()
        .expect("valid settings");
    let specs: Vec<RequestSpec> = (0..8u64)
        .map(|i| RequestSpec::get(format!("https://{}/json/{i}", never.addr())).with_index(i))
        .collect();
    for outcome in client.gather(specs).await {
        let message = assert_failed(&outcome, ErrorKind::Timeout, 1);
        assert!(message.contains("connect timeout"), "{message}");
        // The probe's 200 ms, then their own.
        assert!(outcome.elapsed_ms < 2_000.0, "{} ms", outcome.elapsed_ms);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_limit_holds_over_h2() {
    const PER_HOST: usize = 4;
    let origin = H2Origin::start();
    let client = trusting(&origin)
        .concurrency(32)
        .per_host(PER_HOST)
        .build()
        .expect("valid settings");
    all_ok(&client, 40, |i| {
        RequestSpec::get(origin.url(&format!("/delay/20/{i}")))
    })
    .await;
    let high = origin.max_in_flight();
    assert!(high <= PER_HOST, "{high} in flight, limit {PER_HOST}");
    assert!(high >= 2, "only {high} in flight: no concurrency at all?");
}

/// FAULTS rows 7 and 9 over HTTP/2: a 503 with `Retry-After: 1` is
/// retried after at least the second the server asked for (the quick
/// backoff alone would be ≤ 10 ms), and the retry succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_over_h2() {
    let origin = H2Origin::start();
    let path = "/status/503/1/1";
    let outcome = get(&client_for(&origin), &origin.url(path)).await;
    assert_ok(&outcome, 200, 2);
    assert!(outcome.elapsed_ms >= 1000.0, "{} ms", outcome.elapsed_ms);
    assert_eq!(origin.count("GET", path), 2);

    // A POST gets the 503 as its record: not retried without a key.
    let post = fetch(
        &client_for(&origin),
        RequestSpec::new("POST", origin.url("/status/503/9/1")).with_body("{}"),
    )
    .await;
    let record = check(&post);
    assert_eq!(record["status"], 503, "{record}");
    assert_eq!(record["attempts"], 1, "{record}");
    assert_eq!(origin.count("POST", "/status/503/9/1"), 1);
}

/// FAULTS rows 13 and 14 over HTTP/2: the body cap holds for a declared
/// length, for a body of unknown length, and after gzip decoding; under the
/// cap, gzip is decoded to exactly the text that was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_cap_and_gzip_over_h2() {
    const CAP: u64 = 100_000;
    let origin = H2Origin::start();
    let client = trusting(&origin)
        .max_body(CAP)
        .build()
        .expect("valid settings");

    let gzip = get(&client, &origin.url("/gzip/60000")).await;
    assert_ok(&gzip, 200, 1);
    assert_eq!(gzip.bytes, 60_000);
    assert_eq!(
        gzip.text().as_deref().map(str::as_bytes),
        Some(&text(60_000)[..])
    );

    let under = get(&client, &origin.url("/stream/90000")).await;
    assert_ok(&under, 200, 1);
    assert_eq!(under.bytes, 90_000);

    let declared = get(&client, &origin.url("/large/200000")).await;
    let message = assert_failed(&declared, ErrorKind::TooLarge, 1);
    assert!(message.contains("Content-Length 200000"), "{message}");

    for path in ["/stream/200000", "/gzip/500000"] {
        let outcome = get(&client, &origin.url(path)).await;
        let message = assert_failed(&outcome, ErrorKind::TooLarge, 1);
        assert!(message.contains("passed the cap"), "{path}: {message}");
        assert_eq!(origin.count("GET", path), 1, "{path}: not retried");
    }
}

/// Once an origin has answered over HTTP/2, a new connection to it is made
/// one at a time, the waiting requests sharing it, rather than one per
/// waiting request: with a GOAWAY every 10 requests, 100 requests at
/// concurrency 16 took 7 connections, where a single pool that learns the
/// protocol from each handshake took 50 to 69.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_h2_origin_gets_one_new_connection_at_a_time() {
    let origin = H2Origin::start_with(H2Options {
        goaway_after: Some(10),
    });
    let client = trusting(&origin)
        .concurrency(16)
        .build()
        .expect("valid settings");
    assert_ok(&get(&client, &origin.url("/json/0")).await, 200, 1);
    let before = origin.accepted();
    let specs: Vec<RequestSpec> = (1..=100u64)
        .map(|i| RequestSpec::get(origin.url(&format!("/delay/5/{i}"))).with_index(i))
        .collect();
    for outcome in client.gather(specs).await {
        assert_ok(&outcome, 200, outcome.attempts);
    }
    let opened = origin.accepted() - before;
    assert!(
        (1..=30).contains(&opened),
        "{opened} connections opened for 100 requests, a GOAWAY every 10"
    );
}

/// A graceful GOAWAY every 10 requests while 16 are in flight: the streams
/// the server had admitted finish on the old connection, the rest go on
/// new ones. Every GET completes (a GET caught by a GOAWAY is retried, so
/// it may arrive twice); a POST caught by one may have been processed, so
/// it is never sent again: it arrives at most once, and when it did not
/// complete its record says `reset` after one attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goaway_mid_run_never_repeats_a_post() {
    let origin = H2Origin::start_with(H2Options {
        goaway_after: Some(10),
    });
    let client = trusting(&origin)
        .concurrency(16)
        .build()
        .expect("valid settings");
    for method in ["GET", "POST"] {
        let specs: Vec<RequestSpec> = (0..100u64)
            .map(|i| {
                RequestSpec::new(method, origin.url(&format!("/delay/10/{method}{i}")))
                    .with_body("{}")
                    .with_index(i)
            })
            .collect();
        let outcomes = client.gather(specs).await;
        assert_eq!(outcomes.len(), 100);
        for (i, outcome) in outcomes.iter().enumerate() {
            let record = check(outcome);
            assert_eq!(outcome.index, i as u64);
            if method == "GET" || outcome.ok {
                assert_eq!(record["ok"], true, "{record}");
                assert_eq!(record["status"], 200, "{record}");
            } else {
                assert_failed(outcome, ErrorKind::Reset, 1);
            }
        }
    }
    let arrivals = origin.arrivals();
    let posted_twice: Vec<_> = arrivals
        .iter()
        .filter(|a| a.method == "POST")
        .filter(|a| arrivals.iter().filter(|b| b.path == a.path).count() > 1)
        .collect();
    assert!(
        posted_twice.is_empty(),
        "POSTs arrived more than once: {posted_twice:?}"
    );
    let got = |i: u64| origin.count("GET", &format!("/delay/10/GET{i}"));
    assert!((0..100).all(|i| got(i) >= 1), "every GET arrived");
    // A connection goes away after its 10th request, taking at most the
    // others already sent (about 15 with 16 in flight): without GOAWAY one
    // connection would carry all 200, with it each carries a few dozen.
    let busy = origin.busy_connections().len();
    assert!(busy >= 4, "{busy} connections carried 200 requests");
}

/// FAULTS row 3 over HTTP/2: the server resets the stream
/// (`RST_STREAM(INTERNAL_ERROR)`) before answering. That is a `reset`, as a
/// TCP reset is over HTTP/1.1: the GET is retried, the POST was delivered
/// and is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_stream_is_retried_for_get_not_post() {
    let origin = H2Origin::start();
    let client = client_for(&origin);
    let path = "/reset/internal/99";

    let message = assert_failed(&get(&client, &origin.url(path)).await, ErrorKind::Reset, 4);
    assert!(message.contains("INTERNAL_ERROR"), "{message}");
    assert_eq!(origin.count("GET", path), 4);

    let post = fetch(
        &client,
        RequestSpec::new("POST", origin.url(path)).with_body("{}"),
    )
    .await;
    assert_failed(&post, ErrorKind::Reset, 1);
    assert_eq!(origin.count("POST", path), 1);
}

/// `REFUSED_STREAM` says the server did no processing (RFC 9113 §8.7), so a
/// refused request is retried whatever its method, and succeeds once the
/// server takes it; refused every time, it ends as a `reset`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_stream_is_retried_for_any_method() {
    let origin = H2Origin::start();
    let client = client_for(&origin);

    let outcome = get(&client, &origin.url("/reset/refused/2")).await;
    assert_ok(&outcome, 200, 3);
    assert_eq!(origin.count("GET", "/reset/refused/2"), 3);

    let post = |path: &str| RequestSpec::new("POST", origin.url(path)).with_body("{}");
    let outcome = fetch(&client, post("/reset/refused/1")).await;
    assert_ok(&outcome, 200, 2);
    assert_eq!(origin.count("POST", "/reset/refused/1"), 2);

    let outcome = fetch(&client, post("/reset/refused/99")).await;
    let message = assert_failed(&outcome, ErrorKind::Reset, 4);
    assert!(message.contains("REFUSED_STREAM"), "{message}");
    assert_eq!(origin.count("POST", "/reset/refused/99"), 4);
}

/// FAULTS row 4 over HTTP/2: `Content-Length: 2000`, 1000 bytes, then
/// `RST_STREAM`. No partial body in the record, the message says what was
/// expected, and the GET is retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_mid_body_leaves_no_partial_body() {
    let origin = H2Origin::start();
    let outcome = get(&client_for(&origin), &origin.url("/cut/1000")).await;
    let message = assert_failed(&outcome, ErrorKind::Reset, 4);
    assert!(message.contains("expected 2000 bytes"), "{message}");
    assert_eq!(origin.count("GET", "/cut/1000"), 4);
}

/// A GOAWAY that leaves the request out (last stream id 0). The error h2
/// reports does not say whether the server acted on the request (see
/// `goaway_mid_run_never_repeats_a_post`), so, like a reset, it is retried
/// for a GET and not for a POST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_caught_by_goaway_is_retried_for_get_not_post() {
    let origin = GoawayOrigin::start();
    let client = fast()
        .add_root_certificate_pem(origin.pem())
        .build()
        .expect("valid settings");
    let mut expected = 0;
    for (method, attempts) in [("GET", 4), ("POST", 1)] {
        let spec = RequestSpec::new(method, origin.url("/json/1")).with_body("{}");
        let message = assert_failed(&fetch(&client, spec).await, ErrorKind::Reset, attempts);
        assert!(message.contains("GOAWAY"), "{method}: {message}");
        expected += attempts as usize;
        assert_eq!(origin.turned_away(), expected, "{method}");
    }
}
