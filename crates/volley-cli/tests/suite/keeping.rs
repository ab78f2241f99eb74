//! What a run keeps besides its records: `--summary-json` against the
//! records, `--failures` (the failed requests as input lines, run again) and
//! `--save-dir` (one file per body).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use super::support::{by_index, read_records, run_args, Input, Testbed, FAST};

/// Counts as the records say, in the shape of `--summary-json`.
fn counts_from(records: &[Value]) -> Value {
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_class: BTreeMap<String, u64> = BTreeMap::new();
    let (mut ok, mut retries, mut bytes) = (0, 0, 0);
    for record in records {
        ok += u64::from(record["ok"] == true);
        retries += record["attempts"]
            .as_u64()
            .expect("attempts")
            .saturating_sub(1);
        bytes += record["bytes"].as_u64().expect("bytes");
        if let Some(kind) = record["error"]["kind"].as_str() {
            *by_kind.entry(kind.to_owned()).or_default() += 1;
        }
        let class = record["status"]
            .as_u64()
            .map_or_else(|| "none".to_owned(), |s| format!("{}xx", s / 100));
        *by_class.entry(class).or_default() += 1;
    }
    let requests = records.len() as u64;
    json!({
        "requests": requests,
        "ok": ok,
        "failed": requests - ok,
        "by_error_kind": by_kind,
        "by_status_class": by_class,
        "retries": retries,
        "bytes": bytes,
    })
}

#[test]
fn summary_json_counts_what_the_records_hold() {
    let testbed = Testbed::start();
    let refused = format!("http://{}/refused", testbed::closed_port());
    let input = Input::lines([
        testbed.url("/json/1"),
        testbed.url("/status/404"),
        testbed.url("/flaky/summary/1/503"),
        refused,
        "not a url".to_owned(),
        testbed.url("/bytes/1000"),
    ]);
    let out = input.sibling("out.jsonl");
    let summary_path = input.sibling("summary.json");
    let run = run_args(
        [
            input.path(),
            "-o",
            out.to_str().expect("UTF-8"),
            "--summary-json",
            summary_path.to_str().expect("UTF-8"),
        ]
        .into_iter()
        .chain(FAST),
    );
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let records = read_records(&out);
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(&summary_path).expect("--summary-json wrote its file"),
    )
    .expect("the summary is JSON");

    let counts = counts_from(&records);
    for field in [
        "requests",
        "ok",
        "failed",
        "by_error_kind",
        "by_status_class",
        "retries",
        "bytes",
    ] {
        assert_eq!(
            summary[field], counts[field],
            "{field}: summary {summary:#}\nrecords {records:#?}"
        );
    }
    // And the batch is what it was built to be, so the equalities above
    // compare real numbers.
    assert_eq!(
        counts["by_error_kind"],
        json!({"connect": 1, "http_status": 1, "invalid_request": 1}),
        "{records:#?}"
    );
    assert_eq!(counts["ok"], 3, "{records:#?}");
    assert!(counts["retries"].as_u64() >= Some(1), "{records:#?}");
    assert_eq!(
        summary["engine"]["retries"], counts["retries"],
        "the engine's retries are the records' extra attempts: {summary:#}"
    );

    let latency = &summary["latency_ms"];
    let ms = |q: &str| {
        latency[q]
            .as_f64()
            .unwrap_or_else(|| panic!("no latency_ms.{q}: {summary:#}"))
    };
    assert!(
        ms("p50") <= ms("p90") && ms("p90") <= ms("p99") && ms("p99") <= ms("max"),
        "{latency}"
    );
    let slowest = records
        .iter()
        .filter(|r| r["attempts"].as_u64() > Some(0))
        .filter_map(|r| r["elapsed_ms"].as_f64())
        .fold(0.0, f64::max);
    assert!(
        (ms("max") - slowest).abs() <= slowest * 0.01 + 0.01,
        "max {} but the slowest record took {slowest} ms",
        ms("max")
    );
}

/// The parts of a request the server saw that a re-run must repeat.
fn seen_key(seen: &testbed::Seen) -> (String, String, Option<String>, usize, Option<String>) {
    (
        seen.method.clone(),
        seen.path.clone(),
        seen.query.clone(),
        seen.body_len,
        seen.header("x-token").map(str::to_owned),
    )
}

