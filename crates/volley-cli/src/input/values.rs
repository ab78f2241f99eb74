//! The `--values` file of a template run: rows of named values, read one at
//! a time.
//!
//! - CSV (`.csv`) or TSV (`.tsv`, the same rules with a tab): a header row
//!   names the columns; quoted fields may hold commas, quotes (doubled) and
//!   newlines. Header names are trimmed; values are kept exactly.
//! - JSON lines (`.jsonl`, `.ndjson`, `.json`): one object per line; its
//!   fields are the columns. Blank lines are skipped.
//!
//! Each row becomes a map of column → value (strings for CSV, the JSON
//! values for JSON lines), or the reason it is unusable (a CSV row with the
//! wrong number of fields, text that is not UTF-8, a line that is not a JSON
//! object). Only I/O errors stop the reading.
//!
//! Memory is bounded: the CSV reader is fed through a guard that refuses a
//! row longer than the line limit (a quote left open would otherwise make
//! the rest of the file one field), and JSON lines go through the same
//! bounded [`LineReader`] as request lines. The guard also counts lines,
//! which the CSV parser does not do reliably for fields with newlines.

use std::io::{self, BufRead, BufReader, Read};

use anyhow::{bail, Context as _};
use serde_json::{Map, Value};

use super::jsonl::{describe_json_error, kind_of};
use super::lines::{Line, LineReader};
use super::Source;

/// Read buffer for the values file, as for input files.
const BUFFER: usize = 64 * 1024;

/// The format of a values file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ValuesFormat {
    /// Comma-separated, with a header row.
    Csv,
    /// Tab-separated, with a header row.
    Tsv,
    /// One JSON object per line.
    Jsonl,
}

impl ValuesFormat {
    /// The format a file name's extension implies, if any.
    pub fn from_name(name: &str) -> Option<ValuesFormat> {
        let (_, extension) = name.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "csv" => Some(ValuesFormat::Csv),
            "tsv" | "tab" => Some(ValuesFormat::Tsv),
            "jsonl" | "ndjson" | "json" => Some(ValuesFormat::Jsonl),
            _ => None,
        }
    }
}

/// One row of the values file.
#[derive(Debug, PartialEq)]
pub struct Row {
    /// 1-based position among the rows (the CSV header is not a row).
    pub number: u64,
    /// 1-based line of the file where the row starts.
    pub line: u64,
    /// The row's columns, or why the row is unusable.
    pub fields: Result<Map<String, Value>, String>,
}

/// An open values file, positioned at its first row.
pub struct Values {
    name: String,
    /// Read from standard input.
    stdin: bool,
    rows: u64,
    max_row_len: usize,
    inner: Inner,
}

enum Inner {
    Csv(Box<CsvRows>),
    Jsonl(LineReader<Box<dyn BufRead + Send>>),
}

struct CsvRows {
    reader: csv::Reader<Guard>,
    /// The header's names, trimmed.
    header: Vec<String>,
    /// Reused between rows.
    record: csv::ByteRecord,
}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Values")
            .field("name", &self.name)
            .field("rows", &self.rows)
            .field("header", &self.header())
            .finish_non_exhaustive()
    }
}

