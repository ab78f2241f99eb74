//! `--proxy` and the proxy environment (`HTTP_PROXY`, `NO_PROXY`…), with the
//! testbed as the proxy.

use serde_json::Value;

use super::support::{run, volley, Input, Testbed, FAST};

/// The proxy settings a test must not inherit from its environment.
const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// `volley` with no proxy settings from the environment.
fn volley_without_proxy_env() -> assert_cmd::Command {
    let mut cmd = volley();
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// A URL on a name that never resolves (RFC 6761): only a proxy can answer it.
const UNRESOLVABLE: &str = "http://api.invalid/echo/proxied?q=1";

/// The testbed acts as the proxy: it takes the absolute-form request target
/// (`GET http://api.invalid/echo/proxied?q=1 HTTP/1.1`) a client sends to an
/// HTTP proxy and answers it as its own path.
fn assert_proxied(testbed: &Testbed, record: &Value) {
    assert_eq!(record["ok"], true, "{record}");
    assert_eq!(record["url"], UNRESOLVABLE, "{record}");
    assert_eq!(record["body"]["path"], "/echo/proxied", "{record}");
    assert_eq!(record["body"]["headers"]["host"], "api.invalid", "{record}");
    let seen = testbed.journal().requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(
        (
            seen[0].path.as_str(),
            seen[0].query.as_deref(),
            seen[0].header("host")
        ),
        ("/echo/proxied", Some("q=1"), Some("api.invalid"))
    );
}

#[test]
fn proxy_flag_sends_every_request_through_the_proxy() {
    let proxy = Testbed::start();
    let input = Input::lines([UNRESOLVABLE]);
    let run = run(volley_without_proxy_env()
        .args([input.path(), "--proxy", &proxy.url("")])
        .args(FAST));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_proxied(&proxy, &run.records[0]);
}

#[test]
fn http_proxy_from_the_environment_and_no_proxy() {
    let proxy = Testbed::start();
    let input = Input::lines([UNRESOLVABLE]);
    let through = run(volley_without_proxy_env()
        .arg(input.path())
        .args(FAST)
        .env("HTTP_PROXY", proxy.url("")));
    assert_eq!(through.code, Some(0), "stderr: {}", through.stderr);
    assert_proxied(&proxy, &through.records[0]);

    let bypassed = run(volley_without_proxy_env()
        .arg(input.path())
        .args(FAST)
        .env("HTTP_PROXY", proxy.url(""))
        .env("NO_PROXY", "api.invalid"));
    assert_eq!(bypassed.code, Some(1), "stderr: {}", bypassed.stderr);
    let record = &bypassed.records[0];
    assert_eq!(record["error"]["kind"], "dns", "{record}");
    assert_eq!(
        proxy.journal().total(),
        1,
        "NO_PROXY: the proxy saw nothing more"
    );
}
