//! Reading values files: CSV quoting, row and line numbers, rows that are
//! unusable, JSON lines, and the bounds on a row's length.

use serde_json::json;

use super::*;

/// Opens `content` as a values file named `name` (its extension matters
/// only to the caller) and reads every row.
fn read(format: ValuesFormat, content: &[u8], max_row_len: usize) -> anyhow::Result<Vec<Row>> {
    let mut values = open(format, content, max_row_len)?;
    let mut rows = Vec::new();
    while let Some(row) = values.next_row()? {
        rows.push(row);
    }
    Ok(rows)
}

fn open(format: ValuesFormat, content: &[u8], max_row_len: usize) -> anyhow::Result<Values> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("values");
    std::fs::write(&path, content).expect("write the values file");
    let source = Source::open(path.to_str().expect("UTF-8 temp path")).expect("open");
    // The open file outlives the directory's removal on Unix.
    Values::open(source, format, max_row_len)
}

fn fields(value: serde_json::Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map),
        other => panic!("not an object: {other}"),
    }
}

fn row(number: u64, line: u64, value: serde_json::Value) -> Row {
    Row {
        number,
        line,
        fields: fields(value),
    }
}

fn bad(number: u64, line: u64, message: &str) -> Row {
    Row {
        number,
        line,
        fields: Err(message.to_owned()),
    }
}

#[test]
fn csv_quoted_fields_keep_commas_quotes_and_newlines() {
    let content = "\u{feff}id , name,note\r\n\
                   1,\"Smith, Ada\",\"she said \"\"hi\"\"\"\r\n\
                   2,\"two\nlines\",\r\n\
                   \r\n\
                   3, padded ,é中\n";
    let values = open(ValuesFormat::Csv, content.as_bytes(), 1024).expect("header");
    assert_eq!(
        values.header().expect("CSV has a header"),
        ["id", "name", "note"],
        "names are trimmed and the byte-order mark dropped"
    );
    let rows = read(ValuesFormat::Csv, content.as_bytes(), 1024).expect("read");
    assert_eq!(
        rows,
        [
            row(
                1,
                2,
                json!({"id": "1", "name": "Smith, Ada", "note": "she said \"hi\""})
            ),
            row(2, 3, json!({"id": "2", "name": "two\nlines", "note": ""})),
            // The blank line is skipped; values keep their spaces.
            row(3, 6, json!({"id": "3", "name": " padded ", "note": "é中"})),
        ]
    );
}

#[test]
fn tsv_is_csv_with_tabs() {
    let rows = read(ValuesFormat::Tsv, b"a\tb\nx,y\t\"q\tr\"\n", 1024).expect("read");
    assert_eq!(rows, [row(1, 2, json!({"a": "x,y", "b": "q\tr"}))]);
}

#[test]
fn unusable_csv_rows_are_reported_and_reading_goes_on() {
    let content = b"a,b\n1\n1,2,3\nok,\xff\xfe\n4,5\n";
    let rows = read(ValuesFormat::Csv, content, 1024).expect("read");
    assert_eq!(
        rows,
        [
            bad(1, 2, "1 fields, but the header has 2"),
            bad(2, 3, "3 fields, but the header has 2"),
            bad(
                3,
                4,
                "field 2 (b) is not valid UTF-8 (byte 0xff at offset 0)"
            ),
            row(4, 5, json!({"a": "4", "b": "5"})),
        ]
    );
}

#[test]
fn a_repeated_column_name_keeps_the_first_value() {
    let rows = read(ValuesFormat::Csv, b"a,a,b\n1,2,3\n", 1024).expect("read");
    assert_eq!(rows, [row(1, 2, json!({"a": "1", "b": "3"}))]);
}

