//! Connection handling: keep-alive, pipelining, `Connection: close`,
//! HTTP/1.0, HEAD, request bodies, malformed requests and idle close.

use std::time::Duration;

use testbed::{Options, Testbed};

use super::client::Client;

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    for i in 0..5 {
        let response = client.get(&format!("/json/{i}"));
        assert_eq!(response.status, 200);
        assert_eq!(response.json()["id"], i);
        assert_eq!(response.header("connection"), None);
    }
    let seen = tb.journal().requests();
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|s| s.connection == seen[0].connection));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send(
        b"GET /text/a HTTP/1.1\r\n\r\nGET /text/b HTTP/1.1\r\n\r\nGET /json/c HTTP/1.1\r\n\r\n",
    );
    let a = client.read_response().expect("first");
    let b = client.read_response().expect("second");
    let c = client.read_response().expect("third");
    assert_eq!(
        a.body,
        b"text a: the quick brown fox jumps over the lazy dog\n"
    );
    assert!(String::from_utf8_lossy(&b.body).starts_with("text b:"));
    assert_eq!(c.json()["id"], "c");
}

#[test]
fn connection_close_is_honoured() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send(b"GET /json/1 HTTP/1.1\r\nConnection: close\r\n\r\n");
    let response = client.read_response().expect("a response");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(client.read_to_end().expect("a clean close"), b"");
}

#[test]
fn http_1_0_closes_unless_asked_to_keep_alive() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send(b"GET /json/1 HTTP/1.0\r\n\r\n");
    assert_eq!(client.read_response().expect("a response").status, 200);
    assert_eq!(client.read_to_end().expect("a clean close"), b"");
}

#[test]
fn http_1_0_keep_alive_is_acknowledged() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    for _ in 0..2 {
        client.send(b"GET /json/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let response = client.read_response().expect("a response");
        assert_eq!(response.header("connection"), Some("keep-alive"));
    }
}

#[test]
fn head_gets_headers_without_a_body() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send(b"HEAD /bytes/100 HTTP/1.1\r\n\r\n");
    let head = client.read_head().expect("a head");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("100"));
    // No body followed: the next response starts right away.
    let next = client.get("/status/204");
    assert_eq!(next.status, 204);
    assert!(next.body.is_empty());
}

#[test]
fn chunked_request_bodies_are_read_in_full() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send(b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    let response = client.read_response().expect("a response");
    assert_eq!(response.json()["body"], "hello world");
    // The connection is still usable after a chunked body.
    assert_eq!(client.get("/json/2").status, 200);
    assert_eq!(tb.journal().requests()[0].body_len, 11);
}

#[test]
fn expect_100_continue_gets_an_interim_response() {
    let tb = Testbed::start();
    let mut client = Client::connect(tb.addr());
    client.send(b"PUT /echo HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(client.read_response().expect("interim").status, 100);
    client.send(b"abc");
    assert_eq!(client.read_response().expect("final").json()["body"], "abc");
}

#[test]
fn malformed_requests_get_400_and_a_close() {
    let tb = Testbed::start();
    for raw in [
        &b"NOT HTTP AT ALL\r\n\r\n"[..],
        b"POST /echo HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let mut client = Client::connect(tb.addr());
        client.send(raw);
        let response = client.read_response().expect("a 400");
        assert_eq!(response.status, 400, "{}", String::from_utf8_lossy(raw));
        assert_eq!(response.header("connection"), Some("close"));
        assert_eq!(client.read_to_end().expect("a clean close"), b"");
    }
}

/// FAULTS row 21: a keep-alive connection idle past `idle_close` is closed.
#[test]
fn idle_connections_are_closed_after_idle_close() {
    let tb = Testbed::start_with(Options {
        idle_close: Some(Duration::from_millis(200)),
        ..Options::default()
    });
    let mut client = Client::connect(tb.addr());
    assert_eq!(client.get("/json/1").status, 200);
    let start = std::time::Instant::now();
    assert_eq!(client.read_to_end().expect("a clean close"), b"");
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "{:?}",
        start.elapsed()
    );
}
