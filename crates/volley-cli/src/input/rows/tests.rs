//! Rows → items: ids, meta, the request each row asks for, and the rows
//! that become `invalid_request` records, with their exact messages.

use serde_json::json;
use volley::ErrorKind;

use super::*;

const URL: &str = "http://h.test/users/{id}?lang={lang}";

fn template(url: &str, defaults: &Defaults, id_column: Option<&str>) -> RequestTemplate {
    RequestTemplate::new(url, defaults, id_column.map(str::to_owned)).expect("valid template")
}

fn map(value: serde_json::Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// The items for `rows` (numbered from 1, on line number + 1), read as the
/// CSV `rows.csv` or, `typed`, as JSON lines.
fn items(
    template: RequestTemplate,
    typed: bool,
    rows: Vec<Result<serde_json::Value, &str>>,
) -> Vec<Item> {
    let mut parser = RowParser::new(template, "rows.csv", typed);
    (1..)
        .zip(rows)
        .map(|(number, fields)| {
            parser.parse(Row {
                number,
                line: number + 1,
                fields: fields.map(map).map_err(str::to_owned),
            })
        })
        .collect()
}

fn spec(item: &Item) -> &RequestSpec {
    match item {
        Item::Spec(spec) => spec,
        Item::Invalid(outcome) => panic!("expected a spec, got {:?}", outcome.error),
    }
}

fn invalid(item: &Item) -> (&Outcome, &str) {
    match item {
        Item::Invalid(outcome) => {
            assert_eq!(outcome.error_kind(), Some(ErrorKind::InvalidRequest));
            (
                outcome,
                outcome.error.as_ref().map_or("", |e| e.message.as_str()),
            )
        }
        Item::Spec(spec) => panic!("expected an invalid record, got {spec:?}"),
    }
}

#[test]
fn each_row_is_one_get_with_its_index_id_and_meta() {
    let template = template(URL, &Defaults::default(), Some("id"));
    let items = items(
        template,
        false,
        vec![
            Ok(json!({"id": "7", "lang": "en", "extra": "x y"})),
            Ok(json!({"id": "a/b", "lang": "pt BR"})),
        ],
    );
    let first = spec(&items[0]);
    assert_eq!(
        (
            first.index,
            first.id.as_deref(),
            first.method.as_str(),
            first.url.as_str()
        ),
        (0, Some("7"), "GET", "http://h.test/users/7?lang=en")
    );
    assert_eq!(first.headers, []);
    assert_eq!(first.body, None);
    assert_eq!(
        first.meta,
        Some(map(json!({"id": "7", "lang": "en", "extra": "x y"}))),
        "every column, as a string"
    );
    let second = spec(&items[1]);
    assert_eq!(
        (second.index, second.id.as_deref(), second.url.as_str()),
        (1, Some("a/b"), "http://h.test/users/a%2Fb?lang=pt%20BR")
    );
}

#[test]
fn headers_and_bodies_are_filled_and_a_json_body_gets_its_content_type() {
    let defaults = Defaults {
        method: None,
        headers: vec![
            ("Authorization".to_owned(), "Bearer {token}".to_owned()),
            ("X-Literal".to_owned(), "{{not}} a placeholder".to_owned()),
        ],
        body: Some(Bytes::from_static(
            br#"{"name": "{name}", "id": {id}, "n": {n}}"#,
        )),
        json_body: true,
    };
    let template = template("http://h.test/u/{id}", &defaults, None);
    let items = items(
        template,
        false,
        vec![Ok(
            json!({"id": "42", "name": "Ada \"the\" first", "n": "007", "token": "t/k=="}),
        )],
    );
    let spec = spec(&items[0]);
    assert_eq!(spec.method, "POST", "a body without -X is a POST");
    assert_eq!(spec.id, None, "no --id-column, no id");
    assert_eq!(
        spec.headers,
        [
            ("Authorization".to_owned(), "Bearer t/k==".to_owned()),
            ("X-Literal".to_owned(), "{not} a placeholder".to_owned()),
            ("Content-Type".to_owned(), "application/json".to_owned()),
        ]
    );
    assert_eq!(
        spec.body.as_deref(),
        Some(&br#"{"name": "Ada \"the\" first", "id": 42, "n": "007"}"#[..])
    );
}

#[test]
fn a_raw_body_and_an_explicit_method_and_content_type() {
    let defaults = Defaults {
        method: Some("PUT".to_owned()),
        headers: vec![("content-type".to_owned(), "text/plain".to_owned())],
        body: Some(Bytes::from_static(b"name={name}")),
        json_body: false,
    };
    let template = template("http://h.test/u", &defaults, None);
    let items = items(template, false, vec![Ok(json!({"name": "a&b \"c\""}))]);
    let spec = spec(&items[0]);
    assert_eq!(spec.method, "PUT");
    assert_eq!(spec.headers.len(), 1);
    assert_eq!(spec.body.as_deref(), Some(&b"name=a&b \"c\""[..]));
}

#[test]
fn json_lines_values_keep_their_types() {
    let defaults = Defaults {
        body: Some(Bytes::from_static(
            br#"{"id": {id}, "s": "{id}", "tags": {tags}}"#,
        )),
        json_body: true,
        ..Defaults::default()
    };
    let template = template("http://h.test/u/{id}?t={tags}", &defaults, Some("id"));
    let items = items(
        template,
        true,
        vec![
            Ok(json!({"id": 7, "tags": ["a", 1], "n": null})),
            Ok(json!({"id": "7x", "tags": "plain"})),
        ],
    );
    let first = spec(&items[0]);
    assert_eq!(
        first.id.as_deref(),
        Some("7"),
        "an integer id is its decimal text"
    );
    assert_eq!(first.url, "http://h.test/u/7?t=%5B%22a%22%2C1%5D");
    assert_eq!(
        first.body.as_deref(),
        Some(&br#"{"id": 7, "s": "7", "tags": ["a",1]}"#[..])
    );
    assert_eq!(
        first.meta,
        Some(map(json!({"id": 7, "tags": ["a", 1], "n": null}))),
        "meta is the row's object, values untouched"
    );
    let second = spec(&items[1]);
    assert_eq!(
        second.body.as_deref(),
        Some(&br#"{"id": "7x", "s": "7x", "tags": "plain"}"#[..])
    );
}

#[test]
fn rows_that_cannot_fill_the_template_become_invalid_records() {
    let defaults = Defaults {
        headers: vec![("X-Name".to_owned(), "{name}".to_owned())],
        ..Defaults::default()
    };
    let template = template("http://h.test:{port}/users/{id}", &defaults, None);
    let items = items(
        template,
        true,
        vec![
            Ok(json!({"id": "1", "name": "a", "port": 80})),
            Ok(json!({"name": "a", "port": 80})),
            Ok(json!({"id": null, "name": "a", "port": 80})),
            Err("3 fields, but the header has 2"),
            Ok(json!({"id": "1", "name": "a\r\nX-Evil: 1", "port": 80})),
            Ok(json!({"id": "1", "name": "a", "port": "http"})),
            Ok(json!({"id": "..", "name": "a", "port": 80})),
        ],
    );
    assert_eq!(spec(&items[0]).url, "http://h.test:80/users/1");
    let want = [
        (1, "rows.csv row 2 (line 3): no value for {id}"),
        (2, "rows.csv row 3 (line 4): no value for {id}"),
        (3, "rows.csv row 4 (line 5): 3 fields, but the header has 2"),
        (
            4,
            "rows.csv row 5 (line 6): the value for {name} contains a control character, which a header cannot carry",
        ),
        (
            5,
            "rows.csv row 6 (line 7): not a URL (invalid port number): http://h.test:http/users/1",
        ),
        (
            6,
            "rows.csv row 7 (line 8): the value for {id} makes a path segment \".\" or \"..\", which would change the path",
        ),
    ];
    for (index, message) in want {
        let (outcome, got) = invalid(&items[index]);
        assert_eq!(got, message);
        assert_eq!(outcome.index, index as u64);
        assert_eq!(outcome.method, "GET");
    }
    // What the record shows of an invalid row: the template, or the URL as
    // filled when it got that far, and the row's columns.
    let (missing, _) = invalid(&items[1]);
    assert_eq!(missing.url, "http://h.test:{port}/users/{id}");
    assert_eq!(missing.meta, Some(map(json!({"name": "a", "port": 80}))));
    let (unreadable, _) = invalid(&items[3]);
    assert_eq!(
        (unreadable.url.as_str(), &unreadable.meta),
        ("http://h.test:{port}/users/{id}", &None)
    );
    let (control, _) = invalid(&items[4]);
    assert_eq!(control.url, "http://h.test:80/users/1");
    let (bad_port, _) = invalid(&items[5]);
    assert_eq!(bad_port.url, "http://h.test:http/users/1");
}

#[test]
fn a_repeated_id_is_invalid_and_an_invalid_row_still_uses_its_id() {
    let template = template(URL, &Defaults::default(), Some("id"));
    let items = items(
        template,
        true,
        vec![
            Ok(json!({"id": "k", "lang": "en"})),
            Ok(json!({"id": "k", "lang": "fr"})),
            Ok(json!({"id": 5})),
            Ok(json!({"id": "5", "lang": "de"})),
            Ok(json!({"lang": "de"})),
            Ok(json!({"id": 1.5, "lang": "de"})),
            Ok(json!({"id": "", "lang": "de"})),
        ],
    );
    spec(&items[0]);
    let want = [
        (1, "rows.csv row 2 (line 3): duplicate id \"k\": an id may appear only once in the input"),
        (2, "rows.csv row 3 (line 4): no value for {lang}"),
        (3, "rows.csv row 4 (line 5): duplicate id \"5\": an id may appear only once in the input"),
        (4, "rows.csv row 5 (line 6): no value for the id column \"id\""),
        (
            5,
            "rows.csv row 6 (line 7): the id column \"id\" must hold a string or an integer, found a number",
        ),
    ];
    for (index, message) in want {
        assert_eq!(invalid(&items[index]).1, message);
    }
    let (duplicate, _) = invalid(&items[1]);
    assert_eq!(duplicate.id.as_deref(), Some("k"));
    assert_eq!(duplicate.url, "http://h.test/users/k?lang=fr");
    assert_eq!(
        spec(&items[6]).id.as_deref(),
        Some(""),
        "an empty id is an id"
    );
}

#[test]
fn columns_are_checked_against_the_csv_header() {
    let defaults = Defaults {
        headers: vec![("X-A".to_owned(), "{a}".to_owned())],
        body: Some(Bytes::from_static(b"{b}")),
        ..Defaults::default()
    };
    let template = template(URL, &defaults, Some("key"));
    let header = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let check = |names: &[&str]| {
        template
            .check_columns(&header(names), "rows.csv")
            .map_err(|e| e.to_string())
    };
    assert_eq!(check(&["key", "id", "lang", "a", "b", "c"]), Ok(()));
    assert_eq!(
        check(&["id", "a", "b", "key"]),
        Err("{lang} in --template: rows.csv has no column \"lang\"; its header has \"id\", \"a\", \"b\", \"key\"".to_owned())
    );
    assert_eq!(
        check(&["id", "lang", "b", "key"]),
        Err("{a} in -H: rows.csv has no column \"a\"; its header has \"id\", \"lang\", \"b\", \"key\"".to_owned())
    );
    assert_eq!(
        check(&["id", "lang", "a", "key"]),
        Err("{b} in -d: rows.csv has no column \"b\"; its header has \"id\", \"lang\", \"a\", \"key\"".to_owned())
    );
    assert_eq!(
        check(&["id", "lang", "a", "b"]),
        Err("--id-column: rows.csv has no column \"key\"; its header has \"id\", \"lang\", \"a\", \"b\"".to_owned())
    );
}

#[test]
fn bad_templates_are_usage_errors() {
    let defaults = Defaults::default();
    let error = |url: &str, defaults: &Defaults| {
        RequestTemplate::new(url, defaults, None)
            .expect_err(url)
            .to_string()
    };
    assert_eq!(
        error("http://h.test/{id", &defaults),
        "--template \"http://h.test/{id\": unclosed { at column 15 (write {{ for a literal brace)"
    );
    assert_eq!(
        error("ftp://h.test/{id}", &defaults),
        "--template \"ftp://h.test/{id}\" is not a usable URL once its placeholders are filled: unsupported scheme \"ftp\": only http and https"
    );
    assert_eq!(
        error("{base}/users", &defaults),
        "--template \"{base}/users\" is not a usable URL once its placeholders are filled: not a URL (relative URL without a base): 1/users"
    );
    let header = Defaults {
        headers: vec![("X-A".to_owned(), "a}".to_owned())],
        ..Defaults::default()
    };
    assert_eq!(
        error("http://h.test/", &header),
        "-H \"X-A\": } at column 2 closes no placeholder (write }} for a literal brace)"
    );
    let binary = Defaults {
        body: Some(Bytes::from_static(b"\xff")),
        ..Defaults::default()
    };
    assert_eq!(
        error("http://h.test/", &binary),
        "-d: with --template the body is a template and must be UTF-8 text"
    );
}

#[test]
fn the_values_format_comes_from_the_flag_or_the_name() {
    let new = |values: &str, format| {
        TemplateInput::new(
            URL,
            &Defaults::default(),
            None,
            values.to_owned(),
            format,
            1024,
        )
        .map(|input| input.format)
        .map_err(|e| e.to_string())
    };
    assert_eq!(new("rows.csv", None), Ok(ValuesFormat::Csv));
    assert_eq!(
        new("rows.txt", Some(ValuesFormat::Tsv)),
        Ok(ValuesFormat::Tsv)
    );
    assert_eq!(new("-", Some(ValuesFormat::Jsonl)), Ok(ValuesFormat::Jsonl));
    assert_eq!(
        new("-", None),
        Err(
            "--values -: say which format stdin has with --values-format csv, tsv or jsonl"
                .to_owned()
        )
    );
    assert_eq!(
        new("rows.txt", None),
        Err("--values rows.txt: cannot tell the format from the name (.csv, .tsv, .jsonl, .ndjson, .json); say it with --values-format csv, tsv or jsonl".to_owned())
    );
}

#[test]
fn a_csv_file_is_read_through_to_items_on_the_input_thread() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rows.csv");
    let mut content = String::from("id,lang\n");
    for i in 0..1000 {
        content.push_str(&format!("{i},\"l,{i}\"\n"));
    }
    content.push_str("x\n");
    std::fs::write(&path, content).expect("write");
    let path = path.to_str().expect("UTF-8 temp path");
    let input = TemplateInput::new(
        URL,
        &Defaults::default(),
        Some("id".to_owned()),
        path.to_owned(),
        None,
        1024,
    )
    .expect("valid");
    let rows = input.open().expect("open");
    // A small channel, so that back-pressure is exercised.
    let (tx, mut rx) = mpsc::channel(4);
    let handle = rows.spawn(tx);
    let mut items = Vec::new();
    while let Some(batch) = rx.blocking_recv() {
        items.extend(batch);
    }
    let summary = handle.join().expect("no panic").expect("no I/O error");
    assert_eq!(
        summary,
        ReadSummary {
            lines: 1001,
            items: 1001,
            invalid: 1,
            complete: true
        }
    );
    for (i, item) in (0u64..).zip(&items[..1000]) {
        let spec = spec(item);
        assert_eq!(spec.index, i);
        assert_eq!(spec.url, format!("http://h.test/users/{i}?lang=l%2C{i}"));
    }
    assert_eq!(
        invalid(&items[1000]).1,
        format!("{path} row 1001 (line 1002): 1 fields, but the header has 2")
    );
}

#[test]
fn a_column_missing_from_the_header_stops_the_run_before_it_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rows.csv");
    std::fs::write(&path, "id,language\n1,en\n").expect("write");
    let path = path.to_str().expect("UTF-8 temp path");
    let input = TemplateInput::new(URL, &Defaults::default(), None, path.to_owned(), None, 1024)
        .expect("valid");
    let e = input.open().expect_err("no lang column");
    assert_eq!(
        e.to_string(),
        format!("{{lang}} in --template: {path} has no column \"lang\"; its header has \"id\", \"language\"")
    );
}
