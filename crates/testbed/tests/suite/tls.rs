//! HTTPS (FAULTS row 17): the certificate made at start, who trusts it, and
//! the URL grammar, faults and hang-up detection working the same over TLS.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

use testbed::{Options, Testbed};

use super::client::{tls_config, tls_stream, Client};
use super::faults::eventually;

fn tls_testbed() -> Testbed {
    Testbed::start_with(Options {
        tls: true,
        ..Options::default()
    })
}

fn pem(tb: &Testbed) -> String {
    tb.ca_pem().expect("a TLS testbed has a certificate")
}

#[test]
fn plain_testbed_has_no_certificate() {
    let tb = Testbed::start();
    assert_eq!(tb.ca_pem(), None);
    assert!(tb.url("/json/1").starts_with("http://127.0.0.1:"));
}

#[test]
fn urls_are_https_and_each_testbed_has_its_own_certificate() {
    let tb = tls_testbed();
    let url = tb.url("json/1");
    assert_eq!(url, format!("https://{}/json/1", tb.addr()));
    let pem = pem(&tb);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    assert_ne!(pem, self::pem(&tls_testbed()));
}

/// Trusting the certificate is enough, for the address and for `localhost`;
/// keep-alive works over TLS as over TCP.
#[test]
fn a_client_that_trusts_the_certificate_gets_the_grammar() {
    let tb = tls_testbed();
    for name in ["127.0.0.1", "localhost"] {
        let mut client = Client::connect_tls(tb.addr(), name, &pem(&tb));
        let json = client.get("/json/7");
        assert_eq!(json.status, 200);
        assert_eq!(json.json()["id"], 7);
        let big = client.get("/big-chunked/200000");
        assert_eq!((big.status, big.body.len()), (200, 200_000));
        let gone = client.get("/status/404");
        assert_eq!(gone.status, 404);
    }
    assert_eq!(tb.journal().total(), 6);
    assert_eq!(tb.journal().connections(), 2);
    let seen = tb.journal().requests();
    assert_eq!(seen[0].connection, seen[2].connection, "kept alive");
}

/// FAULTS row 17, server side: a client that does not trust the certificate
/// stops at the handshake; the testbed counts the connection, sees no
/// request, and its handler ends quietly (no panic on drop).
#[test]
fn a_client_that_trusts_nothing_refuses_the_handshake() {
    let tb = tls_testbed();
    let error = tls_stream(tb.addr(), "127.0.0.1", tls_config("")).err();
    let error = error.expect("an unknown issuer must fail the handshake");
    let inner = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    assert!(
        matches!(
            inner,
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{error:?}"
    );
    assert_eq!(tb.journal().connections(), 1);
    assert_eq!(tb.journal().total(), 0);
}

/// The certificate names `localhost` and `127.0.0.1`, nothing else.
#[test]
fn another_name_is_refused() {
    let tb = tls_testbed();
    let error = tls_stream(tb.addr(), "example.com", tls_config(&pem(&tb))).err();
    let error = error.expect("a name not on the certificate must fail");
    assert!(error.to_string().contains("not valid for name"), "{error}");
}

/// Plain HTTP to a TLS listener is not answered as HTTP.
#[test]
fn plain_http_to_a_tls_listener_gets_no_response() {
    let tb = tls_testbed();
    let mut stream = TcpStream::connect(tb.addr()).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("set a read timeout");
    stream
        .write_all(b"GET /json/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    assert!(!got.starts_with(b"HTTP/"), "{got:?}");
    assert_eq!(tb.journal().total(), 0);
}

/// Faults keep their shape over TLS: a reset is a TCP RST, a truncated body
/// ends with a clean close, garbage arrives as sent.
#[test]
fn faults_work_over_tls() {
    let tb = tls_testbed();
    let pem = pem(&tb);

    let mut client = Client::connect_tls(tb.addr(), "127.0.0.1", &pem);
    client.send_get("/reset/headers");
    let (got, end) = client.read_until_error();
    assert!(got.is_empty());
    assert_eq!(end.expect_err("reset").kind(), ErrorKind::ConnectionReset);

    let mut client = Client::connect_tls(tb.addr(), "127.0.0.1", &pem);
    client.send_get("/reset/body");
    let head = client.read_head().expect("headers arrive");
    assert_eq!(head.header("content-length"), Some("1000"));
    let (body, end) = client.read_until_error();
    assert_eq!(body.len(), 300);
    assert_eq!(end.expect_err("reset").kind(), ErrorKind::ConnectionReset);

    let mut client = Client::connect_tls(tb.addr(), "127.0.0.1", &pem);
    client.send_get("/truncated");
    let head = client.read_head().expect("headers arrive");
    assert_eq!(head.header("content-length"), Some("100"));
    let (body, end) = client.read_until_error();
    assert_eq!(body.len(), 5);
    assert!(end.is_ok(), "close_notify, then FIN: {end:?}");

    let mut client = Client::connect_tls(tb.addr(), "127.0.0.1", &pem);
    client.send_get("/invalid/hello");
    assert_eq!(
        client.read_to_end().expect("a clean close"),
        b"HELLO\r\n\r\n"
    );
}

/// Slow responses and `Expect: 100-continue` need the server to flush what
/// rustls buffers: every byte must reach the client while it waits.
#[test]
fn interim_and_trickled_bytes_are_flushed() {
    let tb = tls_testbed();
    let mut client = Client::connect_tls(tb.addr(), "127.0.0.1", &pem(&tb));
    client.send(b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(client.read_head().expect("an interim response").status, 100);
    client.send(b"hi");
    let echo = client.read_response().expect("the response");
    assert_eq!(echo.json()["body"], "hi");

    let trickle = client.get("/trickle/20/5");
    assert_eq!((trickle.status, trickle.body.len()), (200, 5));
}

/// A TLS client that gives up on a slow response leaves in flight, whether
/// it just closes the socket or sends `close_notify` first (bytes on the
/// wire, but an end of stream once decrypted).
#[test]
fn requests_leave_in_flight_when_a_tls_client_hangs_up() {
    let tb = tls_testbed();
    for (path, notify) in [
        ("/delay/60000", false),
        ("/delay/60000", true),
        ("/trickle/10000/10", true),
    ] {
        let mut stream =
            tls_stream(tb.addr(), "127.0.0.1", tls_config(&pem(&tb))).expect("a handshake");
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .expect("send");
        stream.flush().expect("send");
        eventually("the request to arrive", || tb.journal().in_flight() == 1);
        if notify {
            stream.conn.send_close_notify();
            stream
                .conn
                .complete_io(&mut stream.sock)
                .expect("send close_notify");
        }
        drop(stream);
        eventually("the handler to notice", || tb.journal().in_flight() == 0);
    }
}
