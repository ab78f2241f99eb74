//! FAULTS.md rows 7, 8, 23 and 24, and the rate limits: what volley does
//! for a server that asks it to slow down, and that one host's trouble never
//! holds back another — all measured from the server's journal.
//!
//! Waits are asserted from below exactly: a retry that `Retry-After: 2` holds
//! back arrives at least 2 s after the 429's request arrived (the pause can
//! only start after that arrival, and the retry can only arrive after it is
//! sent). Upper bounds are generous, for a loaded two-core machine.

use std::time::{Duration, Instant, SystemTime};

use testbed::{Options, Seen, Testbed};
use volley::{Backoff, Client, Outcome, Rate, RatePolicy, RequestSpec, RetryPolicy};

use super::support::{assert_ok, check, client, fast, get, percent_encode};

/// Two listeners: two "hosts" as far as per-host limits go.
fn two_hosts() -> Testbed {
    Testbed::start_with(Options {
        listeners: 2,
        ..Options::default()
    })
}

/// The requests the server saw on listener `listener`, in arrival order.
fn arrivals_on(tb: &Testbed, listener: usize) -> Vec<Seen> {
    let port = tb.addrs()[listener].port();
    tb.journal()
        .requests()
        .into_iter()
        .filter(|s| s.port == port)
        .collect()
}

/// The requests the server saw for `path`, in arrival order.
fn arrivals_of(tb: &Testbed, path: &str) -> Vec<Seen> {
    tb.journal()
        .requests()
        .into_iter()
        .filter(|s| s.path == path)
        .collect()
}

/// How many of `seen` arrived in `[from, from + window)`.
fn count_within(seen: &[Seen], from: Instant, window: Duration) -> usize {
    seen.iter()
        .filter(|s| s.at >= from && s.at.duration_since(from) < window)
        .count()
}

/// Asserts a record that ends on a status the run counts as a failure:
/// `ok: false`, that `status`, `kind: "http_status"`, `attempts`.
fn assert_http_failure(outcome: &Outcome, status: u16, attempts: u32) {
    let record = check(outcome);
    assert_eq!(record["ok"], false, "{record}");
    assert_eq!(record["status"], status, "{record}");
    assert_eq!(record["error"]["kind"], "http_status", "{record}");
    assert_eq!(record["attempts"], attempts, "{record}");
}

/// A client whose backoff is long (up to 20 s): a retry that comes at once
/// did not come from the backoff.
fn slow_backoff_client() -> Client {
    let slow = Backoff::new(Duration::from_secs(20), Duration::from_secs(20));
    fast()
        .retry(RetryPolicy::new().backoff(slow))
        .build()
        .expect("valid settings")
}

/// FAULTS row 7: 429 with `Retry-After: 2`, then 200. The retry waits the
/// 2 s the server asked for (the quick backoff would be ≤ 10 ms), then
/// succeeds on the second attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row07_retry_after_2_is_waited_then_succeeds() {
    let tb = Testbed::start();
    let client = client();
    let outcome = get(&client, &tb.url("/retry-after/row7/1/2")).await;
    assert_ok(&outcome, 200, 2);
    let body: serde_json::Value = outcome.json().expect("JSON body");
    assert_eq!(body["attempt"], 2);

    let seen = arrivals_of(&tb, "/retry-after/row7/1/2");
    assert_eq!(seen.len(), 2, "one 429, one retry");
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap >= Duration::from_secs(2), "retried after {gap:?}");
    assert!(gap < Duration::from_secs(10), "retried after {gap:?}");
    assert!(outcome.elapsed_ms >= 2000.0, "{} ms", outcome.elapsed_ms);
    let stats = client.stats();
    assert_eq!((stats.host_pauses, stats.retries), (1, 1), "{stats:?}");
}

