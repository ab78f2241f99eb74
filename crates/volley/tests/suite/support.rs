//! Shared helpers: the record-schema check every outcome goes through, and clients with short timeouts.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use volley::{Backoff, Client, ClientBuilder, ErrorKind, Outcome, RequestSpec, RetryPolicy};

/// The committed record schema, read at compile time so a schema edit
/// rebuilds the tests.
const SCHEMA: &str = include_str!("../../../../schema/record.v1.json");

/// The schema's validator, built once for the whole binary.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::draft202012::new(&schema()).expect("schema/record.v1.json is a valid schema")
    })
}

/// Why `record` violates `schema/record.v1.json`; empty when it conforms.
pub fn schema_errors(record: &Value) -> Vec<String> {
    validator()
        .iter_errors(record)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The schema itself, parsed.
pub fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("schema/record.v1.json is JSON")
}

/// Serialises `outcome` as the one JSON line it is written as, validates the
/// line against `schema/record.v1.json`, checks it reads back as the same
/// record, and returns it as a JSON value for assertions on the wire form.
///
/// Every outcome any test produces goes through here.
pub fn check(outcome: &Outcome) -> Value {
    let line = serde_json::to_string(outcome).expect("an outcome always serialises");
    assert!(!line.contains('\n'), "a record is one line: {line}");
    let record: Value = serde_json::from_str(&line).expect("a record is JSON");
    let errors = schema_errors(&record);
    assert!(
        errors.is_empty(),
        "record violates the schema: {errors:?}\n{line}"
    );
    // A consumer can read the line back into an `Outcome`. (`elapsed_ms` is
    // compared apart: a float may come back one ulp off its printed form.)
    let back: Outcome = serde_json::from_str(&line).expect("a record reads back as an Outcome");
    assert!(
        (back.elapsed_ms - outcome.elapsed_ms).abs() < 1e-6,
        "{line}"
    );
    let mut again = serde_json::to_value(&back).expect("serialise again");
    let mut first = record.clone();
    for value in [&mut again, &mut first] {
        value["elapsed_ms"] = Value::Null;
    }
    assert_eq!(again, first, "a record survives a round trip");
    record
}

/// A backoff short enough that four attempts take milliseconds.
pub fn quick_backoff() -> Backoff {
    Backoff::new(Duration::from_millis(10), Duration::from_millis(50))
}

/// The default retry policy (3 retries, the default retried statuses and
/// idempotency rules) with [`quick_backoff`].
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy::new().backoff(quick_backoff())
}

/// A builder with every default except short timeouts and a quick backoff.
/// The connect timeout outlasts Linux's first SYN resend (1 s), so a SYN a
/// busy test machine drops delays a connection rather than failing it.
pub fn fast() -> ClientBuilder {
    Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(5))
        .retry(quick_retry())
}

/// `fast()`, built.
pub fn client() -> Client {
    fast().build().expect("valid test settings")
}

/// Fetches `spec`, checks the record against the schema, returns the outcome.
pub async fn fetch(client: &Client, spec: RequestSpec) -> Outcome {
    let outcome = client.fetch(spec).await;
    check(&outcome);
    outcome
}

/// Fetches `url` with GET; see [`fetch`].
pub async fn get(client: &Client, url: &str) -> Outcome {
    fetch(client, RequestSpec::get(url)).await
}

/// Asserts a failed record: no response (`status: null`), `ok: false`, the
/// error `kind`, and exactly `attempts` attempts. Returns the error message.
pub fn assert_failed(outcome: &Outcome, kind: ErrorKind, attempts: u32) -> String {
    let record = check(outcome);
    assert_eq!(record["ok"], false, "{record}");
    assert_eq!(record["status"], Value::Null, "{record}");
    assert_eq!(record["error"]["kind"], kind.as_str(), "{record}");
    assert_eq!(record["attempts"], attempts, "{record}");
    assert!(
        record.get("body").is_none() && record.get("body_base64").is_none(),
        "no partial body: {record}"
    );
    assert_eq!(record["bytes"], 0, "no partial body: {record}");
    outcome
        .error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default()
}

/// Asserts a successful record: `ok: true`, `error: null`, `status`, `attempts`.
pub fn assert_ok(outcome: &Outcome, status: u16, attempts: u32) {
    let record = check(outcome);
    assert_eq!(record["ok"], true, "{record}");
    assert_eq!(record["error"], Value::Null, "{record}");
    assert_eq!(record["status"], status, "{record}");
    assert_eq!(record["attempts"], attempts, "{record}");
}

/// Sends `count` requests at once, request `i` made by `spec(i)` and given
/// index `i`, and asserts that each got a 200 at its first attempt.
pub async fn all_ok(client: &Client, count: u64, spec: impl Fn(u64) -> RequestSpec) {
    let specs: Vec<RequestSpec> = (0..count).map(|i| spec(i).with_index(i)).collect();
    for outcome in client.gather(specs).await {
        assert_ok(&outcome, 200, 1);
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a
/// URL carried in a query parameter.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
