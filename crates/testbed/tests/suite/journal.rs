//! The journal: counts by path and method, what each `Seen` holds, and the
//! in-flight high-water marks overall and per listener.

use testbed::{Options, Testbed};

use super::client::{get, Client};

#[test]
fn counts_by_path_and_method_ignore_the_query() {
    let tb = Testbed::start();
    get(tb.addr(), "/json/1?x=1");
    get(tb.addr(), "/json/1");
    let mut client = Client::connect(tb.addr());
    client.send(b"POST /json/1 HTTP/1.1\r\nContent-Length: 2\r\nX-Custom: Yes\r\n\r\nhi");
    client.read_response().expect("a response");

    let journal = tb.journal();
    assert_eq!(journal.count("/json/1"), 3);
    assert_eq!(journal.count_method("POST", "/json/1"), 1);
    assert_eq!(journal.count_method("GET", "/json/1"), 2);
    assert_eq!(journal.count("/json/2"), 0);
    assert_eq!(journal.total(), 3);

    let seen = journal.requests();
    assert_eq!(seen[0].query.as_deref(), Some("x=1"));
    assert_eq!(seen[1].query, None);
    assert_eq!(seen[2].method, "POST");
    assert_eq!(seen[2].body_len, 2);
    assert_eq!(seen[2].port, tb.addr().port());
    assert_eq!(seen[2].header("x-custom"), Some("Yes"));
    assert!(seen[2].headers.iter().any(|(n, _)| n == "x-custom"));
    assert!(seen[0].at <= seen[1].at && seen[1].at <= seen[2].at);
    assert_ne!(seen[0].connection, seen[1].connection);
}

/// FAULTS row 22's server side: high-water marks of concurrent requests,
/// overall and per listener ("host").
#[test]
fn in_flight_high_water_marks_overall_and_per_listener() {
    let tb = Testbed::start_with(Options {
        listeners: 2,
        ..Options::default()
    });
    let [a, b] = [tb.addrs()[0], tb.addrs()[1]];
    // Five requests that each hold their slot for 300 ms, all sent before any
    // answer is read, so they overlap: three on listener a, two on b.
    let mut clients: Vec<Client> = [a, a, a, b, b].into_iter().map(Client::connect).collect();
    for client in &mut clients {
        client.send_get("/delay/300");
    }
    for client in &mut clients {
        assert_eq!(client.read_response().expect("a response").status, 200);
    }
    let journal = tb.journal();
    assert_eq!(journal.max_in_flight(), 5);
    assert_eq!(journal.max_in_flight_on(a.port()), 3);
    assert_eq!(journal.max_in_flight_on(b.port()), 2);
    assert_eq!(journal.count("/delay/300"), 5);

    // Sequential requests afterwards do not raise the marks.
    get(a, "/json/1");
    assert_eq!(journal.max_in_flight(), 5);
}

#[test]
fn listeners_have_their_own_urls() {
    let tb = Testbed::start_with(Options {
        listeners: 3,
        ..Options::default()
    });
    let addrs = tb.addrs();
    assert_eq!(addrs.len(), 3);
    assert_eq!(tb.addr(), addrs[0]);
    assert_eq!(
        tb.url("/x"),
        format!("http://127.0.0.1:{}/x", addrs[0].port())
    );
    assert_eq!(
        tb.url_on(2, "x"),
        format!("http://127.0.0.1:{}/x", addrs[2].port())
    );
    get(addrs[2], "/json/1");
    assert_eq!(tb.journal().requests()[0].port, addrs[2].port());
}
