//! Idle connections: when one is reused, and when it is not because the
//! server may be closing it. FAULTS.md row 21 (a server that closes idle
//! connections), the `Keep-Alive` timeout a server announces, and requests
//! that may not be replayed. Connections are told apart by the server's
//! journal.

use std::collections::HashSet;
use std::time::Duration;

use testbed::{Options, Seen, Testbed};
use volley::RequestSpec;

use super::support::{assert_ok, client, fast, fetch, get};

/// A server that says how long it keeps an idle connection (`Keep-Alive:
/// timeout=N`, as Apache and Node do) closes it then; a request written on
/// it just as it closes fails with a reset, and a POST is not retried. So
/// the connection is not used once a margin short of that (here half of
/// the 1 s), and is used as usual before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_is_not_used_past_the_servers_keep_alive_timeout() {
    let tb = Testbed::start();
    let client = client();
    let post = |path: &str| RequestSpec::new("POST", tb.url(path)).with_body("{}");
    let connections = || connections_seen(&tb);

    assert_ok(&fetch(&client, post("/keep-alive/timeout=5")).await, 200, 1);
    given_back().await;
    assert_ok(&fetch(&client, post("/echo/soon")).await, 200, 1);
    let seen = connections();
    assert_eq!(
        seen[0], seen[1],
        "within the timeout the connection is reused"
    );

    assert_ok(&fetch(&client, post("/keep-alive/timeout=1")).await, 200, 1);
    // Past the margin (0.5 s), before the timeout itself.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_ok(&fetch(&client, post("/echo/late")).await, 200, 1);
    let seen = connections();
    assert_ne!(seen[2], seen[3], "a connection past its margin was used");
}

/// Most servers close an idle connection without saying when. A POST (not
/// to be replayed) written just as one does fails with a reset, so after a
/// second of idleness a POST gets a new connection; a GET, or a POST with
/// an `Idempotency-Key` (both may be replayed), still takes the idle one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_does_not_go_on_a_connection_idle_for_a_second() {
    let tb = Testbed::start();
    let client = client();
    let last_two = || -> (u64, u64) {
        let seen = connections_seen(&tb);
        let [.., a, b] = seen.as_slice() else {
            panic!("fewer than two requests: {seen:?}")
        };
        (*a, *b)
    };
    let post = |path: &str| RequestSpec::new("POST", tb.url(path)).with_body("{}");
    let idle = || tokio::time::sleep(Duration::from_millis(1_200));

    assert_ok(&fetch(&client, post("/echo/1")).await, 200, 1);
    given_back().await;
    assert_ok(&fetch(&client, post("/echo/2")).await, 200, 1);
    let (a, b) = last_two();
    assert_eq!(a, b, "a POST reuses a connection just used");

    idle().await;
    assert_ok(&fetch(&client, post("/echo/3")).await, 200, 1);
    let (a, b) = last_two();
    assert_ne!(a, b, "a POST went on a connection idle for 1.2 s");

    idle().await;
    assert_ok(&get(&client, &tb.url("/echo/4")).await, 200, 1);
    let (a, b) = last_two();
    assert_eq!(a, b, "a GET reuses the idle connection");

    idle().await;
    let keyed = post("/echo/5").with_header("Idempotency-Key", "k5");
    assert_ok(&fetch(&client, keyed).await, 200, 1);
    let (a, b) = last_two();
    assert_eq!(
        a, b,
        "a POST with an Idempotency-Key reuses the idle connection"
    );
}

/// With room for one idle connection per origin, the POST's new connection
/// (it passed over the one idle for over a second) takes the place of the
/// old one, rather than being closed while the old one stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_takes_the_place_of_an_older_idle_one() {
    let tb = Testbed::start();
    let client = fast().per_host(1).build().expect("valid settings");
    let post = |path: &str| RequestSpec::new("POST", tb.url(path)).with_body("{}");
    assert_ok(&fetch(&client, post("/echo/1")).await, 200, 1);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_ok(&fetch(&client, post("/echo/2")).await, 200, 1);
    given_back().await;
    assert_ok(&get(&client, &tb.url("/echo/3")).await, 200, 1);

    let seen = connections_seen(&tb);
    assert_ne!(seen[0], seen[1], "the POST took a new connection");
    assert_eq!(seen[1], seen[2], "the GET took the newer idle connection");
}

/// Waits until the last request's connection is surely back in the pool:
/// one whose end hyper has not yet seen is given back a moment later, from
/// a task of its own. (Well under the second a POST's connection may have
/// been idle.)
async fn given_back() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// The connection each request came on, in arrival order.
fn connections_seen(tb: &Testbed) -> Vec<u64> {
    tb.journal()
        .requests()
        .iter()
        .map(|s| s.connection)
        .collect()
}

/// FAULTS row 21: the server closes keep-alive connections idle for 300 ms.
/// The next requests on the same client, after that, still succeed: the
/// stale pooled connections are not used (or are retried) transparently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row21_stale_keep_alive_connections_are_retried_transparently() {
    let tb = Testbed::start_with(Options {
        idle_close: Some(Duration::from_millis(300)),
        ..Options::default()
    });
    let client = client();
    for round in 0..3 {
        let specs: Vec<RequestSpec> = (0..4)
            .map(|i| RequestSpec::get(tb.url(&format!("/json/r{round}-{i}"))))
            .collect();
        for outcome in client.gather(specs).await {
            assert_ok(&outcome, 200, 1);
        }
        // The fault itself, not synchronisation: stay idle well past the
        // server's 300 ms so it closes every pooled connection.
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }

    let seen = tb.journal().requests();
    assert_eq!(seen.len(), 12, "each request exactly once");
    // Every round ran on fresh connections: the server had closed the others.
    let round_of = |s: &Seen| s.path.split('-').next().map(str::to_owned);
    for round in 0..3 {
        let here: HashSet<u64> = seen
            .iter()
            .filter(|s| round_of(s).as_deref() == Some(&format!("/json/r{round}")))
            .map(|s| s.connection)
            .collect();
        let before: HashSet<u64> = seen
            .iter()
            .filter(|s| {
                round_of(s)
                    .and_then(|r| r.strip_prefix("/json/r")?.parse::<u32>().ok())
                    .is_some_and(|r| r < round)
            })
            .map(|s| s.connection)
            .collect();
        assert!(
            here.is_disjoint(&before),
            "round {round} reused a closed connection"
        );
    }
}
