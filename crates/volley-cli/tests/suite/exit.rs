//! Exit statuses: 0 all succeeded, 1 some failed (as `--fail-on` says), 2 usage or input error with nothing sent.

use std::net::SocketAddr;

use serde_json::Value;

use super::support::{by_index, run_args, run_on, Input, Testbed};

#[test]
fn zero_when_every_request_succeeds() {
    let testbed = Testbed::start();
    let input = Input::lines([testbed.url("/json/1"), testbed.url("/status/204")]);
    let run = run_on(&input, &[]);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        run.records.iter().all(|r| r["ok"] == true),
        "{:?}",
        run.records
    );
}

fn with_a_404(testbed: &Testbed) -> Input {
    Input::lines([testbed.url("/json/1"), testbed.url("/status/404")])
}

#[test]
fn one_with_a_404_in_the_batch() {
    let testbed = Testbed::start();
    let input = with_a_404(&testbed);
    let run = run_on(&input, &[]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let not_found = by_index(&run.records)[&1];
    assert_eq!(not_found["status"], 404);
    assert_eq!(not_found["ok"], false);
    assert_eq!(not_found["error"]["kind"], "http_status");
    assert_eq!(not_found["attempts"], 1, "404 is not retried");
}

#[test]
fn zero_with_a_404_when_only_5xx_fail() {
    let testbed = Testbed::start();
    let input = with_a_404(&testbed);
    let run = run_on(&input, &["--fail-on", "5xx"]);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let not_found = by_index(&run.records)[&1];
    assert_eq!(not_found["status"], 404);
    assert_eq!(not_found["ok"], true, "{not_found}");
    assert_eq!(not_found["error"], Value::Null, "{not_found}");
}

#[test]
fn one_with_a_refused_connection() {
    let testbed = Testbed::start();
    let refused: SocketAddr = testbed::closed_port();
    let input = Input::lines([testbed.url("/json/1"), format!("http://{refused}/json/2")]);
    let run = run_on(&input, &["--retries", "0"]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let records = by_index(&run.records);
    assert_eq!(records[&0]["ok"], true);
    let refused = records[&1];
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["status"], Value::Null);
    assert_eq!(refused["error"]["kind"], "connect", "{refused}");
    assert_eq!(refused["attempts"], 1, "--retries 0: {refused}");
    assert_eq!(testbed.journal().total(), 1);
}

/// Runs `volley INPUT ARGS…` where INPUT lists testbed URLs, and checks that
/// it exits 2 with nothing sent, nothing on stdout, and `says` on stderr.
fn usage_error(args: &[&str], says: &[&str]) {
    let testbed = Testbed::start();
    let input = Input::lines([testbed.url("/json/1"), testbed.url("/json/2")]);
    let args = args
        .iter()
        .map(|a| a.replace("{dir}", input.sibling("").to_str().expect("UTF-8")));
    let run = run_args(std::iter::once(input.path().to_owned()).chain(args));
    assert_eq!(run.code, Some(2), "{says:?}; stderr: {}", run.stderr);
    assert_eq!(testbed.journal().total(), 0, "{says:?}: a request was sent");
    assert_eq!(run.stdout, "", "{says:?}");
    for words in says {
        assert!(
            run.stderr.contains(words),
            "stderr lacks {words:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn two_for_a_zero_concurrency() {
    usage_error(&["--concurrency", "0"], &["--concurrency"]);
}

#[test]
fn two_for_a_timeout_that_is_not_a_duration() {
    usage_error(&["--timeout", "soon"], &["--timeout", "soon"]);
}

#[test]
fn two_for_an_unknown_fail_on() {
    usage_error(&["--fail-on", "nonsense"], &["--fail-on", "nonsense"]);
}

#[test]
fn two_for_a_missing_input_file() {
    // The first input is fine; the second is missing: nothing is read or sent.
    usage_error(&["{dir}missing.txt"], &["missing.txt"]);
}

#[test]
fn two_for_an_unwritable_output() {
    usage_error(
        &["-o", "{dir}no/such/dir/out.jsonl"],
        &["no/such/dir/out.jsonl"],
    );
}

#[test]
fn two_for_a_method_that_cannot_be_sent() {
    // `-X` applies to every line: a bad one is a usage error, not one
    // invalid record per line.
    usage_error(&["-X", "NOT A METHOD"], &["NOT A METHOD"]);
}

#[test]
fn two_for_a_bad_ca_file_leaves_an_existing_output_file_alone() {
    let testbed = Testbed::start();
    let input = Input::lines([testbed.url("/json/1")]);
    let pem = input.sibling("bad.pem");
    std::fs::write(&pem, "not a certificate\n").expect("write the PEM file");
    let out = input.sibling("out.jsonl");
    std::fs::write(&out, "earlier records\n").expect("write the output file");
    let run = run_args([
        input.path(),
        "--cacert",
        pem.to_str().expect("UTF-8"),
        "-o",
        out.to_str().expect("UTF-8"),
    ]);
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("certificate"), "stderr: {}", run.stderr);
    assert_eq!(testbed.journal().total(), 0);
    assert_eq!(
        std::fs::read_to_string(&out).expect("the output file is still there"),
        "earlier records\n",
        "a usage error truncated the output file"
    );
}