/// FAULTS row 7, "the whole host pauses": after the 429 with
/// `Retry-After: 2`, the server sees nothing from volley on that host for
/// 2 s, while the other host keeps being served all along.
///
/// One request at a time per host, so no other request to the paused host
/// can have been on the wire when the 429 came back: every later arrival
/// there was sent after volley read the 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row07_pause_holds_the_whole_host_and_only_that_host() {
    let tb = two_hosts();
    let client = fast().per_host(1).build().expect("valid settings");
    let mut specs = vec![RequestSpec::get(tb.url_on(0, "/retry-after/pause/1/2"))];
    specs.extend((0..10).map(|i| RequestSpec::get(tb.url_on(0, &format!("/json/a{i}")))));
    // 80 × 50 ms one at a time: host 1 stays busy for 4 s, past the pause.
    specs.extend((0..80).map(|_| RequestSpec::get(tb.url_on(1, "/delay/50"))));
    let outcomes = client.gather(specs).await;
    assert_ok(&outcomes[0], 200, 2);
    for outcome in &outcomes[1..] {
        assert_ok(outcome, 200, 1);
    }

    let paused = arrivals_on(&tb, 0);
    assert_eq!(paused.len(), 12, "10 requests, the 429 and its retry");
    let first = paused
        .iter()
        .position(|s| s.path == "/retry-after/pause/1/2")
        .expect("the 429 was seen");
    let at_429 = paused[first].at;
    for later in &paused[first + 1..] {
        let gap = later.at.duration_since(at_429);
        assert!(
            gap >= Duration::from_secs(2),
            "{} arrived {gap:?} after the 429 asked for 2 s of quiet",
            later.path
        );
    }
    let other = arrivals_on(&tb, 1);
    let during = count_within(&other, at_429, Duration::from_secs(2));
    let late = count_within(
        &other,
        at_429 + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    // About 40 and 20 at 50 ms each; far fewer still shows they went on.
    assert!(
        during >= 10 && late >= 5,
        "the other host got {during} requests during the pause, {late} in its second half"
    );
    assert_eq!(client.stats().host_pauses, 1);
}

/// FAULTS row 7, the pause against requests that already passed their
/// host's checks: with one global slot, requests to the paused host that
/// were queued for that slot when the 429 came back must wait out the pause
/// too, not go out as soon as the slot frees.
///
/// With a global limit of 1 nothing overlaps, so every arrival after the
/// 429 was sent after volley read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row07_pause_holds_requests_queued_for_a_global_slot() {
    let tb = two_hosts();
    let client = fast()
        .concurrency(1)
        .per_host(4)
        .build()
        .expect("valid settings");
    let mut specs = vec![RequestSpec::get(tb.url_on(0, "/retry-after/queued/1/2"))];
    specs.extend((0..8).map(|i| RequestSpec::get(tb.url_on(0, &format!("/json/q{i}")))));
    specs.extend((0..60).map(|_| RequestSpec::get(tb.url_on(1, "/delay/50"))));
    let outcomes = client.gather(specs).await;
    assert_ok(&outcomes[0], 200, 2);
    for outcome in &outcomes[1..] {
        assert_ok(outcome, 200, 1);
    }

    let paused = arrivals_on(&tb, 0);
    assert_eq!(paused.len(), 10, "8 requests, the 429 and its retry");
    let first = paused
        .iter()
        .position(|s| s.path == "/retry-after/queued/1/2")
        .expect("the 429 was seen");
    assert!(
        first + 2 < paused.len(),
        "no request to the host was left behind the 429: nothing to check"
    );
    let at_429 = paused[first].at;
    for later in &paused[first + 1..] {
        let gap = later.at.duration_since(at_429);
        assert!(
            gap >= Duration::from_secs(2),
            "{} arrived {gap:?} after the 429 asked for 2 s of quiet",
            later.path
        );
    }
    let other = arrivals_on(&tb, 1);
    let during = count_within(&other, at_429, Duration::from_secs(2));
    assert!(
        during >= 10,
        "the other host got {during} requests during the pause"
    );
}