#[test]
fn failures_file_runs_again_exactly_the_failed_requests() {
    let testbed = Testbed::start();
    let refused = format!("http://{}/refused", testbed::closed_port());
    // `/echo` answers 200, which `--fail-on …,200` counts as a failure: so
    // these requests fail and their records show what the server received.
    let lines = [
        json!({"url": testbed.url("/echo/a?x=1"), "method": "POST", "headers": {"X-Token": "t1"},
               "body": "hello body", "id": "a", "batch": 7, "tags": ["x"]})
        .to_string(),
        json!({"url": testbed.url("/echo/b"), "method": "PUT", "json": {"k": [1, 2]},
               "id": "b", "owner": "ops"})
        .to_string(),
        testbed.url("/echo/c"),
        testbed.url("/status/404"),
        json!({"url": testbed.url("/status/500"), "method": "DELETE", "id": "d"}).to_string(),
        refused,
        "not a url".to_owned(),
        testbed.url("/status/201"),
        json!({"url": testbed.url("/status/202"), "id": "fine"}).to_string(),
    ];
    let input = Input::lines(&lines);
    let failures = input.sibling("failures.jsonl");
    let failures_arg = failures.to_str().expect("UTF-8");
    let flags = ["--retries", "0", "--fail-on", "error,4xx,5xx,200"];
    let first = run_args(
        [input.path(), "--failures", failures_arg]
            .into_iter()
            .chain(flags)
            .chain(FAST),
    );
    assert_eq!(first.code, Some(1), "stderr: {}", first.stderr);
    let failed: Vec<&Value> = first
        .records
        .iter()
        .filter(|r| r["ok"] == false && r["error"]["kind"] != "invalid_request")
        .collect();
    assert_eq!(failed.len(), 6, "{:#?}", first.records);
    let seen_first: Vec<_> = testbed
        .journal()
        .requests()
        .iter()
        .filter(|s| !s.path.starts_with("/status/20"))
        .map(seen_key)
        .collect();

    // The failures file: one input line per failed request, nothing else.
    let text = std::fs::read_to_string(&failures).expect("--failures wrote its file");
    let spec_lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let mut urls_in_file: Vec<&str> = spec_lines
        .iter()
        .filter_map(|l| l["url"].as_str())
        .collect();
    let mut urls_failed: Vec<&str> = failed.iter().filter_map(|r| r["url"].as_str()).collect();
    urls_in_file.sort_unstable();
    urls_failed.sort_unstable();
    assert_eq!(urls_in_file, urls_failed, "{text}");
    let a = spec_lines
        .iter()
        .find(|l| l["id"] == "a")
        .expect("request a is in the file");
    assert_eq!(
        (&a["batch"], &a["tags"], &a["body"]),
        (&json!(7), &json!(["x"]), &json!("hello body")),
        "{a}"
    );

    // Running the file sends exactly those requests again.
    let before = testbed.journal().total();
    let rerun = run_args([failures_arg].into_iter().chain(flags).chain(FAST));
    assert_eq!(rerun.code, Some(1), "stderr: {}", rerun.stderr);
    assert_eq!(rerun.records.len(), failed.len(), "{:#?}", rerun.records);
    let seen_again: Vec<_> = testbed.journal().requests()[before..]
        .iter()
        .map(seen_key)
        .collect();
    let sorted = |mut v: Vec<_>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(seen_again),
        sorted(seen_first),
        "the re-run sent other requests than the failed ones"
    );

    // And each record of the re-run matches the first one's: id, meta, and
    // for `/echo`, everything the server received (method, path, query,
    // headers, body).
    let key = |r: &Value| (r["id"].clone(), r["url"].clone(), r["method"].clone());
    let firsts: BTreeMap<String, &Value> = failed
        .iter()
        .map(|r| (format!("{:?}", key(r)), *r))
        .collect();
    for again in &rerun.records {
        let first = firsts.get(&format!("{:?}", key(again))).unwrap_or_else(|| {
            panic!("the re-run made a request the first run did not fail: {again}")
        });
        assert_eq!(again.get("meta"), first.get("meta"), "{again}\n{first}");
        assert_eq!(again["error"]["kind"], first["error"]["kind"], "{again}");
        if again["url"].as_str().is_some_and(|u| u.contains("/echo/")) {
            assert_eq!(again["body"], first["body"], "what /echo received differs");
        }
    }
    let b = rerun
        .records
        .iter()
        .find(|r| r["id"] == "b")
        .expect("request b ran again");
    assert_eq!(b["meta"], json!({"owner": "ops"}), "{b}");
    assert_eq!(b["body"]["body"], r#"{"k":[1,2]}"#, "{b}");
    assert_eq!(
        b["body"]["headers"]["content-type"], "application/json",
        "{b}"
    );
}

#[test]
fn save_dir_keeps_each_body_as_served() {
    let testbed = Testbed::start();
    let input = Input::lines([
        json!({"url": testbed.url("/bytes/1000"), "id": "blob"}).to_string(),
        json!({"url": testbed.url("/json/7"), "id": "user-7"}).to_string(),
        testbed.url("/bytes/5"),
        testbed.url("/json/3"),
        testbed.url("/text/hello"),
        json!({"url": testbed.url("/json/9"), "id": "x/y"}).to_string(),
    ]);
    let dir = input.sibling("bodies");
    let run = run_args(
        [input.path(), "--save-dir", dir.to_str().expect("UTF-8")]
            .into_iter()
            .chain(FAST),
    );
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let pattern = |n: u64| (0..n).map(testbed::pattern_byte).collect::<Vec<u8>>();
    let expected: [(&str, Vec<u8>); 6] = [
        ("blob.bin", pattern(1000)),
        ("user-7.json", testbed::json_item("7").into_bytes()),
        ("2.bin", pattern(5)),
        ("3.json", testbed::json_item("3").into_bytes()),
        ("4.txt", testbed::text_line("hello").into_bytes()),
        ("x_y-5.json", testbed::json_item("9").into_bytes()),
    ];
    let records = by_index(&run.records);
    assert_eq!(records.len(), expected.len());
    for ((index, record), (name, bytes)) in records.into_iter().zip(expected) {
        let object = record.as_object().expect("a record is an object");
        assert!(
            !object.contains_key("body") && !object.contains_key("body_base64"),
            "a saved body is not in the record too: {record}"
        );
        let path = Path::new(
            record["body_path"]
                .as_str()
                .unwrap_or_else(|| panic!("record {index} has no body_path: {record}")),
        );
        assert_eq!(path, dir.join(name), "{record}");
        let saved = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            saved == bytes,
            "{} differs from what was served",
            path.display()
        );
        assert_eq!(record["bytes"], bytes.len(), "{record}");
    }
}

#[test]
fn save_dir_with_body_is_a_usage_error() {
    let testbed = Testbed::start();
    let input = Input::lines([testbed.url("/json/1")]);
    let dir = input.sibling("bodies");
    let run = run_args([
        input.path(),
        "--save-dir",
        dir.to_str().expect("UTF-8"),
        "--body",
        "none",
    ]);
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("--body"), "{}", run.stderr);
    assert_eq!(testbed.journal().total(), 0, "a usage error sends nothing");
}
