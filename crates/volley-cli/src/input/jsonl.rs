//! The JSON form of an input line: one object describing one request.
//!
//! ```json
//! {"url": "https://api.example.com/users/7", "method": "POST",
//!  "headers": {"Authorization": "Bearer …"}, "json": {"name": "Ada"},
//!  "id": "user-7", "batch": 3}
//! ```
//!
//! Known fields are `url` (required), `method`, `headers` (an object of
//! name → value, or an array of `[name, value]` pairs, which allows a name
//! twice), `body` (text sent as is) or `json` (any JSON value, sent
//! compactly, with its keys, numbers and escapes exactly as written), and
//! `id` (a string or an integer). Every other field is
//! passed through untouched to the record's `meta`. An optional field set to
//! `null` counts as absent.
//!
//! This module only reads the object's shape; merging with the command-line
//! defaults and checking the URL, method and headers is the parser's job.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The fields of one JSON request line, read but not yet validated.
#[derive(Debug, Default, PartialEq)]
pub struct JsonRequest {
    /// The `url` field, exactly as given.
    pub url: String,
    /// The `method` field.
    pub method: Option<String>,
    /// The `headers` field, in order.
    pub headers: Vec<(String, String)>,
    /// The body from `body` or `json`.
    pub body: Option<JsonBody>,
    /// The `id` field, an integer written in decimal.
    pub id: Option<String>,
    /// Every field that is not one of the above, or `None` when there are none.
    pub meta: Option<Map<String, Value>>,
}

/// Where a line's body came from.
#[derive(Debug, PartialEq)]
pub enum JsonBody {
    /// `"body": "text"`: sent as is.
    Text(String),
    /// `"json": value`: the value serialised compactly; implies
    /// `Content-Type: application/json`.
    Json(String),
}

/// Why a JSON line is unusable, with what was learnt of it before the
/// problem, so that the record can still carry the line's url, method, id
/// and meta.
#[derive(Debug, Default, PartialEq)]
pub struct Rejection {
    /// What is wrong, for the record's error message.
    pub message: String,
    /// The `url` field, when it is a string.
    pub url: Option<String>,
    /// The `method` field, when it is a string.
    pub method: Option<String>,
    /// Whether the line has a `body` or `json` field (which, without a
    /// method, makes the request a `POST`).
    pub has_body: bool,
    /// The `id` field, when it is usable.
    pub id: Option<String>,
    /// The pass-through fields, when the line is an object.
    pub meta: Option<Map<String, Value>>,
}

impl Rejection {
    fn bare(message: String) -> Box<Self> {
        Box::new(Rejection {
            message,
            ..Rejection::default()
        })
    }
}

/// Reads one JSON request line (already trimmed).
///
/// # Errors
///
/// A [`Rejection`] when the text is not JSON, not an object, or a known
/// field has the wrong type; `body` and `json` together are refused too.
/// (Boxed: the rare path need not widen the common one.)
pub fn parse(text: &str) -> Result<JsonRequest, Box<Rejection>> {
    let line: Line<'_> =
        serde_json::from_str(text).map_err(|e| Rejection::bare(describe_json_error(&e)))?;
    let fields = match line {
        Line::Object(fields) => fields,
        Line::Not(kind) => {
            return Err(Rejection::bare(format!(
                "expected a JSON object with a \"url\" field, found {kind}"
            )))
        }
    };
    // `null` is treated as absent, so this filter is the "present" test for
    // every optional field.
    let present = |field: Option<Value>| field.filter(|v| !v.is_null());
    let url = present(fields.url);
    let method = present(fields.method);
    let headers = present(fields.headers);
    let body = present(fields.body);
    let json = fields.json.filter(|raw| raw.get() != "null");
    let id = present(fields.id);
    let meta = fields.meta;
    let mut rejection = Rejection {
        url: url.as_ref().and_then(Value::as_str).map(str::to_owned),
        method: method.as_ref().and_then(Value::as_str).map(str::to_owned),
        has_body: body.is_some() || json.is_some(),
        meta: (!meta.is_empty()).then_some(meta),
        ..Rejection::default()
    };
    // The id first, so that every later rejection carries it.
    match id.map(id_text).transpose() {
        Ok(id) => rejection.id = id,
        Err(message) => {
            return Err(Box::new(Rejection {
                message,
                ..rejection
            }))
        }
    }
    let fail = |message: String, rejection: Rejection| {
        Err(Box::new(Rejection {
            message,
            ..rejection
        }))
    };

    let url = match url {
        Some(Value::String(url)) => url,
        None => return fail("no \"url\" field".to_owned(), rejection),
        Some(other) => {
            let message = format!("\"url\" must be a string, found {}", kind_of(&other));
            return fail(message, rejection);
        }
    };
    let method = match method {
        None => None,
        Some(Value::String(method)) => Some(method),
        Some(other) => {
            let message = format!("\"method\" must be a string, found {}", kind_of(&other));
            return fail(message, rejection);
        }
    };
    let headers = match headers.map(header_pairs).transpose() {
        Ok(headers) => headers.unwrap_or_default(),
        Err(message) => return fail(message, rejection),
    };
    let body = match (body, json) {
        (Some(_), Some(_)) => {
            return fail(
                "both \"body\" and \"json\" given: use one".to_owned(),
                rejection,
            )
        }
        (Some(Value::String(text)), None) => Some(JsonBody::Text(text)),
        (Some(other), None) => {
            let message = format!(
                "\"body\" must be a string, found {} (use \"json\" to send a JSON value)",
                kind_of(&other)
            );
            return fail(message, rejection);
        }
        (None, Some(raw)) => Some(JsonBody::Json(volley::compact_json(raw.get()))),
        (None, None) => None,
    };
    Ok(JsonRequest {
        url,
        method,
        headers,
        body,
        id: rejection.id,
        meta: rejection.meta,
    })
}

