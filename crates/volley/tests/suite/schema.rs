//! The record schema itself: it describes exactly what `Outcome` writes, and rejects what it never writes.

use std::collections::BTreeSet;

use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use volley::{ErrorInfo, ErrorKind, Outcome, RequestSpec};

use super::support::{check, schema, schema_errors};

/// An outcome with every optional field set (the body as JSON).
fn full_outcome() -> Outcome {
    let mut headers = Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    let mut meta = Map::new();
    meta.insert("row".into(), json!(3));
    Outcome {
        index: 3,
        id: Some("a".into()),
        method: "GET".into(),
        url: "http://127.0.0.1:1/redirect/1".into(),
        final_url: Some("http://127.0.0.1:1/redirect/0".into()),
        status: Some(503),
        ok: false,
        attempts: 4,
        elapsed_ms: 12.5,
        bytes: 2,
        headers: Some(headers),
        body: Some(RawValue::from_string("{}".into()).expect("valid JSON")),
        body_base64: None,
        error: Some(ErrorInfo {
            kind: ErrorKind::HttpStatus,
            message: "HTTP 503 Service Unavailable".into(),
        }),
        meta: Some(meta),
        body_path: None,
        request: None,
        raw_body: None,
        save_error: None,
    }
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

/// The schema's `error.kind` enum is the closed `ErrorKind` list, in order.
#[test]
fn schema_names_every_error_kind() {
    let schema = schema();
    let kinds = &schema["properties"]["error"]["oneOf"][1]["properties"]["kind"]["enum"];
    let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(kinds, &json!(names));
}

/// The schema's properties are exactly the fields an `Outcome` can write, and
/// its required fields exactly those it always writes.
#[test]
fn schema_fields_match_outcome() {
    let schema = schema();
    let full = check(&full_outcome());
    let binary = check(&Outcome {
        body: None,
        body_base64: Some("/wA=".into()),
        ..full_outcome()
    });
    // With --save-dir the CLI records where the body went instead.
    let saved = check(&Outcome {
        body: None,
        body_path: Some("bodies/0.json".into()),
        ..full_outcome()
    });
    let written: BTreeSet<String> = keys(&full)
        .union(&keys(&binary))
        .cloned()
        .chain(keys(&saved))
        .collect();
    assert_eq!(keys(&schema["properties"]), written);

    let minimal = check(&Outcome::invalid(
        &RequestSpec::get("ftp://x"),
        "unsupported scheme",
    ));
    let required: BTreeSet<String> = schema["required"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a name").to_owned())
        .collect();
    assert_eq!(required, keys(&minimal));
}

/// A change that makes a valid record invalid.
type Spoil = fn(&mut Value);

/// Records that `Outcome` never writes are rejected, so the check that
/// every test runs can fail.
#[test]
fn schema_rejects_what_outcome_never_writes() {
    let good = check(&full_outcome());
    assert!(schema_errors(&good).is_empty());
    let broken: [(&str, Spoil); 10] = [
        ("an unknown field", |r| r["extra"] = json!(1)),
        ("an unknown kind", |r| r["error"]["kind"] = json!("oops")),
        ("an error without message", |r| {
            r["error"] = json!({"kind": "dns"});
        }),
        ("a missing field", |r| {
            r.as_object_mut().map(|o| o.remove("attempts"));
        }),
        ("a status out of range", |r| r["status"] = json!(42)),
        ("a negative index", |r| r["index"] = json!(-1)),
        ("ok with an error", |r| r["ok"] = json!(true)),
        ("not ok without an error", |r| r["error"] = Value::Null),
        ("ok without a status", |r| {
            r["ok"] = json!(true);
            r["error"] = Value::Null;
            r["status"] = Value::Null;
        }),
        ("a body twice", |r| r["body_base64"] = json!("e30=")),
    ];
    for (what, spoil) in broken {
        let mut record = good.clone();
        spoil(&mut record);
        assert!(
            !schema_errors(&record).is_empty(),
            "{what} was accepted: {record}"
        );
    }
}