/// FAULTS row 8: `Retry-After` as an HTTP-date is honoured. The date is
/// 2–3 s ahead (HTTP-dates have whole seconds); the retry reaches the server
/// no earlier than that date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row08_http_date_is_honoured() {
    let tb = Testbed::start();
    let client = slow_backoff_client();
    // The server's journal stamps arrivals with `Instant`s; this pair maps
    // them to wall-clock time, which is what an HTTP-date names.
    let (wall0, mono0) = (SystemTime::now(), Instant::now());
    let whole_secs = (wall0 + Duration::from_secs(3))
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_secs();
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(whole_secs);
    let value = percent_encode(&httpdate::fmt_http_date(date));
    let path = format!("/retry-after/date/1/{value}");
    let outcome = get(&client, &tb.url(&path)).await;
    assert_ok(&outcome, 200, 2);

    let seen = arrivals_of(&tb, &path);
    assert_eq!(seen.len(), 2, "one 429, one retry");
    let retried_at = wall0 + seen[1].at.duration_since(mono0);
    // 5 ms for the two clocks read one after the other and drifting apart.
    let slack = Duration::from_millis(5);
    assert!(
        retried_at + slack >= date,
        "retried {:?} before the date",
        date.duration_since(retried_at).unwrap_or_default()
    );
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap < Duration::from_secs(10), "retried after {gap:?}");
    assert_eq!(client.stats().host_pauses, 1);
}

/// FAULTS row 8: a date in the past means "retry now" — not the backoff,
/// which for this client is up to 20 s, and no pause of the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row08_past_date_retries_at_once() {
    let tb = Testbed::start();
    let client = slow_backoff_client();
    let value = percent_encode("Sun, 06 Nov 1994 08:49:37 GMT");
    let path = format!("/retry-after/past/1/{value}");
    let outcome = get(&client, &tb.url(&path)).await;
    assert_ok(&outcome, 200, 2);

    let seen = arrivals_of(&tb, &path);
    assert_eq!(seen.len(), 2, "one 429, one retry");
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap < Duration::from_secs(2), "retried after {gap:?}");
    let stats = client.stats();
    assert_eq!((stats.retries, stats.host_pauses), (1, 0), "{stats:?}");
}

/// FAULTS row 8: a `Retry-After` that is neither seconds nor a date falls
/// back to the ordinary backoff: retried, and the host is not paused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row08_garbage_falls_back_to_the_backoff() {
    let tb = Testbed::start();
    let client = client();
    for (key, garbage) in [("soon", "soon"), ("neg", "-5"), ("frac", "1.5")] {
        let path = format!("/retry-after/{key}/1/{}", percent_encode(garbage));
        let outcome = get(&client, &tb.url(&path)).await;
        assert_ok(&outcome, 200, 2);
        let seen = arrivals_of(&tb, &path);
        assert_eq!(seen.len(), 2, "{garbage:?}: one 429, one retry");
        // The quick backoff's first delay is at most 10 ms.
        let gap = seen[1].at.duration_since(seen[0].at);
        assert!(gap < Duration::from_secs(2), "{garbage:?}: after {gap:?}");
    }
    let stats = client.stats();
    assert_eq!((stats.retries, stats.host_pauses), (3, 0), "{stats:?}");
}

/// FAULTS row 8: a `Retry-After` over the cap (120 s by default, or as set)
/// fails the item at once: `ok: false`, `status: 429`, `http_status`, one
/// attempt, no sleep, the host not paused. Seconds and dates alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row08_over_the_cap_fails_at_once() {
    let tb = Testbed::start();
    let in_an_hour = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    let default_cap = client();
    let capped_at_1s = fast()
        .retry(RetryPolicy::new().max_retry_after(Duration::from_secs(1)))
        .build()
        .expect("valid settings");
    let cases = [
        (&default_cap, "/retry-after/cap121/1/121".to_owned(), "121s"),
        (
            &default_cap,
            format!("/retry-after/capdate/1/{}", percent_encode(&in_an_hour)),
            "120s cap",
        ),
        (&capped_at_1s, "/retry-after/cap2/1/2".to_owned(), "2s"),
    ];
    for (client, path, says) in cases {
        let outcome = get(client, &tb.url(&path)).await;
        assert_http_failure(&outcome, 429, 1);
        let message = outcome.error.as_ref().map_or("", |e| e.message.as_str());
        assert!(
            message.contains("Retry-After") && message.contains(says),
            "{path}: {message}"
        );
        // Well under the smallest wait asked for (2 s): nothing slept.
        assert!(
            outcome.elapsed_ms < 1500.0,
            "{path}: {} ms",
            outcome.elapsed_ms
        );
        assert_eq!(tb.journal().count(&path), 1, "{path}");
    }
    for client in [&default_cap, &capped_at_1s] {
        let stats = client.stats();
        assert_eq!((stats.retries, stats.host_pauses), (0, 0), "{stats:?}");
    }
}