impl Values {
    /// Opens `source` as a values file of `format`, reading the CSV header.
    /// Rows longer than `max_row_len` bytes are refused (see the module docs).
    ///
    /// # Errors
    ///
    /// The header cannot be read, is missing (an empty file) or is not
    /// UTF-8; the message names the file.
    pub fn open(
        source: Source,
        format: ValuesFormat,
        max_row_len: usize,
    ) -> anyhow::Result<Values> {
        let name = source.name().to_owned();
        let stdin = matches!(source, Source::Stdin);
        let input: Box<dyn BufRead + Send> = match source {
            // `Stdin`, not its lock: the reader moves to the input thread.
            Source::Stdin => Box::new(BufReader::with_capacity(BUFFER, io::stdin())),
            Source::File { file, .. } => Box::new(BufReader::with_capacity(BUFFER, file)),
        };
        let delimiter = match format {
            ValuesFormat::Csv => b',',
            ValuesFormat::Tsv => b'\t',
            ValuesFormat::Jsonl => {
                let lines = LineReader::new(input, max_row_len);
                return Ok(Values {
                    name,
                    stdin,
                    rows: 0,
                    max_row_len,
                    inner: Inner::Jsonl(lines),
                });
            }
        };
        let mut input = input;
        skip_bom(&mut input).with_context(|| format!("cannot read {name}"))?;
        let guard = Guard {
            inner: input,
            max_row_len: max_row_len as u64,
            row_start: 0,
            pending: Vec::new(),
            newlines: 0,
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            // Rows with the wrong number of fields are reported one by one.
            .flexible(true)
            .from_reader(guard);
        let header = reader
            .byte_headers()
            .map_err(|e| read_error(&name, e, max_row_len, "its header"))?;
        if header.is_empty() {
            bail!("{name} is empty: its first line must name the columns");
        }
        let header = header
            .iter()
            .enumerate()
            .map(|(i, field)| match std::str::from_utf8(field) {
                Ok(text) => Ok(text.trim().to_owned()),
                Err(_) => bail!("{name}: column {} of the header is not UTF-8", i + 1),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let end = reader.position().byte();
        reader.get_mut().row_read(end);
        Ok(Values {
            name,
            stdin,
            rows: 0,
            max_row_len,
            inner: Inner::Csv(Box::new(CsvRows {
                reader,
                header,
                record: csv::ByteRecord::new(),
            })),
        })
    }

    /// The name for messages: `stdin`, or the path as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the rows come from standard input.
    pub fn is_stdin(&self) -> bool {
        self.stdin
    }

    /// The CSV header's column names; `None` for JSON lines, whose rows
    /// each name their own.
    pub fn header(&self) -> Option<&[String]> {
        match &self.inner {
            Inner::Csv(csv) => Some(&csv.header),
            Inner::Jsonl(_) => None,
        }
    }

    /// The next row, or `None` at the end of the file.
    ///
    /// # Errors
    ///
    /// A read error, or a CSV row over the length limit; the message names
    /// the file and the row.
    pub fn next_row(&mut self) -> anyhow::Result<Option<Row>> {
        let number = self.rows + 1;
        let row = match &mut self.inner {
            Inner::Csv(csv) => csv.next_row(&self.name, number, self.max_row_len)?,
            Inner::Jsonl(lines) => next_json_row(lines, &self.name, number, self.max_row_len)?,
        };
        self.rows += u64::from(row.is_some());
        Ok(row)
    }
}

impl CsvRows {
    fn next_row(
        &mut self,
        name: &str,
        number: u64,
        max_row_len: usize,
    ) -> anyhow::Result<Option<Row>> {
        let more = self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(|e| read_error(name, e, max_row_len, &format!("row {number}")))?;
        if !more {
            return Ok(None);
        }
        let end = self.reader.position().byte();
        let line = self.reader.get_mut().row_read(end);
        let fields = if self.record.len() == self.header.len() {
            self.columns()
        } else {
            Err(format!(
                "{} fields, but the header has {}",
                self.record.len(),
                self.header.len()
            ))
        };
        Ok(Some(Row {
            number,
            line,
            fields,
        }))
    }

    /// The current record as column → string; the first of two columns
    /// with the same name wins.
    fn columns(&self) -> Result<Map<String, Value>, String> {
        let mut map = Map::new();
        for (i, (column, field)) in self.header.iter().zip(&self.record).enumerate() {
            let text = std::str::from_utf8(field).map_err(|e| {
                format!(
                    "field {} ({column}) is not valid UTF-8 (byte 0x{:02x} at offset {})",
                    i + 1,
                    field[e.valid_up_to()],
                    e.valid_up_to()
                )
            })?;
            if !map.contains_key(column) {
                map.insert(column.clone(), Value::String(text.to_owned()));
            }
        }
        Ok(map)
    }
}

fn next_json_row(
    lines: &mut LineReader<Box<dyn BufRead + Send>>,
    name: &str,
    number: u64,
    max_row_len: usize,
) -> anyhow::Result<Option<Row>> {
    loop {
        let (line, read) = match lines.next_line() {
            Ok(Some(numbered)) => numbered,
            Ok(None) => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot read {name} after line {}", lines.line_number())
                })
            }
        };
        let fields = match read {
            Line::TooLong { len, .. } => Err(format!(
                "line too long: {len} bytes, over the limit of {max_row_len} bytes"
            )),
            Line::Complete(bytes) => {
                let text = match std::str::from_utf8(bytes) {
                    Ok(text) => text.trim_start_matches('\u{feff}').trim(),
                    Err(e) => {
                        let at = e.valid_up_to();
                        let message = format!(
                            "not valid UTF-8 (byte 0x{:02x} at column {})",
                            bytes[at],
                            at + 1
                        );
                        return Ok(Some(Row {
                            number,
                            line,
                            fields: Err(message),
                        }));
                    }
                };
                if text.is_empty() {
                    continue;
                }
                json_object(text)
            }
        };
        return Ok(Some(Row {
            number,
            line,
            fields,
        }));
    }
}