/// A line's fields as read: the known ones apart, each as whatever JSON it
/// holds (its type is checked by [`parse`], for a better message than
/// serde's), and the others for `meta`.
#[derive(Default)]
struct Fields<'a> {
    url: Option<Value>,
    method: Option<Value>,
    headers: Option<Value>,
    body: Option<Value>,
    /// The text as written, to be sent compact.
    json: Option<&'a RawValue>,
    id: Option<Value>,
    meta: Map<String, Value>,
}

/// A JSON line: an object's fields, or the kind of value it is instead.
enum Line<'a> {
    Object(Fields<'a>),
    Not(&'static str),
}

impl<'de> Deserialize<'de> for Line<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LineVisitor)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = Line<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Line<'de>, A::Error> {
        let mut fields = Fields::default();
        // A name given twice counts as its last value, as in a `Value`.
        while let Some(Key(name)) = map.next_key()? {
            match &*name {
                "url" => fields.url = Some(map.next_value()?),
                "method" => fields.method = Some(map.next_value()?),
                "headers" => fields.headers = Some(map.next_value()?),
                "body" => fields.body = Some(map.next_value()?),
                "json" => fields.json = Some(map.next_value()?),
                "id" => fields.id = Some(map.next_value()?),
                _ => {
                    let value = map.next_value()?;
                    fields.meta.insert(name.into_owned(), value);
                }
            }
        }
        Ok(Line::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Line<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Line::Not("an array"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Line<'de>, E> {
        Ok(Line::Not("a string"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Line<'de>, E> {
        Ok(Line::Not("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Line<'de>, E> {
        Ok(Line::Not("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Line<'de>, E> {
        Ok(Line::Not("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Line<'de>, E> {
        Ok(Line::Not("a number"))
    }

    fn visit_unit<E>(self) -> Result<Line<'de>, E> {
        Ok(Line::Not("null"))
    }
}

/// A field name, borrowed from the line unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(name)))
            }

            fn visit_str<E>(self, name: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(name.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The `id` as text: a string as is, an integer in decimal. The record's
/// `id` is a string, so `"7"` and `7` are the same id.
fn id_text(id: Value) -> Result<String, String> {
    match id {
        Value::String(id) => Ok(id),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        other => Err(format!(
            "\"id\" must be a string or an integer, found {}",
            kind_of(&other)
        )),
    }
}

/// The `headers` field as (name, value) pairs, from either accepted shape.
fn header_pairs(headers: Value) -> Result<Vec<(String, String)>, String> {
    const PAIR: &str =
        "\"headers\" must be an object of strings or an array of [name, value] pairs of strings";
    match headers {
        Value::Object(map) => map
            .into_iter()
            .map(|(name, value)| match value {
                Value::String(value) => Ok((name, value)),
                other => Err(format!(
                    "header {name:?} must have a string value, found {}",
                    kind_of(&other)
                )),
            })
            .collect(),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Array(pair) => match <[Value; 2]>::try_from(pair) {
                    Ok([Value::String(name), Value::String(value)]) => Ok((name, value)),
                    _ => Err(PAIR.to_owned()),
                },
                _ => Err(PAIR.to_owned()),
            })
            .collect(),
        other => Err(format!("{PAIR}, found {}", kind_of(&other))),
    }
}

/// "a string", "an array", … for messages about a field of the wrong type.
pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `not valid JSON (expected value at column 9)`. `serde_json` ends its
/// message with "at line 1 column 9"; the line is always 1 here and would
/// read as if it were the input's line number, so only the column is kept.
pub(super) fn describe_json_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let reason = full.split(" at line ").next().unwrap_or(&full);
    if e.column() == 0 {
        format!("not valid JSON ({reason})")
    } else {
        format!("not valid JSON ({reason} at column {})", e.column())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(value: Value) -> Option<Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    #[test]
    fn a_full_line_is_read() {
        let line = r#"{"url":"http://a.test/x","method":"put","headers":{"A":"1","B":"2"},"json":{"k":[1, 2]},"id":42,"batch":3,"tags":["x"]}"#;
        let request = parse(line).expect("valid");
        assert_eq!(
            request,
            JsonRequest {
                url: "http://a.test/x".to_owned(),
                method: Some("put".to_owned()),
                headers: vec![
                    ("A".to_owned(), "1".to_owned()),
                    ("B".to_owned(), "2".to_owned())
                ],
                body: Some(JsonBody::Json(r#"{"k":[1,2]}"#.to_owned())),
                id: Some("42".to_owned()),
                meta: meta(json!({"batch": 3, "tags": ["x"]})),
            }
        );
    }

    /// The `json` field is sent as written, less the whitespace: keys in
    /// their order, numbers past `f64`, escapes. Names with escapes count.
    #[test]
    fn a_json_body_is_sent_as_written_only_compact() {
        let line = r#"{"json": {"z": 12345678901234567890123, "a": [1.50, "\u00e9 \" x"]}, "u\u0072l": "http://a.test/", "n\u0061me": 1}"#;
        let request = parse(line).expect("valid");
        let sent = r#"{"z":12345678901234567890123,"a":[1.50,"\u00e9 \" x"]}"#;
        assert_eq!(request.body, Some(JsonBody::Json(sent.to_owned())));
        assert_eq!(request.url, "http://a.test/");
        assert_eq!(request.meta, meta(json!({"name": 1})));
        // `null` is no body, and a field given twice counts as its last.
        let request = parse(r#"{"url":"u","json":{"a":1},"json":null}"#).expect("valid");
        assert_eq!(request.body, None);
    }

    #[test]
    fn header_pairs_and_text_body_and_nulls() {
        let line =
            r#"{"url":"u","headers":[["X","1"],["X","2"]],"body":"a b","id":null,"method":null}"#;
        let request = parse(line).expect("valid");
        assert_eq!(
            request.headers,
            vec![
                ("X".to_owned(), "1".to_owned()),
                ("X".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(request.body, Some(JsonBody::Text("a b".to_owned())));
        assert_eq!(
            (request.id, request.method, request.meta),
            (None, None, None)
        );
    }

    #[test]
    fn shapes_that_are_refused() {
        let cases = [
            (r#"{"url": "u""#, "not valid JSON (EOF while parsing an object at column 11)"),
            (r#"{url: "u"}"#, "not valid JSON (key must be a string at column 2)"),
            (r#"{"url":"u"} x"#, "not valid JSON (trailing characters at column 13)"),
            (r#"["http://a.test/"]"#, "expected a JSON object with a \"url\" field, found an array"),
            (r#""http://a.test/""#, "expected a JSON object with a \"url\" field, found a string"),
            (r#"{"id":"a"}"#, "no \"url\" field"),
            (r#"{"url":null}"#, "no \"url\" field"),
            (r#"{"url":7}"#, "\"url\" must be a string, found a number"),
            (r#"{"url":"u","method":1}"#, "\"method\" must be a string, found a number"),
            (r#"{"url":"u","id":1.5}"#, "\"id\" must be a string or an integer, found a number"),
            (r#"{"url":"u","id":[1]}"#, "\"id\" must be a string or an integer, found an array"),
            (r#"{"url":"u","body":"x","json":{}}"#, "both \"body\" and \"json\" given: use one"),
            (
                r#"{"url":"u","body":{"a":1}}"#,
                "\"body\" must be a string, found an object (use \"json\" to send a JSON value)",
            ),
            (r#"{"url":"u","headers":{"A":1}}"#, "header \"A\" must have a string value, found a number"),
            (
                r#"{"url":"u","headers":[["A"]]}"#,
                "\"headers\" must be an object of strings or an array of [name, value] pairs of strings",
            ),
            (
                r#"{"url":"u","headers":"A: 1"}"#,
                "\"headers\" must be an object of strings or an array of [name, value] pairs of strings, found a string",
            ),
        ];
        for (line, want) in cases {
            let rejection = parse(line).expect_err(line);
            assert_eq!(rejection.message, want, "{line}");
        }
    }

    #[test]
    fn a_rejection_keeps_what_was_learnt() {
        let rejection = parse(r#"{"url":"http://a.test/","id":"k","body":"x","json":1,"n":1}"#)
            .expect_err("body and json");
        assert_eq!(rejection.url.as_deref(), Some("http://a.test/"));
        assert_eq!(rejection.id.as_deref(), Some("k"));
        assert_eq!(rejection.meta, meta(json!({"n": 1})));
    }
}