/// A host that answers 500 for three items in five whatever the load (bad
/// data, say): one cut at most for the failures, then, since the failures
/// did not lessen at the lower rate, none. The run takes about a second;
/// with every spike cut (one a second, to 0.2 requests/s), these 600
/// requests took two minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_that_do_not_come_from_load_do_not_slow_the_host() {
    let tb = Testbed::start();
    let client = client();
    let specs: Vec<RequestSpec> = (0..600)
        .map(|i| {
            let path = if i % 5 < 3 {
                format!("/status/500?i={i}")
            } else {
                format!("/json/{i}")
            };
            RequestSpec::get(tb.url(&path)).with_index(i)
        })
        .collect();
    let start = Instant::now();
    let outcomes = client.gather(specs).await;
    let took = start.elapsed();

    assert_eq!(outcomes.len(), 600);
    for outcome in &outcomes {
        let record = check(outcome);
        let fails = outcome.index % 5 < 3;
        assert_eq!(record["ok"], !fails, "{record}");
    }
    let stats = client.stats();
    assert!(stats.throttle_decreases <= 3, "{stats:?}");
    assert!(took < Duration::from_secs(30), "took {took:?}: {stats:?}");
}

/// FAULTS row 23: a host that always answers 503. Every record says 503,
/// and retries stay within the host's budget: 10 to start with plus 20% of
/// the 100 first attempts, so the server sees at most 130 requests where
/// unbudgeted retries would have made 400. Adaptive throttling also slows
/// the host down as a whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row23_always_503_stays_within_the_retry_budget() {
    let tb = Testbed::start();
    let client = client();
    let specs: Vec<RequestSpec> = (0..100)
        .map(|i| RequestSpec::get(tb.url("/status/503")).with_index(i))
        .collect();
    let outcomes = client.gather(specs).await;
    assert_eq!(outcomes.len(), 100);
    let mut attempts = 0;
    for outcome in &outcomes {
        let record = check(outcome);
        assert_eq!(record["ok"], false, "{record}");
        assert_eq!(record["status"], 503, "{record}");
        assert_eq!(record["error"]["kind"], "http_status", "{record}");
        attempts += outcome.attempts;
    }

    let seen = tb.journal().count("/status/503");
    assert_eq!(
        seen, attempts as usize,
        "the records' attempts are what the server saw"
    );
    assert!(
        (100..=130).contains(&seen),
        "{seen} requests to a host that always fails: over the retry budget"
    );
    let budget_spent = outcomes.iter().filter(|o| {
        o.error
            .as_ref()
            .is_some_and(|e| e.message.contains("retry budget is spent"))
    });
    assert!(
        budget_spent.count() > 0,
        "no record says the budget ran out"
    );
    let stats = client.stats();
    assert!(stats.retry_budget_exhausted > 0, "{stats:?}");
    assert!(stats.throttle_decreases > 0, "{stats:?}");
    assert_eq!(stats.attempts, seen as u64, "{stats:?}");
    assert_eq!(stats.retries, seen as u64 - 100, "{stats:?}");
    assert_eq!(stats.requests, 100, "{stats:?}");
}

