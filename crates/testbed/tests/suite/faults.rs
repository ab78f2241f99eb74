//! Faults: refused and never-accepted connects, resets, truncation,
//! malformed responses, slow responses, and clients that hang up.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use testbed::{closed_port, NeverAccept, Testbed};

use super::client::Client;

/// FAULTS row 1.
#[test]
fn closed_port_refuses() {
    let error = TcpStream::connect(closed_port()).expect_err("nothing listens");
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
}

/// FAULTS row 2.
#[test]
fn never_accept_makes_connects_time_out() {
    let never = NeverAccept::start();
    assert!(never.addr().ip().is_loopback());
    for _ in 0..2 {
        let start = Instant::now();
        let error = TcpStream::connect_timeout(&never.addr(), Duration::from_millis(300))
            .expect_err("the accept queue is full");
        assert_eq!(error.kind(), ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(250));
    }
}

/// FAULTS row 3: the request is read, then RST.
#[test]
fn reset_before_headers() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send(b"POST /reset/headers HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    let (got, end) = client.read_until_error();
    assert!(got.is_empty());
    assert_eq!(end.expect_err("reset").kind(), ErrorKind::ConnectionReset);
    let seen = tb.journal().requests();
    assert_eq!((seen[0].method.as_str(), seen[0].body_len), ("POST", 3));
}

/// FAULTS row 4: headers promise 1000 bytes, 300 come, then RST.
#[test]
fn reset_mid_body() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send_get("/reset/body");
    let head = client.read_head().expect("headers arrive");
    assert_eq!(head.header("content-length"), Some("1000"));
    let (body, end) = client.read_until_error();
    assert_eq!(body.len(), 300);
    assert_eq!(end.expect_err("reset").kind(), ErrorKind::ConnectionReset);
}

/// FAULTS row 11: 5 of 100 promised bytes, then a clean FIN.
#[test]
fn truncated_body_ends_with_a_clean_close() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send_get("/truncated");
    let head = client.read_head().expect("headers arrive");
    assert_eq!(head.header("content-length"), Some("100"));
    let (body, end) = client.read_until_error();
    assert_eq!(body.len(), 5);
    assert!(end.is_ok(), "{end:?}");
}

/// FAULTS row 12: bytes that are not valid HTTP, then a close.
#[test]
fn invalid_responses() {
    let tb = Testbed::start();
    for (path, starts) in [
        ("/invalid/hello", &b"HELLO\r\n\r\n"[..]),
        ("/invalid/status", b"HTTP/1.1 abc OK\r\n\r\n"),
        ("/invalid/header", b"HTTP/1.1 200 OK\r\nX-Huge: aaaa"),
    ] {
        let mut client = Client::connect(tb.addr());
        client.send_get(path);
        let (got, end) = client.read_until_error();
        assert!(end.is_ok(), "{path}: {end:?}");
        assert!(got.starts_with(starts), "{path}");
        if path == "/invalid/header" {
            assert!(got.len() > 1024 * 1024);
        } else {
            assert_eq!(got, starts, "{path}");
        }
    }
    let mut client = Client::connect(tb.addr());
    client.send_get("/invalid/chunk");
    let (got, _) = client.read_until_error();
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.contains("Transfer-Encoding: chunked\r\n\r\nzz\r\n"),
        "{text}"
    );
}

/// FAULTS rows 5 and 6: nothing for a while, or a body one byte at a time.
#[test]
fn delay_and_trickle_are_slow() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    let start = Instant::now();
    assert_eq!(client.get("/delay/200").status, 200);
    assert!(start.elapsed() >= Duration::from_millis(200));

    let start = Instant::now();
    let trickle = client.get("/trickle/50/4");
    assert_eq!(trickle.body.len(), 4);
    assert!(start.elapsed() >= Duration::from_millis(200));
    // Still keep-alive afterwards.
    assert_eq!(client.get("/json/1").status, 200);
}

/// A client that leaves mid-trickle ends the handler quietly (no panic at
/// drop), and the request leaves the in-flight count.
#[test]
fn trickle_stops_when_the_client_leaves() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send_get("/trickle/10/100000");
    client.read_head().expect("headers arrive");
    drop(client);
    // The journal still serves, and a new request is answered at once.
    assert_eq!(super::client::get(tb.addr(), "/json/1").status, 200);
}

/// Waits until `check` holds, for at most 5 s.
pub(super) fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A client that gives up on a slow response (rows 5 and 6) is no longer in
/// flight on the server, long before the delay would have run out; otherwise
/// a retrying client would show the server more concurrency than it has.
#[test]
fn requests_leave_in_flight_when_the_client_hangs_up() {
    let tb = Testbed::start();
    for path in ["/delay/60000", "/trickle/10000/10"] {
        let mut client = Client::connect(tb.addr());
        client.send_get(path);
        eventually("the request to arrive", || tb.journal().in_flight() == 1);
        drop(client);
        eventually("the handler to notice", || tb.journal().in_flight() == 0);
    }
}

/// Volley's tests are async: starting and dropping the helpers inside a
/// tokio runtime must neither panic nor block it for long.
#[tokio::test]
async fn helpers_work_inside_an_async_test() {
    let never = NeverAccept::start();
    let tb = Testbed::start();
    let stream = tokio::net::TcpStream::connect(tb.addr()).await;
    assert!(stream.is_ok());
    let refused = tokio::net::TcpStream::connect(closed_port()).await;
    assert!(refused.is_err());
    let pending = tokio::time::timeout(
        Duration::from_millis(300),
        tokio::net::TcpStream::connect(never.addr()),
    )
    .await;
    assert!(pending.is_err(), "the connect must still be pending");
    drop((tb, never));
}
