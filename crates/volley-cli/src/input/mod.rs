//! Input readers: the user's files of URL lines and JSON-lines request specs,
//! or a URL template and its rows of values, turned into a stream of
//! [`Item`]s, exactly one per request line or row.
//!
//! The pieces, in the order a byte meets them:
//!
//! - [`lines`]: splits a byte stream into lines without ever holding more
//!   than the line-length limit of one line in memory.
//! - [`parser`]: one line → one [`Item`]: skips blanks and comments, numbers
//!   the request lines, merges the command-line [`Defaults`], refuses
//!   duplicate ids, and turns every unusable line into an `invalid_request`
//!   record that names the source and line number (FAULTS.md row 19).
//! - [`jsonl`]: the JSON object form of a line, `{"url": …, "method": …}`.
//! - [`reader`]: runs all of the above on its own thread over the input
//!   sources in order, feeding a bounded channel so that reading waits
//!   while the engine is busy.
//!
//! A template run (`--template URL --values FILE`) replaces the line
//! reading and parsing with:
//!
//! - [`template`]: the `{column}` syntax, and how a value is written in a
//!   URL, a header or a body.
//! - [`values`]: the CSV, TSV or JSON-lines rows of values, one at a time.
//! - [`rows`]: one row → one [`Item`], on the same input thread and channel.
//!
//! [`ids`] remembers the ids seen, so a repeated id is refused in both.
//!
//! Nothing here fails because of a line's content: a bad line is data (an
//! [`Item::Invalid`]) and the batch carries on. Only I/O errors — a missing
//! file, a read error — end the reading, as an `Err` naming the file.

pub mod ids;
pub mod jsonl;
pub mod lines;
pub mod parser;
pub mod reader;
pub mod rows;
pub mod template;
pub mod values;

use std::fmt;

use volley::{Outcome, RequestSpec};

pub use parser::{Defaults, LineParser, DEFAULT_MAX_LINE_LEN};
pub use reader::{read_sources, spawn, ReadSummary, Source};
pub use rows::{Rows, TemplateInput};
pub use values::ValuesFormat;

/// What one request line of the input became.
#[derive(Clone, Debug)]
pub enum Item {
    /// A request to send; `validate()` has accepted it.
    Spec(RequestSpec),
    /// The `invalid_request` record for an unusable line; it is written as
    /// is and never sent.
    Invalid(Outcome),
}

impl Item {
    /// The line's 0-based position among the request lines of the input.
    pub fn index(&self) -> u64 {
        match self {
            Item::Spec(spec) => spec.index,
            Item::Invalid(outcome) => outcome.index,
        }
    }
}

/// Where a line came from, for messages: `urls.txt line 12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location<'a> {
    /// The source's name: `stdin`, or the file path as the user gave it.
    pub source: &'a str,
    /// 1-based line number within the source, counting every line
    /// (blank lines and comments too, so that it matches an editor's).
    pub line: u64,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.source, self.line)
    }
}