/// Drains `outcomes`, checking each against the schema; the healthy ones
/// (index 100 and up, `healthy` of them) must be 200 at the first attempt.
/// Returns when the last healthy one finished, counted from now, and the
/// other outcomes, each with whether it came before that.
async fn until_healthy_done(
    outcomes: impl futures_util::Stream<Item = Outcome>,
    healthy: usize,
) -> (Duration, Vec<(Outcome, bool)>) {
    use futures_util::StreamExt as _;
    let start = Instant::now();
    let mut outcomes = std::pin::pin!(outcomes);
    let (mut healthy_left, mut healthy_done, mut others) = (healthy, None, Vec::new());
    while let Some(outcome) = outcomes.next().await {
        check(&outcome);
        if outcome.index >= 100 {
            assert_ok(&outcome, 200, 1);
            healthy_left -= 1;
            if healthy_left == 0 {
                healthy_done = Some(start.elapsed());
            }
        } else {
            others.push((outcome, healthy_left > 0));
        }
    }
    let done = healthy_done.expect("every healthy request finished");
    (done, others)
}

/// FAULTS row 24: one host answers after 2 s, the other at once. The
/// healthy host's 200 requests all finish while the slow host's first
/// answers are still on their way: no head-of-line blocking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row24_a_slow_host_does_not_hold_back_a_healthy_one() {
    let tb = two_hosts();
    // Per-host slots below the global ones, as a multi-host run should be:
    // the slow host can hold at most 4 of the 8.
    let client = fast()
        .concurrency(8)
        .per_host(4)
        .build()
        .expect("valid settings");
    // The slow host's requests come first in the input.
    let slow = (0..12u64).map(|i| RequestSpec::get(tb.url_on(0, "/delay/2000")).with_index(i));
    let healthy = (0..200u64)
        .map(|i| RequestSpec::get(tb.url_on(1, &format!("/json/{i}"))).with_index(100 + i));
    let specs: Vec<RequestSpec> = slow.chain(healthy).collect();

    let (healthy_done, slow) = until_healthy_done(client.stream(specs), 200).await;
    let mut slow_before_healthy = 0;
    for (outcome, before) in slow {
        assert_ok(&outcome, 200, 1);
        slow_before_healthy += usize::from(before);
    }
    // Generous: alone, the healthy host takes a small fraction of this.
    assert!(
        healthy_done < Duration::from_secs(2),
        "the healthy host's 200 requests took {healthy_done:?}, as long as one slow answer"
    );
    assert_eq!(
        slow_before_healthy, 0,
        "a slow answer came before the healthy host was done"
    );
    assert_eq!(arrivals_on(&tb, 1).len(), 200);
}

/// Requests waiting out a backoff do not hold their host's place: six
/// requests that get a 503 and sleep (up to 2 s) before their retry come
/// first, on a host with one slot; the twenty requests behind them to the
/// same host finish while they sleep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_backoff_let_the_next_ones_to_their_host_start() {
    let tb = Testbed::start();
    let sleepy = Backoff::new(Duration::from_secs(2), Duration::from_secs(2));
    let client = fast()
        .per_host(1)
        .retry(RetryPolicy::new().max_retries(1).backoff(sleepy))
        .build()
        .expect("valid settings");
    let failing = (0..6u64).map(|i| RequestSpec::get(tb.url("/status/503")).with_index(i));
    let healthy =
        (0..20u64).map(|i| RequestSpec::get(tb.url(&format!("/json/{i}"))).with_index(100 + i));
    let specs: Vec<RequestSpec> = failing.chain(healthy).collect();

    let (healthy_done, _failing) = until_healthy_done(client.stream(specs), 20).await;
    // Held behind the sleepers, they would take a few of their 0–2 s sleeps.
    assert!(
        healthy_done < Duration::from_secs(1),
        "the healthy requests took {healthy_done:?}"
    );
}