fn json_object(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "expected a JSON object of column values, found {}",
            kind_of(&other)
        )),
        Err(e) => Err(describe_json_error(&e)),
    }
}

/// Drops a UTF-8 byte-order mark at the start, which some spreadsheet
/// programs write and which would otherwise stick to the first column name.
/// (A pipe that delivers its first read in pieces smaller than 3 bytes
/// would keep its mark; no real producer does.)
fn skip_bom(input: &mut impl BufRead) -> io::Result<()> {
    const BOM: &[u8] = b"\xef\xbb\xbf";
    if input.fill_buf()?.starts_with(BOM) {
        input.consume(BOM.len());
    }
    Ok(())
}

/// The error of a CSV read: the guard's, or an I/O error.
fn read_error(name: &str, e: csv::Error, max_row_len: usize, what: &str) -> anyhow::Error {
    let too_long = matches!(e.kind(), csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<RowTooLong>()));
    if too_long {
        anyhow::anyhow!(
            "{name}: {what} is longer than {max_row_len} bytes (a quote left open?); reading stopped"
        )
    } else {
        anyhow::Error::new(e).context(format!("cannot read {what} of {name}"))
    }
}

/// The reader under the CSV parser: passes bytes through, but fails once
/// the row being read has grown past the limit, so that the parser's
/// record buffer stays bounded. It keeps the bytes handed over since the
/// end of the last row, so that it can tell the line a row starts on.
struct Guard {
    inner: Box<dyn BufRead + Send>,
    max_row_len: u64,
    /// Where the row being read starts (the end of the last one), in bytes.
    row_start: u64,
    /// The bytes handed to the parser from `row_start` on: the row being
    /// read and whatever the parser has read ahead. At most the limit plus
    /// one read.
    pending: Vec<u8>,
    /// Newlines before `row_start`.
    newlines: u64,
}

impl Guard {
    /// The parser has read a row (or the header) ending at byte `end`:
    /// returns the 1-based line the row starts on, and moves past it.
    fn row_read(&mut self, end: u64) -> u64 {
        let len = usize::try_from(end - self.row_start)
            .expect("a row is at most the limit long, which is a usize");
        let row = &self.pending[..len];
        // Blank lines, which the parser skips, come before the row proper.
        let blank = row
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .filter(|&&b| b == b'\n')
            .count();
        let line = self.newlines + blank as u64 + 1;
        self.newlines += row.iter().filter(|&&b| b == b'\n').count() as u64;
        self.pending.drain(..len);
        self.row_start = end;
        line
    }
}

/// The guard's error: a row over the limit.
#[derive(Debug)]
struct RowTooLong;

impl std::fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("row too long")
    }
}

impl std::error::Error for RowTooLong {}

impl Read for Guard {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.len() as u64 > self.max_row_len {
            return Err(io::Error::new(io::ErrorKind::InvalidData, RowTooLong));
        }
        let n = self.inner.read(buf)?;
        self.pending.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
