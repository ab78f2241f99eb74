//! What the sink does with a record besides writing it: `--failures` writes
//! the failed request again as an input line. (`--save-dir` is the engine's:
//! bodies go to their files as they arrive; see `volley::ClientBuilder::save_bodies`.)

use std::fs::File;
use std::io::{self, BufWriter, Write};

use serde_json::{Map, Value};
use volley::{ErrorKind, Outcome, RequestSpec};

/// The sink's optional outputs.
#[derive(Default)]
pub struct Extras {
    /// `--failures`: the input spec of every failed request.
    pub failures: Option<BufWriter<File>>,
}

impl Extras {
    /// Writes the request of `record` to `--failures` when it `failed`
    /// (input lines that were unusable are left out: they cannot run again).
    ///
    /// # Errors
    ///
    /// When the failures file cannot be written.
    pub fn note_failure(&mut self, record: &Outcome, failed: bool) -> io::Result<()> {
        let (Some(out), Some(spec)) = (&mut self.failures, &record.request) else {
            return Ok(());
        };
        if !failed || record.error_kind() == Some(ErrorKind::InvalidRequest) {
            return Ok(());
        }
        serde_json::to_writer(&mut *out, &input_line(spec))?;
        out.write_all(b"\n")
    }

    /// Flushes the failures file.
    ///
    /// # Errors
    ///
    /// When flushing fails.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.failures {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

/// A JSON-lines input spec that runs `spec` again: its pass-through fields
/// at the top level (as they came in), then url, method, headers, body, id.
pub fn input_line(spec: &RequestSpec) -> Value {
    let mut line = spec.meta.clone().unwrap_or_default();
    line.insert("url".into(), Value::String(spec.url.clone()));
    line.insert(
        "method".into(),
        Value::String(spec.method_name().to_ascii_uppercase()),
    );
    if !spec.headers.is_empty() {
        let pairs = spec
            .headers
            .iter()
            .map(|(name, value)| Value::Array(vec![name.clone().into(), value.clone().into()]))
            .collect();
        line.insert("headers".into(), Value::Array(pairs));
    }
    if let Some(body) = spec.body.as_ref().and_then(|b| std::str::from_utf8(b).ok()) {
        line.insert("body".into(), Value::String(body.to_owned()));
    }
    if let Some(id) = &spec.id {
        line.insert("id".into(), Value::String(id.clone()));
    }
    Value::Object(Map::from_iter(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_requests_become_input_lines() {
        let mut spec = RequestSpec::new("post", "http://a.test/x")
            .with_id("k")
            .with_header("X-A", "1")
            .with_body("{\"q\":1}");
        spec.meta = serde_json::from_str(r#"{"batch": 3}"#).ok();
        let line = input_line(&spec);
        assert_eq!(
            line,
            serde_json::json!({"batch": 3, "url": "http://a.test/x", "method": "POST",
                "headers": [["X-A", "1"]], "body": "{\"q\":1}", "id": "k"})
        );
    }
}
