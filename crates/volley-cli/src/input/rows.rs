//! A template run: `--template URL --values FILE`, one request per row.
//!
//! - [`TemplateInput`] is what the command line asks for, checked before
//!   anything is opened: the templates' syntax (the URL, every `-H` value,
//!   the `-d`/`--json` body) and the values format.
//! - [`TemplateInput::open`] opens the values file and, for CSV, checks every
//!   placeholder against the header: still a usage error, before any request.
//! - [`Rows`] runs on the input thread like the line reader, feeding the
//!   same bounded channel, and [`RowParser`] turns each row into exactly one
//!   [`Item`]: index = the row's position, `id` from `--id-column`, `meta` =
//!   the row's columns. A row that cannot fill the templates becomes an
//!   `invalid_request` record naming the row: `rows.csv row 12 (line 13): no
//!   value for {lang}`.

use std::thread::JoinHandle;

use anyhow::{anyhow, bail};
use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use volley::{Outcome, RequestSpec};

use super::ids::SeenIds;
use super::jsonl::kind_of;
use super::parser::shorten;
use super::reader::{self, Emit};
use super::template::{Cell, Template};
use super::values::{Row, Values, ValuesFormat};
use super::{Defaults, Item, ReadSummary, Source};

/// The parsed templates of one request and what else every row's request gets.
#[derive(Debug)]
pub struct RequestTemplate {
    url: Template,
    /// `-X`: the method; else `POST` with a body and `GET` without.
    method: Option<String>,
    /// `-H`: names as given, values as templates.
    headers: Vec<(String, Template)>,
    /// `-d` (raw) or `--json` (JSON) body.
    body: Option<Template>,
    /// `--json`: add `Content-Type: application/json` unless `-H` sets one.
    json_body: bool,
    /// `--id-column`: the column whose value is the record's `id`.
    id_column: Option<String>,
}

