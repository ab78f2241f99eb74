//! No bytes make the input parsers or the resume reader panic: property tests over arbitrary and input-like bytes (`fuzz/` has the cargo-fuzz targets for the same code).

use std::io::{BufReader, Cursor};

use bytes::Bytes;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use volley::hot_paths::render_body;
use volley::BodyMode;
use volley_cli::input::lines::LineReader;
use volley_cli::input::{jsonl, Defaults, Item, LineParser, Location};
use volley_cli::resume;

/// Bytes that look like input some of the time: pieces of URLs, JSON
/// specs, comments, line endings and stray encodings, between arbitrary
/// bytes, so that the cases reach past "not UTF-8" and "not JSON".
fn input_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => vec(any::<u8>(), 0..12),
        2 => Just(b"\n".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        2 => Just(b"http://127.0.0.1:9/x".to_vec()),
        1 => Just(b"https://a.invalid/?q= ".to_vec()),
        1 => Just(b"ftp://h/".to_vec()),
        2 => Just(br#"{"url":"http://a.invalid/""#.to_vec()),
        1 => Just(br#","method":"POST""#.to_vec()),
        1 => Just(br#","method":"GE T""#.to_vec()),
        1 => Just(br#","headers":{"A":"b","Content-Type":"x"}"#.to_vec()),
        1 => Just(br#","headers":[["A","b"],["A"]]"#.to_vec()),
        1 => Just(br#","json":{"k":[1,2.5,null]}"#.to_vec()),
        1 => Just(br#","body":"x\u0000""#.to_vec()),
        1 => Just(br#","id":7"#.to_vec()),
        1 => Just(br#","id":"dup""#.to_vec()),
        1 => Just(br#","id":1e400"#.to_vec()),
        2 => Just(b"}".to_vec()),
        1 => Just(b"[".to_vec()),
        1 => Just(b"\"".to_vec()),
        1 => Just(b"# comment".to_vec()),
        1 => Just(b"   \t".to_vec()),
        1 => Just("\u{feff}".as_bytes().to_vec()),
        1 => Just("é€😀".as_bytes().to_vec()),
        1 => Just(vec![0xf0, 0x9f]),
        1 => Just(vec![0xff, 0xfe, 0x00]),
    ];
    vec(piece, 0..32).prop_map(|pieces| pieces.concat())
}

/// A JSON document over several lines with a line break put anywhere: as
/// often as not inside a token, which makes text that is not JSON but
/// would be without its whitespace (`tr` `ue`, `1` `2`).
fn json_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    (json_value(), any::<prop::sample::Index>()).prop_map(|(value, at)| {
        let mut text = serde_json::to_string_pretty(&value).expect("serialises");
        let boundaries: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        text.insert(boundaries[at.index(boundaries.len())], '\n');
        text.into_bytes()
    })
}

/// The command-line defaults: none, or all of `-X`, `-H`, `-d` and `--json`.
fn defaults() -> impl Strategy<Value = Defaults> {
    prop_oneof![
        Just(Defaults::default()),
        Just(Defaults {
            method: Some("PATCH".to_owned()),
            headers: vec![("X-A".to_owned(), "b".to_owned())],
            body: Some(Bytes::from_static(b"{\"d\":1}")),
            json_body: true,
        }),
    ]
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        Just(Value::from("http://a.invalid/x")),
        Just(Value::from("POST")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(".{0,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object whose fields are the spec's own names as often as not,
/// each with any value.
fn json_spec() -> impl Strategy<Value = Map<String, Value>> {
    let name = prop_oneof![
        Just("url".to_owned()),
        Just("method".to_owned()),
        Just("headers".to_owned()),
        Just("body".to_owned()),
        Just("json".to_owned()),
        Just("id".to_owned()),
        "[a-z]{1,5}",
    ];
    btree_map(name, json_value(), 0..7).prop_map(|m| m.into_iter().collect())
}

/// Reads `bytes` as an input file: every line through the line reader and
/// the parser. Checks what holds for any input: request lines are numbered
/// 0, 1, 2… in order, a spec is one the engine accepts, and an invalid
/// line's message starts with where it is.
fn parse_all(bytes: &[u8], read_buffer: usize, max_len: usize, defaults: Defaults) -> Vec<Item> {
    let mut reader = LineReader::new(
        BufReader::with_capacity(read_buffer, Cursor::new(bytes)),
        max_len,
    );
    let mut parser = LineParser::new(defaults, max_len);
    let mut items = Vec::new();
    let mut lines = 0;
    while let Some((number, line)) = reader.next_line().expect("reading memory cannot fail") {
        lines += 1;
        assert_eq!(number, lines, "lines are numbered from 1");
        let at = Location {
            source: "in",
            line: number,
        };
        let Some(item) = parser.parse(at, line) else {
            continue;
        };
        assert_eq!(item.index(), items.len() as u64, "indexes are consecutive");
        match &item {
            Item::Spec(spec) => assert_eq!(spec.validate(), Ok(()), "{spec:?}"),
            Item::Invalid(record) => {
                let message = &record
                    .error
                    .as_ref()
                    .expect("an invalid record has an error")
                    .message;
                assert!(
                    message.starts_with(&format!("in line {number}: ")),
                    "{message}"
                );
                assert_eq!(record.attempts, 0);
            }
        }
        items.push(item);
    }
    let ends = bytes.iter().filter(|b| **b == b'\n').count() as u64;
    let unterminated = u64::from(bytes.last().is_some_and(|b| *b != b'\n'));
    assert_eq!(lines, ends + unterminated, "every line is read once");
    assert_eq!(parser.items(), items.len() as u64);
    items
}

/// One line of an output file, as a crash or a stray writer could leave
/// it: a record (any index, id, method, URL), a JSON value with the
/// record's fields in an array, garbage, a run of NULs, or nothing.
fn output_line() -> impl Strategy<Value = Vec<u8>> {
    let index = prop_oneof![0u64..1_000, any::<u64>()];
    let record = (index, proptest::option::of(".{0,6}"), "[A-Za-z]{0,6}", ".{0,16}").prop_map(
        |(index, id, method, url)| {
            json!({"index": index, "id": id, "method": method, "url": url, "status": 200, "ok": true})
                .to_string()
                .into_bytes()
        },
    );
    prop_oneof![
        6 => record,
        1 => (any::<u64>(), ".{0,6}").prop_map(|(index, url)| json!([index, null, "GET", url]).to_string().into_bytes()),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        2 => vec(any::<u8>(), 0..40),
        1 => (1usize..64).prop_map(|n| vec![0u8; n]),
        1 => Just(Vec::new()),
    ]
}

/// Whole lines, then perhaps a torn last line (no newline).
fn output_file() -> impl Strategy<Value = Vec<u8>> {
    (vec(output_line(), 0..10), vec(any::<u8>(), 0..24)).prop_map(|(lines, tail)| {
        let mut bytes = Vec::new();
        for line in lines {
            bytes.extend(line);
            bytes.push(b'\n');
        }
        bytes.extend(tail.into_iter().filter(|b| *b != b'\n'));
        bytes
    })
}

/// True when `line` is a record as resume reads one: a JSON object with an
/// integer `index`, a string or null `id`, a string `method` and `url`.
fn is_record(line: &[u8]) -> bool {
    let Ok(Value::Object(record)) = serde_json::from_slice::<Value>(line) else {
        return false;
    };
    record.get("index").is_some_and(Value::is_u64)
        && record
            .get("id")
            .is_none_or(|id| id.is_null() || id.is_string())
        && record.get("method").is_some_and(Value::is_string)
        && record.get("url").is_some_and(Value::is_string)
}

/// The file's bytes up to and including its last newline.
fn whole_part(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(&bytes[..0], |at| &bytes[..=at])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_become_one_item_per_request_line(
        bytes in input_bytes(),
        read_buffer in 1usize..16,
        max_len in 0usize..80,
        defaults in defaults(),
    ) {
        parse_all(&bytes, read_buffer, max_len, defaults);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_line_parser(bytes in vec(any::<u8>(), 0..256)) {
        parse_all(&bytes, 7, 64, Defaults::default());
    }

    #[test]
    fn any_text_is_a_json_line_or_a_rejection(text in ".{0,64}") {
        let _ = jsonl::parse(&text);
    }

    #[test]
    fn any_json_object_is_a_spec_or_one_invalid_record(spec in json_spec()) {
        let text = Value::Object(spec.clone()).to_string();
        if let Ok(request) = jsonl::parse(&text) {
            prop_assert_eq!(Some(request.url.as_str()), spec.get("url").and_then(Value::as_str));
        }
        // Through the whole parser it is one item, whatever is wrong with it.
        let items = parse_all(text.as_bytes(), 64, 1 << 20, Defaults::default());
        prop_assert_eq!(items.len(), 1);
    }

    /// A JSON body over several lines goes into the record as the same
    /// document on one line: exactly what compact serialisation writes.
    #[test]
    fn a_pretty_json_body_is_recorded_compact(value in json_value(), crlf in any::<bool>()) {
        let mut pretty = serde_json::to_string_pretty(&value).expect("serialises");
        if crlf {
            pretty = pretty.replace('\n', "\r\n");
        }
        let (body, base64) = render_body(BodyMode::Auto, Some("application/json"), pretty.as_bytes());
        prop_assert_eq!(base64, None);
        let body = body.expect("a JSON body is recorded");
        prop_assert_eq!(body.get(), value.to_string());
    }

    /// Any body bytes are recorded on one line, and nothing is lost: a JSON
    /// body as the same document, any other text as a string of it, and
    /// other bytes in base64.
    #[test]
    fn any_body_is_recorded_on_one_line(
        bytes in prop_oneof![input_bytes(), json_like_bytes()],
        json in any::<bool>(),
    ) {
        let content_type = json.then_some("application/json");
        match render_body(BodyMode::Auto, content_type, &bytes) {
            (Some(body), None) => {
                prop_assert!(!body.get().contains(['\n', '\r']), "{}", body.get());
                let recorded: Value = serde_json::from_str(body.get()).expect("the body is JSON");
                let text = std::str::from_utf8(&bytes).expect("text is recorded as text");
                match serde_json::from_str::<Value>(text) {
                    Ok(document) if json => prop_assert_eq!(recorded, document),
                    _ => prop_assert_eq!(recorded, Value::from(text)),
                }
            }
            (None, Some(base64)) => prop_assert!(!base64.contains('\n')),
            other => prop_assert!(false, "{other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `resume::scan` on any file: without `--repair` it keeps the whole
    /// lines and cuts only a torn tail, or refuses and leaves the file
    /// exactly as it was; with `--repair` it always succeeds and leaves
    /// nothing but records.
    #[test]
    fn scan_takes_any_output_file(bytes in prop_oneof![output_file(), vec(any::<u8>(), 0..256)], repair in any::<bool>()) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, &bytes).expect("write the file");
        let scanned = resume::scan(&path, repair);
        let after = std::fs::read(&path).expect("read the file back");
        let whole = whole_part(&bytes);
        match scanned {
            Err(e) => {
                prop_assert!(!repair, "--repair failed: {e:#}");
                prop_assert_eq!(&after, &bytes, "a refused resume changed the file");
                prop_assert!(e.to_string().contains("--repair"), "{e:#}");
            }
            Ok(done) => {
                let lines: Vec<&[u8]> = after.split_inclusive(|b| *b == b'\n').collect();
                prop_assert!(after.is_empty() || after.ends_with(b"\n"), "a torn tail was kept");
                for line in &lines {
                    prop_assert!(is_record(line), "not a record: {:?}", String::from_utf8_lossy(line));
                }
                prop_assert_eq!(done.records, lines.len() as u64);
                prop_assert_eq!(done.torn_bytes, (bytes.len() - whole.len()) as u64);
                if repair {
                    let before = whole.split_inclusive(|b| *b == b'\n').count() as u64;
                    prop_assert_eq!(done.records + done.dropped, before);
                } else {
                    prop_assert_eq!(&after[..], whole, "only the torn tail is cut");
                    prop_assert_eq!(done.dropped, 0);
                }
            }
        }
    }
}
