//! FAULTS.md row 17: HTTPS with a self-signed certificate made in the test. Refused by default (not retried, nothing sent); trusted with `add_root_certificate_pem`; let through with `insecure`.

use std::net::SocketAddr;

use testbed::{Options, Testbed};
use volley::{ErrorKind, RequestSpec};

use super::support::{assert_failed, assert_ok, client, fast, fetch, get};

/// A testbed serving HTTPS with a fresh self-signed certificate.
fn tls_testbed() -> Testbed {
    Testbed::start_with(Options {
        tls: true,
        ..Options::default()
    })
}

fn ca_pem(tb: &Testbed) -> String {
    tb.ca_pem().expect("a TLS testbed has a certificate")
}

/// FAULTS row 17: default settings refuse the unknown issuer. The failure
/// is `tls`, the request is not retried (the certificate will not change),
/// and the server saw one connection and no request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row17_self_signed_certificate_fails_and_is_not_retried() {
    let tb = tls_testbed();
    let url = tb.url("/json/1");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let outcome = get(&client(), &url).await;
    let message = assert_failed(&outcome, ErrorKind::Tls, 1);
    assert!(message.contains("TLS"), "{message}");
    assert!(message.contains("certificate"), "{message}");
    assert_eq!(tb.journal().total(), 0, "no request got through");
    assert_eq!(tb.journal().connections(), 1, "one attempt, no retry");

    // A POST is refused the same way: never sent, so no question of replay.
    let post = fetch(
        &client(),
        RequestSpec::new("POST", url.as_str()).with_body("{}"),
    )
    .await;
    assert_failed(&post, ErrorKind::Tls, 1);
    assert_eq!(tb.journal().total(), 0);
    assert_eq!(tb.journal().connections(), 2);
}

/// FAULTS row 17: trusting the testbed's certificate (`--cacert`) makes the
/// same request pass, by address and by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row17_trusted_certificate_passes() {
    let tb = tls_testbed();
    let trusting = fast()
        .add_root_certificate_pem(ca_pem(&tb))
        // `localhost` is pinned to the testbed: traffic stays on 127.0.0.1.
        .resolve("localhost", tb.addr())
        .build()
        .expect("a valid certificate");

    let outcome = get(&trusting, &tb.url("/json/1")).await;
    assert_ok(&outcome, 200, 1);
    assert_eq!(
        outcome.json::<serde_json::Value>().expect("JSON body")["id"],
        1
    );

    let by_name = format!("https://localhost:{}/json/2", tb.addr().port());
    assert_ok(&get(&trusting, &by_name).await, 200, 1);
    assert_eq!(tb.journal().total(), 2);
}

/// Trusting some other certificate does not help: still `tls`, one attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row17_another_certificate_does_not_help() {
    let tb = tls_testbed();
    let other = tls_testbed();
    let client = fast()
        .add_root_certificate_pem(ca_pem(&other))
        .build()
        .expect("a valid certificate");
    let outcome = get(&client, &tb.url("/json/1")).await;
    assert_failed(&outcome, ErrorKind::Tls, 1);
    assert_eq!(tb.journal().total(), 0);
}

/// FAULTS row 17: `insecure` skips verification and the request passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row17_insecure_passes() {
    let tb = tls_testbed();
    let insecure = fast().insecure(true).build().expect("valid settings");
    let outcome = get(&insecure, &tb.url("/json/1")).await;
    assert_ok(&outcome, 200, 1);
    assert_eq!(tb.journal().count("/json/1"), 1);
}

/// The certificate names only `localhost` and `127.0.0.1`: trusting it does
/// not make another name pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row17_certificate_for_another_name_fails() {
    let tb = tls_testbed();
    let addr: SocketAddr = tb.addr();
    let client = fast()
        .add_root_certificate_pem(ca_pem(&tb))
        // Only the name is wrong; the connection still goes to 127.0.0.1.
        .resolve("api.example.test", addr)
        .build()
        .expect("a valid certificate");
    let url = format!("https://api.example.test:{}/json/1", addr.port());
    let message = assert_failed(&get(&client, &url).await, ErrorKind::Tls, 1);
    assert!(message.contains("not valid for name"), "{message}");
    assert_eq!(tb.journal().total(), 0);
}
