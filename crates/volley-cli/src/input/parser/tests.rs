//! The input-line rules, one test per rule; the invalid-line cases are
//! FAULTS.md row 19, with their exact messages.

use std::io::Cursor;

use bytes::Bytes;
use serde_json::json;
use volley::{ErrorKind, Outcome, RequestSpec};

use super::*;
use crate::input::reader::{read_one, ReadSummary};

/// Every item of `input`, read as the file `urls.txt`.
fn items_with(defaults: Defaults, max_line_len: usize, input: &[u8]) -> Vec<Item> {
    let mut parser = LineParser::new(defaults, max_line_len);
    let mut items = Vec::new();
    let mut summary = ReadSummary::default();
    let mut emit = |item| {
        items.push(item);
        true
    };
    read_one(
        "urls.txt",
        Cursor::new(input),
        &mut parser,
        &mut emit,
        &mut summary,
    )
    .expect("in-memory read");
    items
}

fn items(input: &str) -> Vec<Item> {
    items_with(Defaults::default(), DEFAULT_MAX_LINE_LEN, input.as_bytes())
}

/// The one item of a one-line input.
fn item(line: &str) -> Item {
    let mut all = items(line);
    assert_eq!(all.len(), 1, "{line:?} gave {all:?}");
    all.remove(0)
}

fn spec(item: Item) -> RequestSpec {
    match item {
        Item::Spec(spec) => spec,
        Item::Invalid(outcome) => panic!("expected a spec, got {:?}", outcome.error),
    }
}

fn invalid(item: Item) -> Outcome {
    match item {
        Item::Invalid(outcome) => outcome,
        Item::Spec(spec) => panic!("expected an invalid record, got {spec:?}"),
    }
}

