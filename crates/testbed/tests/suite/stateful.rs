//! The stateful routes: `/flaky` and `/retry-after` count attempts per key.

use testbed::Testbed;

use super::client::{get, Client};

/// FAULTS row 9: `/flaky/a/2/503` fails twice, then succeeds.
#[test]
fn flaky_fails_k_times_per_key_then_succeeds() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    let statuses: Vec<u16> = (0..4)
        .map(|_| client.get("/flaky/a/2/503").status)
        .collect();
    assert_eq!(statuses, [503, 503, 200, 200]);
    // Another key has its own count, on any connection.
    assert_eq!(get(tb.addr(), "/flaky/b/1/500").status, 500);
    assert_eq!(get(tb.addr(), "/flaky/b/1/500").status, 200);
    assert_eq!(tb.journal().count("/flaky/a/2/503"), 4);
    let last = get(tb.addr(), "/flaky/a/2/503").json();
    assert_eq!(last["attempt"], 5);
}

#[test]
fn flaky_state_belongs_to_one_testbed() {
    let first = Testbed::start();
    let second = Testbed::start();
    assert_eq!(get(first.addr(), "/flaky/k/1/503").status, 503);
    assert_eq!(get(second.addr(), "/flaky/k/1/503").status, 503);
}

/// FAULTS rows 7 and 8: 429 with a Retry-After value, seconds or an HTTP-date.
#[test]
fn retry_after_sends_the_decoded_value_then_200() {
    let tb = Testbed::start();
    let first = get(tb.addr(), "/retry-after/r/1/2");
    assert_eq!(first.status, 429);
    assert_eq!(first.header("retry-after"), Some("2"));
    assert_eq!(get(tb.addr(), "/retry-after/r/1/2").status, 200);

    let date = get(
        tb.addr(),
        "/retry-after/d/1/Wed,%2021%20Oct%202015%2007%3A28%3A00%20GMT",
    );
    assert_eq!(
        date.header("retry-after"),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
}
