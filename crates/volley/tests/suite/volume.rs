//! Many requests: exactly one outcome per input, input order from `gather`, lazily consumed input, and dropping a stream.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::Value;
use testbed::{closed_port, Testbed};
use volley::{ErrorKind, RequestSpec};

use super::support::{check, fast};

/// 10,000 requests through `stream`: exactly 10,000 outcomes, every index
/// once, each body the one its own request asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_one_outcome_each() {
    const N: u64 = 10_000;
    let tb = Testbed::start();
    let client = fast().concurrency(64).build().expect("valid settings");
    let base = tb.url("/json/");
    let specs = (0..N).map(move |i| RequestSpec::get(format!("{base}{i}")).with_index(i));
    let mut outcomes = std::pin::pin!(client.stream(specs));

    let mut seen = HashSet::new();
    let mut count = 0u64;
    while let Some(outcome) = outcomes.next().await {
        let record = check(&outcome);
        assert_eq!(record["ok"], true, "{record}");
        assert!(seen.insert(outcome.index), "index {} twice", outcome.index);
        assert_eq!(record["body"]["id"], outcome.index, "{record}");
        count += 1;
    }
    assert_eq!(count, N);
    assert_eq!(seen.len() as u64, N);
    assert_eq!(tb.journal().total() as u64, N, "nothing fetched twice");
}

/// What slot `i` of the mixed batch holds, and the record it must give.
enum Slot {
    /// `/json/{i}`, possibly delayed so completion order is not input order.
    Good(String),
    /// `/status/404`: a response, counted as a failure, not retried.
    NotFound(String),
    /// A refused port: retried, then `connect`.
    Refused(String),
    /// An `ftp://` URL: `invalid_request`, never sent.
    Invalid(String),
}

impl Slot {
    fn url(&self) -> &str {
        match self {
            Slot::Good(u) | Slot::NotFound(u) | Slot::Refused(u) | Slot::Invalid(u) => u,
        }
    }
}

/// `gather` returns outcomes in input order for 500 mixed requests, some
/// failing in different ways, each failure in its own slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gather_keeps_input_order_and_isolates_failures() {
    let tb = Testbed::start();
    let refused = closed_port();
    let slots: Vec<Slot> = (0..500u64)
        .map(|i| match i % 5 {
            0 => Slot::NotFound(tb.url(&format!("/status/404?slot={i}"))),
            1 => Slot::Refused(format!("http://{refused}/json/{i}")),
            2 => Slot::Invalid(format!("ftp://127.0.0.1/json/{i}")),
            // Later slots finish sooner, so completion order is reversed-ish.
            3 => Slot::Good(tb.url(&format!("/delay/{}?id={i}", (500 - i) / 20))),
            _ => Slot::Good(tb.url(&format!("/json/{i}"))),
        })
        .collect();
    let specs: Vec<RequestSpec> = slots
        .iter()
        .enumerate()
        .map(|(i, slot)| RequestSpec::get(slot.url()).with_index(i as u64))
        .collect();

    let client = fast().concurrency(32).build().expect("valid settings");
    let outcomes = client.gather(specs).await;
    assert_eq!(outcomes.len(), slots.len());
    for (i, (outcome, slot)) in outcomes.iter().zip(&slots).enumerate() {
        let record = check(outcome);
        assert_eq!(outcome.index, i as u64, "slot {i}");
        assert_eq!(outcome.url, slot.url(), "slot {i}");
        let kind = outcome.error_kind();
        match slot {
            Slot::Good(_) => assert_eq!(
                (record["ok"].clone(), kind),
                (Value::Bool(true), None),
                "{record}"
            ),
            Slot::NotFound(_) => {
                assert_eq!(
                    (outcome.status, kind, outcome.attempts),
                    (Some(404), Some(ErrorKind::HttpStatus), 1),
                    "{record}"
                );
            }
            Slot::Refused(_) => {
                // 100 requests to one dead host: its retry budget (10 plus
                // 20% of first attempts) ends the retries early for most.
                assert_eq!(
                    (outcome.status, kind),
                    (None, Some(ErrorKind::Connect)),
                    "{record}"
                );
                assert!((1..=4).contains(&outcome.attempts), "{record}");
            }
            Slot::Invalid(_) => {
                assert_eq!(
                    (outcome.status, kind, outcome.attempts),
                    (None, Some(ErrorKind::InvalidRequest), 0),
                    "{record}"
                );
            }
        }
    }
    // Only the 300 sendable requests to the testbed reached it, once each.
    assert_eq!(tb.journal().total(), 300);
}

