//! `--template URL --values FILE`: what the server sees for hard values in
//! the path, query, headers and body, and the records' `id` and `meta`.

use serde_json::{json, Value};

use super::support::{by_index, message, run, run_args, volley, Input, Testbed, FAST};

/// A file named `rows.csv` (the extension picks the format) holding
/// `content`, with the `Input` that owns its directory.
fn csv_file(content: &[u8]) -> (Input, String) {
    let dir = Input::bytes(b"");
    let path = dir.sibling("rows.csv");
    std::fs::write(&path, content).expect("write the values file");
    let path = path.to_str().expect("UTF-8 temp path").to_owned();
    (dir, path)
}

/// What `/echo` saw, from a record's body.
fn echoed(record: &Value) -> &Value {
    assert_eq!(record["status"], 200, "{record}");
    &record["body"]
}

#[test]
fn csv_values_are_encoded_for_the_path_query_headers_and_body() {
    let testbed = Testbed::start();
    // Quoted fields with commas, doubled quotes and a newline; a value in
    // every position. Rows 6 to 8 cannot be sent.
    let (_dir, values) = csv_file(
        b"id,v,n\n\
          1,a b,42\n\
          2,a/b?c#d%e,007\n\
          3,\"&=+, \"\"q\"\" 'x'\",true\n\
          4,\xc3\xa9\xe4\xb8\xad,x y\n\
          5,,null\n\
          6,\"line\nbreak\",1\n\
          7,..,2\n\
          1,dup,3\n",
    );
    let template = testbed.url("/echo/p/{v}/end") + "?q={v}&k=1#f-{v}";
    let run = run_args(
        [
            "--template",
            &template,
            "--values",
            &values,
            "--id-column",
            "id",
            "-H",
            "X-V: <{v}>",
            "--json",
            r#"{"v": "{v}", "n": {n}}"#,
        ]
        .into_iter()
        .chain(FAST),
    );
    assert_eq!(
        run.code,
        Some(1),
        "invalid rows make the run fail; stderr: {}",
        run.stderr
    );
    let records = by_index(&run.records);
    assert_eq!(records.len(), 8, "one record per row");

    // (encoded in the URL, raw, JSON-escaped, inserted bare)
    let sent = [
        ("a%20b", "a b", "a b", "42"),
        ("a%2Fb%3Fc%23d%25e", "a/b?c#d%e", "a/b?c#d%e", r#""007""#),
        (
            "%26%3D%2B%2C%20%22q%22%20%27x%27",
            r#"&=+, "q" 'x'"#,
            r#"&=+, \"q\" 'x'"#,
            "true",
        ),
        ("%C3%A9%E4%B8%AD", "é中", "é中", r#""x y""#),
        ("", "", "", "null"),
    ];
    let raw_values = ["a b", "a/b?c#d%e", r#"&=+, "q" 'x'"#, "é中", ""];
    let ns = ["42", "007", "true", "x y", "null"];
    for (i, (encoded, raw, escaped, bare)) in sent.into_iter().enumerate() {
        let record = records[&(i as u64)];
        let id = (i + 1).to_string();
        assert_eq!(record["id"], id.as_str(), "{record}");
        assert_eq!(
            record["meta"],
            json!({"id": id, "v": raw_values[i], "n": ns[i]}),
            "meta is the row, as strings"
        );
        assert_eq!(record["method"], "POST", "a body without -X is a POST");
        assert_eq!(
            record["url"],
            format!(
                "{}{encoded}/end?q={encoded}&k=1#f-{encoded}",
                testbed.url("/echo/p/")
            ),
        );
        let seen = echoed(record);
        assert_eq!(seen["path"], format!("/echo/p/{encoded}/end"), "{record}");
        assert_eq!(seen["query"], format!("q={encoded}&k=1"), "{record}");
        assert_eq!(seen["headers"]["x-v"], format!("<{raw}>"), "{record}");
        assert_eq!(seen["headers"]["content-type"], "application/json");
        assert_eq!(
            seen["body"],
            format!(r#"{{"v": "{escaped}", "n": {bare}}}"#),
            "{record}"
        );
    }

    let invalid = |index: u64| {
        let record = records[&index];
        assert_eq!(record["error"]["kind"], "invalid_request", "{record}");
        assert_eq!(record["attempts"], 0);
        record
    };
    let path = &values;
    assert_eq!(
        message(invalid(5)),
        format!("{path} row 6 (line 7): the value for {{v}} contains a control character, which a header cannot carry")
    );
    assert_eq!(invalid(5)["meta"]["v"], "line\nbreak");
    assert_eq!(
        message(invalid(6)),
        format!("{path} row 7 (line 9): the value for {{v}} makes a path segment \".\" or \"..\", which would change the path")
    );
    assert_eq!(
        message(invalid(7)),
        format!(
            "{path} row 8 (line 10): duplicate id \"1\": an id may appear only once in the input"
        )
    );
    assert_eq!(invalid(7)["id"], "1");

    // The server saw the five good rows and nothing else.
    let journal = testbed.journal();
    assert_eq!(journal.total(), 5);
    let mut paths: Vec<String> = journal.requests().into_iter().map(|s| s.path).collect();
    paths.sort();
    let mut want: Vec<String> = [
        "a%20b",
        "a%2Fb%3Fc%23d%25e",
        "%26%3D%2B%2C%20%22q%22%20%27x%27",
        "%C3%A9%E4%B8%AD",
        "",
    ]
    .iter()
    .map(|e| format!("/echo/p/{e}/end"))
    .collect();
    want.sort();
    assert_eq!(paths, want);
}

#[test]
fn json_lines_values_from_stdin_keep_their_types() {
    let testbed = Testbed::start();
    let rows = [
        json!({"id": 7, "tags": ["a", 1], "name": "Ada"}),
        json!({"id": "8", "tags": null, "name": "Bo"}),
        json!({"id": "9", "tags": [], "name": "Cy \"c\""}),
    ];
    let stdin: String = rows.iter().map(|row| format!("{row}\n")).collect();
    let run = run(volley()
        .args([
            "--template",
            &(testbed.url("/echo/u/{id}") + "?name={name}"),
            "--values",
            "-",
            "--values-format",
            "jsonl",
            "--id-column",
            "id",
            "-X",
            "PUT",
            "--json",
            r#"{"id": {id}, "tags": {tags}, "name": "{name}"}"#,
        ])
        .args(FAST)
        .write_stdin(stdin));
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let records = by_index(&run.records);

    let first = records[&0];
    assert_eq!(first["id"], "7");
    assert_eq!(
        first["meta"], rows[0],
        "meta is the row's object, untouched"
    );
    let seen = echoed(first);
    assert_eq!(seen["method"], "PUT");
    assert_eq!(seen["path"], "/echo/u/7");
    assert_eq!(seen["query"], "name=Ada");
    assert_eq!(seen["body"], r#"{"id": 7, "tags": ["a",1], "name": "Ada"}"#);

    let second = records[&1];
    assert_eq!(second["error"]["kind"], "invalid_request");
    assert_eq!(message(second), "stdin row 2 (line 2): no value for {tags}");
    assert_eq!(second["meta"], rows[1]);

    let third = echoed(records[&2]);
    assert_eq!(third["query"], "name=Cy%20%22c%22");
    assert_eq!(
        third["body"], r#"{"id": "9", "tags": [], "name": "Cy \"c\""}"#,
        "a string id stays a string"
    );
    assert_eq!(testbed.journal().total(), 2);
}

#[test]
fn a_column_the_header_lacks_is_a_usage_error_and_nothing_is_sent() {
    let testbed = Testbed::start();
    let (dir, values) = csv_file(b"id,name\n1,a\n");
    let output = dir.sibling("out.jsonl");
    std::fs::write(&output, "kept\n").expect("write the old output");
    let template = testbed.url("/echo/{id}?lang={lang}");
    let run = run_args([
        "--template",
        &template,
        "--values",
        &values,
        "-o",
        output.to_str().expect("UTF-8 temp path"),
    ]);
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "{{lang}} in --template: {values} has no column \"lang\"; its header has \"id\", \"name\""
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&output).expect("read"),
        "kept\n",
        "a usage error leaves the output file alone"
    );

    // A template that does not parse, and --template with input files.
    for args in [
        vec!["--template", "http://127.0.0.1:1/{id", "--values", &values],
        vec![
            "--template",
            "http://127.0.0.1:1/{id}",
            "--values",
            &values,
            "urls.txt",
        ],
        vec!["--template", "http://127.0.0.1:1/{id}", "--values", "-"],
    ] {
        let run = run_args(&args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.records.is_empty());
    }
    assert_eq!(testbed.journal().total(), 0);
}
