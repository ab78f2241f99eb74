//! FAULTS.md row 17 through the command line: a self-signed certificate is a `tls` record and exit 1; `--cacert` makes it pass; `--insecure` passes and the summary says so.

use serde_json::Value;
use testbed::Options;

use super::support::{check, message, run_on, Input, Run, Testbed};

/// The summary's warning when certificates were not verified.
const INSECURE_WARNING: &str = "TLS certificates were NOT verified";

/// A testbed serving HTTPS with a fresh self-signed certificate.
fn tls_testbed() -> Testbed {
    Testbed::start_with(Options {
        tls: true,
        ..Options::default()
    })
}

/// The one record of a one-line run, checked against the schema.
fn only_record(run: &Run) -> &Value {
    assert_eq!(run.records.len(), 1, "stdout: {}", run.stdout);
    let record = &run.records[0];
    check(record);
    record
}

/// Asserts a run that fetched its one URL: exit 0, a 200 in one attempt.
fn assert_passed(run: &Run) {
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let record = only_record(run);
    assert_eq!(record["ok"], true, "{record}");
    assert_eq!(record["status"], 200, "{record}");
    assert_eq!(record["error"], Value::Null, "{record}");
    assert_eq!(record["attempts"], 1, "{record}");
}

/// FAULTS row 17: by default the certificate is refused: one `tls` record,
/// one attempt, nothing reached the server, exit status 1, no warning.
#[test]
fn row17_self_signed_certificate_is_a_tls_failure() {
    let tb = tls_testbed();
    let input = Input::lines([tb.url("/json/1")]);
    let run = run_on(&input, &[]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let record = only_record(&run);
    assert_eq!(record["ok"], false, "{record}");
    assert_eq!(record["status"], Value::Null, "{record}");
    assert_eq!(record["error"]["kind"], "tls", "{record}");
    assert_eq!(record["attempts"], 1, "not retried: {record}");
    assert!(message(record).contains("certificate"), "{record}");
    assert_eq!(tb.journal().total(), 0, "no request got through");
    assert_eq!(tb.journal().connections(), 1, "one attempt");
    assert!(!run.stderr.contains(INSECURE_WARNING), "{}", run.stderr);
}

/// FAULTS row 17: `--cacert` with the testbed's certificate makes it pass.
#[test]
fn row17_cacert_makes_it_pass() {
    let tb = tls_testbed();
    let input = Input::lines([tb.url("/json/1")]);
    let pem = input.sibling("ca.pem");
    std::fs::write(&pem, tb.ca_pem().expect("a TLS testbed has a certificate"))
        .expect("write the PEM file");
    let run = run_on(&input, &["--cacert", pem.to_str().expect("UTF-8")]);
    assert_passed(&run);
    assert_eq!(tb.journal().count("/json/1"), 1);
    assert!(!run.stderr.contains(INSECURE_WARNING), "{}", run.stderr);
}

/// FAULTS row 17: `--insecure` passes, and the summary on stderr says that
/// certificates were not verified.
#[test]
fn row17_insecure_passes_and_says_so() {
    let tb = tls_testbed();
    let input = Input::lines([tb.url("/json/1")]);
    let run = run_on(&input, &["--insecure"]);
    assert_passed(&run);
    assert_eq!(tb.journal().count("/json/1"), 1);
    assert!(run.stderr.contains(INSECURE_WARNING), "{}", run.stderr);
}