impl RequestTemplate {
    /// Parses the URL template and, as templates too, the `-H` values and
    /// the body in `defaults`.
    ///
    /// # Errors
    ///
    /// A template that does not parse; a URL template that is not a usable
    /// URL even with its placeholders filled; a body that is not UTF-8.
    pub fn new(
        url: &str,
        defaults: &Defaults,
        id_column: Option<String>,
    ) -> anyhow::Result<RequestTemplate> {
        let url_template = Template::url(url).map_err(|e| anyhow!("--template {url:?}: {e}"))?;
        // A sample fill catches a template that no row can make usable (a
        // typo in the scheme, say) before a million invalid records.
        let sample = url_template
            .render(|_| Some(Cell::Text("1")))
            .expect("every placeholder has a value");
        RequestSpec::get(sample).validate().map_err(|e| {
            anyhow!("--template {url:?} is not a usable URL once its placeholders are filled: {e}")
        })?;
        let headers = defaults
            .headers
            .iter()
            .map(|(name, value)| {
                let template = Template::header(value).map_err(|e| anyhow!("-H {name:?}: {e}"))?;
                Ok((name.clone(), template))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let body = match &defaults.body {
            None => None,
            Some(bytes) => {
                let (flag, parse): (_, fn(&str) -> _) = if defaults.json_body {
                    ("--json", Template::json)
                } else {
                    ("-d", Template::raw)
                };
                let Ok(text) = std::str::from_utf8(bytes) else {
                    bail!("{flag}: with --template the body is a template and must be UTF-8 text");
                };
                Some(parse(text).map_err(|e| anyhow!("{flag}: {e}"))?)
            }
        };
        Ok(RequestTemplate {
            url: url_template,
            method: defaults.method.clone(),
            headers,
            body,
            json_body: defaults.json_body,
            id_column,
        })
    }

    /// Fails unless `header` has every column the templates and
    /// `--id-column` name.
    ///
    /// # Errors
    ///
    /// The first missing column, with the header's names.
    pub fn check_columns(&self, header: &[String], source: &str) -> anyhow::Result<()> {
        let templates = std::iter::once(("--template", &self.url))
            .chain(self.headers.iter().map(|(_, t)| ("-H", t)))
            .chain(self.body.iter().map(|t| {
                let flag = if self.json_body { "--json" } else { "-d" };
                (flag, t)
            }));
        let mut wanted: Vec<(String, &str)> = templates
            .flat_map(|(flag, t)| {
                t.fields()
                    .map(move |name| (format!("{{{name}}} in {flag}"), name))
            })
            .collect();
        if let Some(column) = &self.id_column {
            wanted.push(("--id-column".to_owned(), column));
        }
        for (what, name) in wanted {
            if !header.iter().any(|column| column == name) {
                const SHOWN: usize = 20;
                let mut columns: Vec<String> = header
                    .iter()
                    .take(SHOWN)
                    .map(|c| format!("{c:?}"))
                    .collect();
                if header.len() > SHOWN {
                    columns.push(format!("… ({} in all)", header.len()));
                }
                bail!(
                    "{what}: {source} has no column {name:?}; its header has {}",
                    columns.join(", ")
                );
            }
        }
        Ok(())
    }

    fn method(&self) -> String {
        self.method
            .clone()
            .unwrap_or_else(|| if self.body.is_some() { "POST" } else { "GET" }.to_owned())
    }

    /// The request for one row's values; `Err` with the reason and, when it
    /// got that far, the filled URL.
    fn fill<'r>(
        &self,
        lookup: impl Fn(&str) -> Option<Cell<'r>> + Copy,
    ) -> Result<RequestSpec, (String, Option<String>)> {
        let url = self.url.render(lookup).map_err(|e| (e.to_string(), None))?;
        let fail = |e: super::template::FillError| (e.to_string(), Some(url.clone()));
        let mut spec = RequestSpec::new(self.method(), url.as_str());
        for (name, value) in &self.headers {
            spec.headers
                .push((name.clone(), value.render(lookup).map_err(fail)?));
        }
        if let Some(body) = &self.body {
            spec.body = Some(Bytes::from(body.render(lookup).map_err(fail)?));
        }
        let has_content_type = spec
            .headers
            .iter()
            .any(|(name, _)| name.trim().eq_ignore_ascii_case("content-type"));
        if self.json_body && spec.body.is_some() && !has_content_type {
            spec.headers
                .push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        Ok(spec)
    }
}

/// Turns rows into [`Item`]s, numbering them and remembering ids.
#[derive(Debug)]
pub struct RowParser {
    template: RequestTemplate,
    /// The values file's name, for messages.
    source: String,
    /// JSON-lines values are typed (`7` is a number, `"7"` a string); CSV
    /// values are text.
    typed: bool,
    next_index: u64,
    seen_ids: SeenIds,
}

impl RowParser {
    /// A parser of the rows of `source` (its name, for messages); `typed`
    /// for JSON-lines values.
    pub fn new(template: RequestTemplate, source: &str, typed: bool) -> RowParser {
        RowParser {
            template,
            source: source.to_owned(),
            typed,
            next_index: 0,
            seen_ids: SeenIds::default(),
        }
    }

    /// The item for one row.
    pub fn parse(&mut self, row: Row) -> Item {
        let index = self.next_index;
        self.next_index += 1;
        let at = format!("{} row {} (line {})", self.source, row.number, row.line);
        let fields = match row.fields {
            Ok(fields) => fields,
            Err(reason) => return self.invalid(index, &at, &reason, None, None, None),
        };
        let typed = self.typed;
        // `null` counts as no value, as in JSON request lines.
        let lookup = |name: &str| match fields.get(name)? {
            Value::Null => None,
            Value::String(text) if !typed => Some(Cell::Text(text)),
            value => Some(Cell::Json(value)),
        };
        let id = match &self.template.id_column {
            None => Ok(None),
            Some(column) => id_of(column, lookup(column)).map(Some),
        };
        let duplicate = match &id {
            Ok(Some(id)) if !self.seen_ids.first_use(id) => Some(SeenIds::duplicate_message(id)),
            _ => None,
        };
        let filled = self.template.fill(lookup);
        let (id, problem) = match id {
            Ok(id) => (id, None),
            Err(reason) => (None, Some(reason)),
        };
        let meta = Some(fields);
        match (filled, problem) {
            (Ok(mut spec), problem) => {
                spec.index = index;
                spec.id = id;
                spec.meta = meta;
                match problem.or_else(|| spec.validate().err()).or(duplicate) {
                    None => Item::Spec(spec),
                    Some(reason) => {
                        spec.url = shorten(&spec.url);
                        Item::Invalid(Outcome::invalid(&spec, format!("{at}: {reason}")))
                    }
                }
            }
            (Err((reason, url)), problem) => {
                let reason = problem.unwrap_or(reason);
                self.invalid(index, &at, &reason, url, id, meta)
            }
        }
    }

    /// The invalid record for a row that never became a spec.
    fn invalid(
        &self,
        index: u64,
        at: &str,
        reason: &str,
        url: Option<String>,
        id: Option<String>,
        meta: Option<Map<String, Value>>,
    ) -> Item {
        let url = url.unwrap_or_else(|| self.template.url.source().to_owned());
        let mut spec = RequestSpec::new(self.template.method(), shorten(&url)).with_index(index);
        spec.id = id;
        spec.meta = meta;
        Item::Invalid(Outcome::invalid(&spec, format!("{at}: {reason}")))
    }
}

/// The record's `id` from the id column's value: text as is, a JSON integer
/// in decimal (as for the `id` of JSON request lines).
fn id_of(column: &str, cell: Option<Cell<'_>>) -> Result<String, String> {
    match cell {
        None => Err(format!("no value for the id column {column:?}")),
        Some(Cell::Text(text)) => Ok(text.to_owned()),
        Some(Cell::Json(Value::String(text))) => Ok(text.clone()),
        Some(Cell::Json(Value::Number(n))) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        Some(Cell::Json(other)) => Err(format!(
            "the id column {column:?} must hold a string or an integer, found {}",
            kind_of(other)
        )),
    }
}

/// `--template` and `--values`, checked but not yet opened.
#[derive(Debug)]
pub struct TemplateInput {
    request: RequestTemplate,
    /// The values file as given: a path, or `-` for stdin.
    values: String,
    format: ValuesFormat,
    max_row_len: usize,
}

impl TemplateInput {
    /// The values file as given (`-` for stdin), e.g. to count its rows.
    pub fn values_name(&self) -> &str {
        &self.values
    }

    /// True when the values file starts with a header row (CSV, TSV).
    pub fn has_header(&self) -> bool {
        !matches!(self.format, ValuesFormat::Jsonl)
    }

    /// Parses the templates (see [`RequestTemplate::new`]) and settles the
    /// values format: `format` if given, else the file name's extension.
    ///
    /// # Errors
    ///
    /// A template error, or a values file whose format cannot be told.
    pub fn new(
        template: &str,
        defaults: &Defaults,
        id_column: Option<String>,
        values: String,
        format: Option<ValuesFormat>,
        max_row_len: usize,
    ) -> anyhow::Result<TemplateInput> {
        let request = RequestTemplate::new(template, defaults, id_column)?;
        let format = match format.or_else(|| ValuesFormat::from_name(&values)) {
            Some(format) => format,
            None if values == "-" => {
                bail!("--values -: say which format stdin has with --values-format csv, tsv or jsonl")
            }
            None => bail!(
                "--values {values}: cannot tell the format from the name (.csv, .tsv, .jsonl, .ndjson, .json); \
                 say it with --values-format csv, tsv or jsonl"
            ),
        };
        Ok(TemplateInput {
            request,
            values,
            format,
            max_row_len,
        })
    }

    /// Opens the values file, reads a CSV header and checks the templates'
    /// columns against it. Blocking: it reads the header (from stdin, too).
    ///
    /// # Errors
    ///
    /// The file cannot be opened or its header read; a placeholder or the
    /// id column names a column the header does not have.
    pub fn open(self) -> anyhow::Result<Rows> {
        let source = Source::open(&self.values)?;
        let values = Values::open(source, self.format, self.max_row_len)?;
        if let Some(header) = values.header() {
            self.request.check_columns(header, values.name())?;
        }
        let typed = values.header().is_none();
        let parser = RowParser::new(self.request, values.name(), typed);
        Ok(Rows { values, parser })
    }
}

/// An open values file and the parser of its rows: the input of a template run.
#[derive(Debug)]
pub struct Rows {
    values: Values,
    parser: RowParser,
}

impl Rows {
    /// Reads every row on the current thread, passing each item to `emit`;
    /// `emit` returns false to stop reading.
    ///
    /// # Errors
    ///
    /// The values file cannot be read (or has a CSV row over the length
    /// limit); the message names the file and the row.
    pub fn read(mut self, emit: &mut dyn Emit) -> anyhow::Result<ReadSummary> {
        // The CSV parser's buffer is its own, so whether the next row would
        // wait is not known: from stdin, which may be a slow pipe, each row
        // is handed over at once.
        let eager = self.values.is_stdin();
        let mut summary = ReadSummary::default();
        while let Some(row) = self.values.next_row()? {
            summary.lines += 1;
            let item = self.parser.parse(row);
            summary.items += 1;
            summary.invalid += u64::from(matches!(item, Item::Invalid(_)));
            if !emit.item(item) || (eager && !emit.pause()) {
                return Ok(summary);
            }
        }
        summary.complete = true;
        Ok(summary)
    }

    /// Starts the input thread over the rows (see [`reader::spawn_with`]).
    ///
    /// # Panics
    ///
    /// When the operating system cannot start a thread.
    pub fn spawn(self, tx: mpsc::Sender<Vec<Item>>) -> JoinHandle<anyhow::Result<ReadSummary>> {
        reader::spawn_with(tx, move |emit| self.read(emit))
    }
}

#[cfg(test)]
mod tests;