fn message(outcome: &Outcome) -> &str {
    assert_eq!(outcome.error_kind(), Some(ErrorKind::InvalidRequest));
    assert_eq!(outcome.attempts, 0);
    outcome.error.as_ref().map_or("", |e| e.message.as_str())
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_url_line_is_a_get_of_that_url() {
    let spec = spec(item("  https://api.example.com/users/7?x=1 \t"));
    assert_eq!(
        spec,
        RequestSpec::get("https://api.example.com/users/7?x=1")
    );
}

#[test]
fn blank_and_comment_lines_are_skipped_and_get_no_index() {
    let input = "\n   \n# a comment\nhttp://a.test/1\n  # indented comment\r\n\r\nhttp://a.test/2\nftp://a.test/3";
    let all = items(input);
    let indexes: Vec<u64> = all.iter().map(Item::index).collect();
    assert_eq!(indexes, [0, 1, 2]);
    // Line numbers still count every line, as an editor does.
    let last = invalid(all.into_iter().nth(2).expect("three items"));
    assert_eq!(
        message(&last),
        "urls.txt line 8: unsupported scheme \"ftp\": only http and https"
    );
}

#[test]
fn crlf_endings_a_last_line_without_newline_and_a_bom() {
    let all = items("\u{feff}http://a.test/1\r\nhttp://a.test/2\r\nhttp://a.test/3");
    let urls: Vec<String> = all.into_iter().map(|i| spec(i).url).collect();
    assert_eq!(
        urls,
        ["http://a.test/1", "http://a.test/2", "http://a.test/3"]
    );
}

#[test]
fn unusable_lines_give_one_record_each_with_the_line_number() {
    // FAULTS.md row 19: (line, exact message after "urls.txt line 1: ").
    let cases = [
        (
            "ftp://a.test/x",
            "unsupported scheme \"ftp\": only http and https",
        ),
        (
            "file:///etc/passwd",
            "unsupported scheme \"file\": only http and https",
        ),
        (
            "http://a.test/a\u{1}b",
            "URL contains a control ('\\u{1}') character",
        ),
        (
            "http://a.test/a\u{7f}",
            "URL contains a control ('\\u{7f}') character",
        ),
        ("http://a.test/a b", "URL contains a space character"),
        (
            "example.com/x",
            "not a URL (relative URL without a base): example.com/x",
        ),
        (
            "{\"url\": \"http://a.test/\"",
            "not valid JSON (EOF while parsing an object at column 24)",
        ),
        ("{url}", "not valid JSON (key must be a string at column 2)"),
        (
            "[\"http://a.test/\"]",
            "expected a JSON object with a \"url\" field, found an array",
        ),
        (
            "\"http://a.test/\"",
            "expected a JSON object with a \"url\" field, found a string",
        ),
        ("{\"id\": 1}", "no \"url\" field"),
        (
            "{\"url\": [\"http://a.test/\"]}",
            "\"url\" must be a string, found an array",
        ),
        (
            "{\"url\": \"http://a.test/\", \"body\": \"x\", \"json\": {}}",
            "both \"body\" and \"json\" given: use one",
        ),
        (
            "{\"url\": \"ftp://a.test/\"}",
            "unsupported scheme \"ftp\": only http and https",
        ),
        (
            "{\"url\": \"http://a.test/\\u0000\"}",
            "URL contains a control ('\\0') character",
        ),
        (
            "{\"url\": \"http://a.test/\", \"method\": \"GE T\"}",
            "invalid method \"GE T\"",
        ),
        (
            "{\"url\": \"http://a.test/\", \"headers\": {\"bad name\": \"v\"}}",
            "invalid header name \"bad name\"",
        ),
        (
            "{\"url\": \"http://a.test/\", \"headers\": [[\"x\", \"a\\nb\"]]}",
            "invalid value for header x",
        ),
    ];
    for (line, want) in cases {
        let outcome = invalid(item(line));
        assert_eq!(
            message(&outcome),
            format!("urls.txt line 1: {want}"),
            "{line}"
        );
        assert_eq!(outcome.index, 0, "{line}");
    }
}

#[test]
fn an_invalid_record_keeps_the_lines_url_id_and_meta() {
    let line = r#"{"url": "ftp://a.test/f", "id": "k1", "method": "put", "batch": 3}"#;
    let outcome = invalid(item(line));
    assert_eq!(outcome.url, "ftp://a.test/f");
    assert_eq!(outcome.id.as_deref(), Some("k1"));
    assert_eq!(outcome.method, "PUT");
    assert_eq!(
        serde_json::to_value(&outcome.meta).ok(),
        Some(json!({"batch": 3}))
    );

    // Without a usable url, the record's url is the line itself.
    let outcome = invalid(item(r#"{"id": 5, "tag": "x"}"#));
    assert_eq!(outcome.url, r#"{"id": 5, "tag": "x"}"#);
    assert_eq!(outcome.id.as_deref(), Some("5"));
    assert_eq!(
        serde_json::to_value(&outcome.meta).ok(),
        Some(json!({"tag": "x"}))
    );

    // A long bad line is cut to 200 characters in the record.
    let long = format!("http://a.test/{} x", "y".repeat(1000));
    let outcome = invalid(item(&long));
    assert_eq!(outcome.url.chars().count(), 201);
    assert!(outcome.url.ends_with("yy…"), "{}", outcome.url);
}

/// A line rejected before it became a request (here, for its headers)
/// still shows the method it would have been sent with.
#[test]
fn a_rejected_line_keeps_its_method() {
    let outcome = invalid(item(
        r#"{"url": "http://a.test/", "method": "delete", "headers": 7}"#,
    ));
    assert_eq!(outcome.method, "DELETE");

    // No method, but a body: POST, as a usable line would be.
    let outcome = invalid(item(
        r#"{"url": "http://a.test/", "json": {"k": 1}, "headers": 7}"#,
    ));
    assert_eq!(outcome.method, "POST");

    // A method of the wrong type: the default, GET.
    let outcome = invalid(item(r#"{"url": "http://a.test/", "method": 1}"#));
    assert_eq!(outcome.method, "GET");
}

#[test]
fn a_duplicate_id_is_invalid_from_its_second_use_on() {
    let input = [
        r#"{"url": "http://a.test/1", "id": "a"}"#,
        r#"{"url": "http://a.test/2", "id": "b"}"#,
        r#"{"url": "http://a.test/3", "id": "a"}"#,
        r#"{"url": "http://a.test/4", "id": 7}"#,
        r#"{"url": "http://a.test/5", "id": "7"}"#,
        r#"{"url": "ftp://a.test/6", "id": "c"}"#,
        r#"{"url": "http://a.test/7", "id": "c"}"#,
        r#"{"url": "http://a.test/8", "id": "a"}"#,
    ]
    .join("\n");
    let all = items(&input);
    let summary: Vec<(u64, Option<String>, Option<String>)> = all
        .into_iter()
        .map(|item| match item {
            Item::Spec(spec) => (spec.index, spec.id, None),
            Item::Invalid(outcome) => {
                let text = message(&outcome).to_owned();
                (outcome.index, outcome.id, Some(text))
            }
        })
        .collect();
    let dup = |line: u64, id: &str| {
        Some(format!(
            "urls.txt line {line}: duplicate id {id:?}: an id may appear only once in the input"
        ))
    };
    assert_eq!(
        summary,
        [
            (0, Some("a".to_owned()), None),
            (1, Some("b".to_owned()), None),
            (2, Some("a".to_owned()), dup(3, "a")),
            (3, Some("7".to_owned()), None),
            // The number 7 and the string "7" are one id in the record.
            (4, Some("7".to_owned()), dup(5, "7")),
            (
                5,
                Some("c".to_owned()),
                Some("urls.txt line 6: unsupported scheme \"ftp\": only http and https".to_owned())
            ),
            // An id on an invalid line is still used.
            (6, Some("c".to_owned()), dup(7, "c")),
            (7, Some("a".to_owned()), dup(8, "a")),
        ]
    );
}

#[test]
fn a_line_that_is_not_utf8_is_invalid() {
    let input = b"http://a.test/caf\xe9\n# caf\xe9 in a comment is fine\nhttp://a.test/ok\n";
    let all = items_with(Defaults::default(), DEFAULT_MAX_LINE_LEN, input);
    assert_eq!(all.len(), 2);
    let mut all = all.into_iter();
    let outcome = invalid(all.next().expect("first"));
    assert_eq!(
        message(&outcome),
        "urls.txt line 1: not valid UTF-8 (byte 0xe9 at column 18)"
    );
    assert_eq!(outcome.url, "http://a.test/caf\u{fffd}");
    assert_eq!(spec(all.next().expect("second")).index, 1);
}

#[test]
fn a_line_over_the_limit_is_invalid_and_reading_goes_on() {
    let long = format!("http://a.test/{}", "x".repeat(100));
    let long_comment = format!("# {}", "x".repeat(100));
    let input = format!("http://a.test/1\n{long}\r\n{long_comment}\nhttp://a.test/2\n");
    let all = items_with(Defaults::default(), 64, input.as_bytes());
    assert_eq!(all.len(), 3);
    let mut all = all.into_iter();
    assert_eq!(spec(all.next().expect("1")).index, 0);
    let outcome = invalid(all.next().expect("2"));
    assert_eq!(
        message(&outcome),
        "urls.txt line 2: line too long: 114 bytes, over the limit of 64 bytes"
    );
    assert_eq!(outcome.url, &long[..64]);
    assert_eq!(outcome.index, 1);
    // The long comment is still a comment; the line after it is line 4.
    let last = spec(all.next().expect("3"));
    assert_eq!((last.index, last.url.as_str()), (2, "http://a.test/2"));
}

#[test]
fn json_lines_read_every_field() {
    let line = r#"{"url": "https://a.test/u", "method": "PATCH", "headers": [["Accept", "a/b"], ["Accept", "c/d"]], "body": "raw text", "id": "u1", "k": {"n": [1]}}"#;
    let spec = spec(item(line));
    assert_eq!(spec.method, "PATCH");
    assert_eq!(
        spec.headers,
        headers(&[("Accept", "a/b"), ("Accept", "c/d")])
    );
    assert_eq!(spec.body, Some(Bytes::from("raw text")));
    assert_eq!(spec.id.as_deref(), Some("u1"));
    assert_eq!(
        serde_json::to_value(&spec.meta).ok(),
        Some(json!({"k": {"n": [1]}}))
    );
}

#[test]
fn a_json_body_is_compact_and_sets_the_content_type_unless_the_line_does() {
    let spec1 = spec(item(
        r#"{"url": "http://a.test/", "json": {"a": [1, 2], "b": null}}"#,
    ));
    assert_eq!(spec1.body, Some(Bytes::from(r#"{"a":[1,2],"b":null}"#)));
    assert_eq!(spec1.method, "POST");
    assert_eq!(
        spec1.headers,
        headers(&[("Content-Type", "application/json")])
    );

    let spec2 = spec(item(
        r#"{"url": "http://a.test/", "method": "PUT", "json": 5, "headers": {"content-type": "application/vnd.x+json"}}"#,
    ));
    assert_eq!(spec2.body, Some(Bytes::from("5")));
    assert_eq!(spec2.method, "PUT");
    assert_eq!(
        spec2.headers,
        headers(&[("content-type", "application/vnd.x+json")])
    );
}

fn cli_defaults() -> Defaults {
    Defaults {
        method: Some("PUT".to_owned()),
        headers: headers(&[("Authorization", "Bearer t"), ("X-Run", "r1")]),
        body: Some(Bytes::from("{\"d\":1}")),
        json_body: true,
    }
}

#[test]
fn defaults_apply_to_url_lines() {
    let all = items_with(cli_defaults(), DEFAULT_MAX_LINE_LEN, b"http://a.test/");
    let spec = spec(all.into_iter().next().expect("one"));
    assert_eq!(spec.method, "PUT");
    assert_eq!(spec.body, Some(Bytes::from("{\"d\":1}")));
    assert_eq!(
        spec.headers,
        headers(&[
            ("Authorization", "Bearer t"),
            ("X-Run", "r1"),
            ("Content-Type", "application/json"),
        ])
    );
}

#[test]
fn line_fields_override_the_defaults() {
    let line = r#"{"url": "http://a.test/", "method": "DELETE", "headers": {"x-run": "r2", "Content-Type": "text/plain"}, "body": "mine"}"#;
    let all = items_with(cli_defaults(), DEFAULT_MAX_LINE_LEN, line.as_bytes());
    let spec = spec(all.into_iter().next().expect("one"));
    assert_eq!(spec.method, "DELETE");
    assert_eq!(spec.body, Some(Bytes::from("mine")));
    // The default X-Run is replaced (names compare case-insensitively); the
    // line's own Content-Type stops --json from adding one.
    assert_eq!(
        spec.headers,
        headers(&[
            ("Authorization", "Bearer t"),
            ("Content-Type", "text/plain"),
            ("x-run", "r2")
        ])
    );
}

#[test]
fn a_body_without_a_method_is_posted_like_curl_d() {
    let defaults = Defaults {
        body: Some(Bytes::from("a=1")),
        ..Defaults::default()
    };
    let all = items_with(defaults, DEFAULT_MAX_LINE_LEN, b"http://a.test/\n");
    let post = spec(all.into_iter().next().expect("one"));
    assert_eq!((post.method.as_str(), post.headers.len()), ("POST", 0));
    // Without a body, --json adds no content type: there is nothing to describe.
    let defaults = Defaults {
        json_body: true,
        ..Defaults::default()
    };
    let all = items_with(defaults, DEFAULT_MAX_LINE_LEN, b"http://a.test/\n");
    let get = spec(all.into_iter().next().expect("one"));
    assert_eq!((get.method.as_str(), get.headers.len()), ("GET", 0));
}

#[test]
fn defaults_are_checked_once_up_front() {
    assert_eq!(cli_defaults().check(), Ok(()));
    let bad_method = Defaults {
        method: Some("GE T".to_owned()),
        ..Defaults::default()
    };
    assert_eq!(
        bad_method.check(),
        Err("invalid method \"GE T\"".to_owned())
    );
    let bad_header = Defaults {
        headers: headers(&[("bad name", "v")]),
        ..Defaults::default()
    };
    assert_eq!(
        bad_header.check(),
        Err("invalid header name \"bad name\"".to_owned())
    );
}