/// No head-of-line blocking behind a pause: one host is paused for 3 s by a
/// `Retry-After` while 50 more requests to it wait; the other host's 500
/// requests all reach the server (and finish) within that pause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_host_does_not_hold_back_the_other() {
    use futures_util::StreamExt as _;
    let tb = two_hosts();
    let client = fast().concurrency(8).build().expect("valid settings");
    let mut specs = vec![RequestSpec::get(tb.url_on(0, "/retry-after/hol/1/3")).with_index(0)];
    specs.extend(
        (1..=50u64).map(|i| RequestSpec::get(tb.url_on(0, &format!("/json/p{i}"))).with_index(i)),
    );
    specs.extend(
        (0..500u64)
            .map(|i| RequestSpec::get(tb.url_on(1, &format!("/json/h{i}"))).with_index(1000 + i)),
    );

    let mut outcomes = std::pin::pin!(client.stream(specs));
    let mut healthy_left = 500;
    let mut retried_before_healthy_done = false;
    while let Some(outcome) = outcomes.next().await {
        check(&outcome);
        match outcome.index {
            0 => {
                assert_ok(&outcome, 200, 2);
                retried_before_healthy_done = healthy_left > 0;
            }
            i if i >= 1000 => {
                assert_ok(&outcome, 200, 1);
                healthy_left -= 1;
            }
            _ => assert_ok(&outcome, 200, 1),
        }
    }
    assert_eq!(healthy_left, 0);
    assert!(
        !retried_before_healthy_done,
        "the paused host's retry finished before the other host's 500 requests"
    );

    let paused = arrivals_of(&tb, "/retry-after/hol/1/3");
    assert_eq!(paused.len(), 2, "one 429, one retry");
    let pause_over = paused[1].at;
    assert!(pause_over.duration_since(paused[0].at) >= Duration::from_secs(3));
    let healthy = arrivals_on(&tb, 1);
    assert_eq!(healthy.len(), 500);
    let last = healthy.last().expect("500 arrivals").at;
    assert!(
        last < pause_over,
        "the other host's last request arrived {:?} after the pause ended",
        last.duration_since(pause_over)
    );
}

/// The per-host rate, measured by the server: at 20/s, each host gets 60 ± 3
/// requests in the 3 s from its first one — each at its own 20/s, so two
/// hosts together get twice that, and neither slows the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_rate_is_accurate_and_per_host() {
    let tb = two_hosts();
    let client = fast()
        .rate(RatePolicy::new().per_host(Rate::per_second(20)))
        .build()
        .expect("valid settings");
    // 80 per host: a full second more than the window needs.
    let specs: Vec<RequestSpec> = (0..160u64)
        .map(|i| RequestSpec::get(tb.url_on((i % 2) as usize, &format!("/json/{i}"))).with_index(i))
        .collect();
    for outcome in client.gather(specs).await {
        assert_ok(&outcome, 200, 1);
    }

    for listener in 0..2 {
        let seen = arrivals_on(&tb, listener);
        assert_eq!(seen.len(), 80);
        let in_3s = count_within(&seen, seen[0].at, Duration::from_secs(3));
        assert!(
            (57..=63).contains(&in_3s),
            "host {listener}: {in_3s} requests in 3 s at 20/s"
        );
    }
}

/// The global rate, measured by the server over both hosts together: at
/// 100/s, 200 ± 10 requests in the 2 s from the first. A limiter that let
/// its timers' lateness (a millisecond or so each) push its schedule back
/// sent 178 here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_rate_is_accurate_across_hosts() {
    let tb = two_hosts();
    let client = fast()
        .rate(RatePolicy::new().global(Rate::per_second(100)))
        .build()
        .expect("valid settings");
    // 260: more than half a second past the window.
    let specs: Vec<RequestSpec> = (0..260u64)
        .map(|i| RequestSpec::get(tb.url_on((i % 2) as usize, &format!("/json/{i}"))).with_index(i))
        .collect();
    for outcome in client.gather(specs).await {
        assert_ok(&outcome, 200, 1);
    }

    let seen = tb.journal().requests();
    assert_eq!(seen.len(), 260);
    let in_2s = count_within(&seen, seen[0].at, Duration::from_secs(2));
    assert!(
        (190..=210).contains(&in_2s),
        "{in_2s} requests in 2 s at 100/s"
    );
}
