//! What the sink does with a record besides writing it: `--save-dir` puts
//! the body in a file of its own, `--failures` writes the failed request
//! again as an input line.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use serde_json::{Map, Value};
use volley::{ErrorKind, Outcome, RequestSpec};

/// The sink's optional outputs.
#[derive(Default)]
pub struct Extras {
    /// `--save-dir`: one file per body.
    pub save_dir: Option<PathBuf>,
    /// `--failures`: the input spec of every failed request.
    pub failures: Option<BufWriter<File>>,
}

impl Extras {
    /// Saves the body of `record` (if kept raw) and records its path.
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    pub fn save_body(&self, record: &mut Outcome) -> io::Result<()> {
        let (Some(dir), Some(raw)) = (&self.save_dir, record.raw_body.take()) else {
            return Ok(());
        };
        let path = dir.join(file_name(record, raw.content_type.as_deref()));
        std::fs::write(&path, &raw.bytes)?;
        record.body_path = Some(path.to_string_lossy().into_owned());
        Ok(())
    }

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

/// `<id or index>.<ext>`: the id made safe for a file name (with the index
/// added when that changed it, so two ids never share a file).
fn file_name(record: &Outcome, content_type: Option<&str>) -> String {
    let stem = match &record.id {
        Some(id) => {
            let safe: String = id
                .chars()
                .take(100)
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if safe == *id && !safe.starts_with('.') {
                safe
            } else {
                format!("{safe}-{}", record.index)
            }
        }
        None => record.index.to_string(),
    };
    format!("{stem}.{}", extension(content_type))
}

fn extension(content_type: Option<&str>) -> &'static str {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.as_str() {
        "application/json" => "json",
        e if e.ends_with("+json") => "json",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/csv" => "csv",
        "application/xml" | "text/xml" => "xml",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: Option<&str>, index: u64) -> Outcome {
        let mut spec = RequestSpec::get("http://a.test/").with_index(index);
        spec.id = id.map(str::to_owned);
        Outcome::invalid(&spec, "")
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(
            file_name(
                &record(Some("user-42"), 7),
                Some("application/json; charset=utf-8")
            ),
            "user-42.json"
        );
        assert_eq!(
            file_name(&record(Some("a/b"), 7), Some("text/plain")),
            "a_b-7.txt"
        );
        assert_eq!(file_name(&record(Some("a_b"), 8), None), "a_b.bin");
        assert_eq!(file_name(&record(Some(".."), 9), None), "..-9.bin");
        assert_eq!(file_name(&record(None, 3), Some("image/png")), "3.png");
    }

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
