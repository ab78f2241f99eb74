//! What an input line asks for and where it ends up: JSON spec fields, the `-X`/`-H`/`-d`/`--json` defaults, stdin.

use serde_json::{json, Value};

use super::support::{by_index, run, run_args, volley, Input, Testbed, FAST};

/// What `/echo` saw, from a record's body.
fn echoed(record: &Value) -> &Value {
    assert_eq!(record["status"], 200, "{record}");
    &record["body"]
}

/// A request header as `/echo` saw it (names are lower-cased there).
fn header<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    echoed(record)["headers"][name].as_str()
}

#[test]
fn json_spec_fields_reach_the_server_and_the_record() {
    let testbed = Testbed::start();
    let put = json!({
        "url": testbed.url("/echo/put"),
        "method": "PUT",
        "headers": {"X-Test": "yes"},
        "json": {"k": [1, 2]},
        "id": "req-1",
        "batch": 7,
        "tags": ["a"],
    });
    let post = json!({
        "url": testbed.url("/echo/post"),
        "method": "POST",
        "headers": [["X-Two", "1"], ["X-Two", "2"]],
        "body": "plain text",
        "id": 2,
    });
    let input = Input::lines([put.to_string(), post.to_string()]);
    let run = run_args([input.path()].into_iter().chain(FAST));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let records = by_index(&run.records);

    let put = records[&0];
    assert_eq!(put["method"], "PUT");
    assert_eq!(put["id"], "req-1");
    assert_eq!(
        put["meta"],
        json!({"batch": 7, "tags": ["a"]}),
        "extra fields go to meta, untouched"
    );
    assert_eq!(
        put.get("headers"),
        None,
        "response headers only with --include-headers"
    );
    let seen = echoed(put);
    assert_eq!(seen["method"], "PUT");
    assert_eq!(seen["path"], "/echo/put");
    assert_eq!(seen["body"], r#"{"k":[1,2]}"#, "json is sent compactly");
    assert_eq!(header(put, "x-test"), Some("yes"));
    assert_eq!(header(put, "content-type"), Some("application/json"));

    let post = records[&1];
    assert_eq!(post["method"], "POST");
    assert_eq!(post["id"], "2", "an integer id is recorded as a string");
    assert_eq!(post.get("meta"), None, "no extra fields, no meta");
    let seen = echoed(post);
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["body"], "plain text");
    assert_eq!(
        header(post, "x-two"),
        Some("1, 2"),
        "a repeated header is sent twice"
    );
    assert_eq!(
        header(post, "content-type"),
        None,
        "a text body gets no JSON content type"
    );

    // The server's own record of the same.
    let journal = testbed.journal();
    assert_eq!(journal.count_method("PUT", "/echo/put"), 1);
    assert_eq!(journal.count_method("POST", "/echo/post"), 1);
    let put_seen = journal
        .requests()
        .into_iter()
        .find(|s| s.path == "/echo/put")
        .expect("the PUT was seen");
    assert_eq!(put_seen.body_len, r#"{"k":[1,2]}"#.len());
    assert_eq!(put_seen.header("x-test"), Some("yes"));
}

#[test]
fn method_header_and_data_defaults_apply_and_a_line_overrides_them() {
    let testbed = Testbed::start();
    let own = json!({
        "url": testbed.url("/echo/own"),
        "method": "DELETE",
        "headers": {"x-over": "own"},
        "body": "own body",
    });
    let inherit = json!({"url": testbed.url("/echo/inherit")});
    let input = Input::lines([
        testbed.url("/echo/url"),
        own.to_string(),
        inherit.to_string(),
    ]);
    let run = run_args(
        [
            input.path(),
            "-X",
            "PATCH",
            "-H",
            "X-Default: d",
            "-H",
            "X-Over: default",
            "-d",
            "default body",
        ]
        .into_iter()
        .chain(FAST),
    );
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let records = by_index(&run.records);

    for index in [0, 2] {
        let record = records[&index];
        assert_eq!(record["method"], "PATCH", "{record}");
        assert_eq!(echoed(record)["method"], "PATCH", "{record}");
        assert_eq!(echoed(record)["body"], "default body", "{record}");
        assert_eq!(header(record, "x-default"), Some("d"), "{record}");
        assert_eq!(header(record, "x-over"), Some("default"), "{record}");
    }

    let own = records[&1];
    assert_eq!(own["method"], "DELETE");
    assert_eq!(echoed(own)["method"], "DELETE");
    assert_eq!(echoed(own)["body"], "own body");
    assert_eq!(
        header(own, "x-default"),
        Some("d"),
        "other defaults still apply"
    );
    assert_eq!(
        header(own, "x-over"),
        Some("own"),
        "the line's header replaces the default"
    );
    assert_eq!(testbed.journal().count_method("PATCH", "/echo/url"), 1);
    assert_eq!(testbed.journal().count_method("DELETE", "/echo/own"), 1);
}

#[test]
fn json_default_sets_the_body_and_content_type_and_a_line_overrides_it() {
    let testbed = Testbed::start();
    let own_json = json!({"url": testbed.url("/echo/own"), "json": {"b": 2}});
    let own_type = json!({
        "url": testbed.url("/echo/typed"),
        "headers": {"Content-Type": "application/vnd.x+json"},
    });
    let input = Input::lines([
        testbed.url("/echo/url"),
        own_json.to_string(),
        own_type.to_string(),
    ]);
    let run = run_args(
        [input.path(), "--json", r#"{"a": 1}"#]
            .into_iter()
            .chain(FAST),
    );
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let records = by_index(&run.records);

    let url_line = records[&0];
    assert_eq!(
        url_line["method"], "POST",
        "a body without -X is a POST, like curl -d"
    );
    assert_eq!(echoed(url_line)["method"], "POST");
    assert_eq!(echoed(url_line)["body"], r#"{"a": 1}"#);
    assert_eq!(header(url_line, "content-type"), Some("application/json"));

    let own_json = records[&1];
    assert_eq!(
        echoed(own_json)["body"],
        r#"{"b":2}"#,
        "the line's json replaces --json"
    );
    assert_eq!(header(own_json, "content-type"), Some("application/json"));

    let own_type = records[&2];
    assert_eq!(echoed(own_type)["body"], r#"{"a": 1}"#);
    assert_eq!(
        header(own_type, "content-type"),
        Some("application/vnd.x+json"),
        "the line's content type is the only one"
    );
}

fn stdin_urls(testbed: &Testbed) -> String {
    (0..3)
        .map(|i| testbed.url(&format!("/json/{i}")) + "\n")
        .collect()
}

fn assert_three_fetched(run: &super::support::Run, testbed: &Testbed) {
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let records = by_index(&run.records);
    assert_eq!(records.keys().copied().collect::<Vec<_>>(), [0, 1, 2]);
    for (i, record) in records {
        assert_eq!(record["body"]["id"], i, "{record}");
    }
    assert_eq!(testbed.journal().total(), 3);
}

#[test]
fn dash_reads_stdin() {
    let testbed = Testbed::start();
    let run = run(volley()
        .arg("-")
        .args(FAST)
        .write_stdin(stdin_urls(&testbed)));
    assert_three_fetched(&run, &testbed);
}

#[test]
fn no_input_argument_reads_a_piped_stdin() {
    let testbed = Testbed::start();
    let run = run(volley().args(FAST).write_stdin(stdin_urls(&testbed)));
    assert_three_fetched(&run, &testbed);
}