/// `stream` over a million specs reads them lazily: when the first 100
/// outcomes have arrived, the iterator has produced no more than the
/// read-ahead window, plus the window slots those 100 outcomes freed, plus
/// those freed by finished outcomes waiting to be taken (the scheduler
/// buffers about one concurrency's worth), plus one concurrency of slack
/// for the order in which a slot is freed and the next spec read. The
/// rest of the million is never read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_reads_a_million_specs_lazily() {
    const READ_AHEAD: usize = 256;
    const CONCURRENCY: usize = 16;
    const TAKEN: usize = 100;
    let tb = Testbed::start();
    let client = fast()
        .concurrency(CONCURRENCY)
        .read_ahead(READ_AHEAD)
        .build()
        .expect("valid settings");
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&produced);
    let base = tb.url("/json/");
    let specs = (0..1_000_000u64).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        RequestSpec::get(format!("{base}{i}")).with_index(i)
    });

    let mut outcomes = Box::pin(client.stream(specs));
    for _ in 0..TAKEN {
        let outcome = outcomes.next().await.expect("a million specs to go");
        check(&outcome);
        assert!(outcome.ok, "{outcome:?}");
    }
    let at_100 = produced.load(Ordering::SeqCst);
    drop(outcomes);
    assert!(at_100 >= TAKEN, "{at_100} produced");
    let bound = READ_AHEAD + TAKEN + 2 * CONCURRENCY;
    assert!(
        at_100 <= bound,
        "{at_100} specs produced for {TAKEN} outcomes, bound {bound}"
    );
    assert!(tb.journal().total() <= bound);
}

/// Dropping a stream mid-way returns at once, and the server soon stops
/// seeing requests: no more than were already running or finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_stops_the_requests() {
    const CONCURRENCY: usize = 8;
    const TAKEN: usize = 10;
    let tb = Testbed::start();
    let client = fast()
        .concurrency(CONCURRENCY)
        .build()
        .expect("valid settings");
    let base = tb.url("/delay/50?i=");
    let specs = (0..10_000u64).map(move |i| RequestSpec::get(format!("{base}{i}")).with_index(i));

    let finished = tokio::time::timeout(Duration::from_secs(20), async {
        let mut outcomes = Box::pin(client.stream(specs));
        for _ in 0..TAKEN {
            let outcome = outcomes.next().await.expect("specs to go");
            check(&outcome);
        }
        drop(outcomes);
        let at_drop = tb.journal().total();

        // Wait (bounded) until the server has seen nothing new for 500 ms,
        // ten times the request's own delay.
        let give_up = Instant::now() + Duration::from_secs(10);
        let (mut last, mut quiet_since) = (tb.journal().total(), Instant::now());
        while quiet_since.elapsed() < Duration::from_millis(500) {
            assert!(
                Instant::now() < give_up,
                "requests keep coming after the drop: {last}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = tb.journal().total();
            if now != last {
                (last, quiet_since) = (now, Instant::now());
            }
        }
        (at_drop, last)
    })
    .await;
    let (at_drop, settled) = finished.expect("dropping the stream does not hang");
    // What was in flight at the drop may still have arrived; nothing else.
    assert!(
        settled <= at_drop + CONCURRENCY,
        "{at_drop} requests at the drop, {settled} later"
    );
    assert!(settled < 100, "{settled} of 10,000 requests were sent");
}
