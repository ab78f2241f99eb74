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
//! compactly), and `id` (a string or an integer). Every other field is
//! passed through untouched to the record's `meta`. An optional field set to
//! `null` counts as absent.
//!
//! This module only reads the object's shape; merging with the command-line
//! defaults and checking the URL, method and headers is the parser's job.

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
/// problem, so that the record can still carry the line's url, id and meta.
#[derive(Debug, Default, PartialEq)]
pub struct Rejection {
    /// What is wrong, for the record's error message.
    pub message: String,
    /// The `url` field, when it is a string.
    pub url: Option<String>,
    /// The `id` field, when it is usable.
    pub id: Option<String>,
    /// The pass-through fields, when the line is an object.
    pub meta: Option<Map<String, Value>>,
}

impl Rejection {
    fn bare(message: String) -> Self {
        Rejection {
            message,
            ..Rejection::default()
        }
    }
}

/// Reads one JSON request line (already trimmed).
///
/// # Errors
///
/// A [`Rejection`] when the text is not JSON, not an object, or a known
/// field has the wrong type; `body` and `json` together are refused too.
pub fn parse(text: &str) -> Result<JsonRequest, Rejection> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Rejection::bare(describe_json_error(&e)))?;
    let Value::Object(mut map) = value else {
        return Err(Rejection::bare(format!(
            "expected a JSON object with a \"url\" field, found {}",
            kind_of(&value)
        )));
    };
    // Take the known fields out; what is left is `meta`, untouched. `null`
    // is treated as absent, so `remove` followed by this filter is the
    // "present" test for every optional field.
    let mut take = |name: &str| map.remove(name).filter(|v| !v.is_null());
    let url = take("url");
    let method = take("method");
    let headers = take("headers");
    let body = take("body");
    let json = take("json");
    let id = take("id");
    let mut rejection = Rejection {
        url: url.as_ref().and_then(Value::as_str).map(str::to_owned),
        meta: (!map.is_empty()).then_some(map),
        ..Rejection::default()
    };
    // The id first, so that every later rejection carries it.
    match id.map(id_text).transpose() {
        Ok(id) => rejection.id = id,
        Err(message) => {
            return Err(Rejection {
                message,
                ..rejection
            })
        }
    }
    let fail = |message: String, rejection: Rejection| {
        Err(Rejection {
            message,
            ..rejection
        })
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
        // `Value`'s `Display` is the compact serialisation, and cannot fail.
        (None, Some(value)) => Some(JsonBody::Json(value.to_string())),
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