#[test]
fn an_empty_or_header_only_csv() {
    let e = open(ValuesFormat::Csv, b"", 1024).expect_err("no header");
    assert!(
        e.to_string()
            .ends_with("is empty: its first line must name the columns"),
        "{e}"
    );
    let rows = read(ValuesFormat::Csv, b"a,b\n", 1024).expect("read");
    assert_eq!(rows, []);
    let e = open(ValuesFormat::Csv, b"a,\xff\n", 1024).expect_err("bad header");
    assert!(
        e.to_string()
            .ends_with("column 2 of the header is not UTF-8"),
        "{e}"
    );
}

#[test]
fn a_quote_left_open_stops_reading_in_bounded_memory() {
    // Without the guard the rest of the file would become one field.
    let mut content = b"a,b\n1,2\n3,\"open\n".to_vec();
    content.extend(std::iter::repeat_n(b'x', 1_000_000));
    content.extend_from_slice(b"\n5,6\n");
    let mut values = open(ValuesFormat::Csv, &content, 4096).expect("header");
    assert_eq!(
        values.next_row().expect("row 1"),
        Some(row(1, 2, json!({"a": "1", "b": "2"})))
    );
    let e = values.next_row().expect_err("row 2 is too long");
    assert!(
        e.to_string()
            .ends_with("row 2 is longer than 4096 bytes (a quote left open?); reading stopped"),
        "{e}"
    );
}

#[test]
fn long_rows_under_the_limit_are_read() {
    let long = "y".repeat(50_000);
    let content = format!("a\n\"{long}\"\n{long}\n");
    let rows = read(ValuesFormat::Csv, content.as_bytes(), 60_000).expect("read");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1], row(2, 3, json!({ "a": long })));
}

#[test]
fn json_lines_are_objects_and_keep_their_types() {
    let content = "\u{feff}{\"id\": 7, \"tags\": [\"a\"], \"n\": null}\n\
                   \n   \n\
                   {\"id\": \"8\", \"o\": {\"k\": 1.5}}\r\n\
                   [1, 2]\n\
                   {\"id\": 9\n\
                   \"str\"\n";
    let rows = read(ValuesFormat::Jsonl, content.as_bytes(), 1024).expect("read");
    assert_eq!(
        rows,
        [
            row(1, 1, json!({"id": 7, "tags": ["a"], "n": null})),
            row(2, 4, json!({"id": "8", "o": {"k": 1.5}})),
            bad(
                3,
                5,
                "expected a JSON object of column values, found an array"
            ),
            bad(
                4,
                6,
                "not valid JSON (EOF while parsing an object at column 8)"
            ),
            bad(
                5,
                7,
                "expected a JSON object of column values, found a string"
            ),
        ]
    );
}

#[test]
fn a_json_line_too_long_or_not_utf8_is_one_bad_row() {
    let mut content = format!("{{\"a\": \"{}\"}}\n", "x".repeat(100)).into_bytes();
    content.extend_from_slice(b"{\"a\": \"\xff\"}\n{\"a\": 1}\n");
    let rows = read(ValuesFormat::Jsonl, &content, 50).expect("read");
    assert_eq!(
        rows,
        [
            bad(1, 1, "line too long: 109 bytes, over the limit of 50 bytes"),
            bad(2, 2, "not valid UTF-8 (byte 0xff at column 8)"),
            row(3, 3, json!({"a": 1})),
        ]
    );
}

#[test]
fn the_format_follows_the_extension() {
    let cases = [
        ("rows.csv", Some(ValuesFormat::Csv)),
        ("ROWS.CSV", Some(ValuesFormat::Csv)),
        ("a.b/rows.tsv", Some(ValuesFormat::Tsv)),
        ("rows.jsonl", Some(ValuesFormat::Jsonl)),
        ("rows.ndjson", Some(ValuesFormat::Jsonl)),
        ("rows.json", Some(ValuesFormat::Jsonl)),
        ("rows.txt", None),
        ("rows", None),
        ("-", None),
    ];
    for (name, want) in cases {
        assert_eq!(ValuesFormat::from_name(name), want, "{name}");
    }
}
