//! Placeholder templates: the `{column}` text of a `--template` run's URL,
//! `-H` values and `-d`/`--json` body, filled from one row of `--values` at
//! a time.
//!
//! `{name}` stands for the row's value of column `name`; `{{` and `}}` are
//! literal braces. A template is parsed once, before any request, so that a
//! typo is a usage error rather than a million invalid records. Parsing also
//! decides where each placeholder stands ([`Slot`]), and that decides how a
//! value is written there:
//!
//! | where | how a value is written |
//! |---|---|
//! | the URL: host, path, query, fragment | UTF-8, percent-encoded except `A-Z a-z 0-9 - . _ ~` |
//! | a `-H` value | as is; a control character (other than tab) makes the row invalid |
//! | a `-d` body | as is |
//! | a `--json` body, inside a string literal | JSON-escaped |
//! | a `--json` body, outside a string | a JSON number, `true`, `false` or `null` as is; anything else as a JSON string |
//!
//! In a `--json` body the braces of JSON objects are JSON, not placeholders:
//! outside a string, `{` starts a placeholder only when a name follows it at
//! once (`{id}`, not `{"id"` or `{ }`), and `}` is always JSON. Inside a
//! string the rules are those of the other templates.
//!
//! The template's own characters are never changed: only values are encoded.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

mod syntax;

use syntax::{json_pieces, tokens, Token, UrlPart};

/// The bytes of a value that are percent-encoded in every part of a URL:
/// all but RFC 3986's "unreserved" characters.
///
/// One set for the host, path, query and fragment alike, on purpose. RFC
/// 3986 §2.2 asks that data which would otherwise look like a delimiter be
/// encoded, and servers disagree on the rest: `+` is a space to form
/// decoders (and to S3 in paths), `;` starts a path parameter for Java
/// servers, `:` and `@` mean something in the authority. Encoding all of
/// them means no value can ever be read as URL syntax, and every server
/// decodes it back to the same text. This is Python's
/// `urllib.parse.quote(value, safe="")`, and JavaScript's
/// `encodeURIComponent` less its `!'()*` exceptions.
pub const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where a placeholder stands, which decides how its value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Before the path: scheme, user information, host, port.
    Authority,
    /// The path; a value is (part of) one segment.
    Path,
    /// The query, after `?`.
    Query,
    /// The fragment, after `#`.
    Fragment,
    /// A header value.
    Header,
    /// A `-d` body.
    Raw,
    /// Inside a string literal of a `--json` body.
    JsonString,
    /// Outside any string literal of a `--json` body.
    JsonBare,
}

/// A template that does not parse; the message names the column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SyntaxError {}

/// Why one row cannot fill a template. The row becomes an
/// `invalid_request` record with this message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FillError {
    /// The row has no value (or `null`) for this placeholder.
    Missing(String),
    /// The value for this placeholder in a header has a control character.
    Control(String),
    /// The value makes a whole path segment `.` or `..`, which a URL parser
    /// would resolve, fetching another path than the template's.
    DotSegment(String),
}

impl fmt::Display for FillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FillError::Missing(name) => write!(f, "no value for {{{name}}}"),
            FillError::Control(name) => write!(
                f,
                "the value for {{{name}}} contains a control character, which a header cannot carry"
            ),
            FillError::DotSegment(name) => write!(
                f,
                "the value for {{{name}}} makes a path segment \".\" or \"..\", which would change the path"
            ),
        }
    }
}

/// One value of a row, as the values file gave it.
#[derive(Clone, Copy, Debug)]
pub enum Cell<'a> {
    /// Untyped text: a CSV field. In a JSON body outside a string, text
    /// that reads as a JSON number, `true`, `false` or `null` is inserted
    /// as that; other text as a string.
    Text(&'a str),
    /// A typed JSON value: a field of a JSON-lines row, inserted outside a
    /// string as the value it is (the string `"7"` stays a string).
    Json(&'a Value),
}

impl<'a> Cell<'a> {
    /// The value as text: a string as is, any other JSON value compactly.
    pub fn text(self) -> Cow<'a, str> {
        match self {
            Cell::Text(text) => Cow::Borrowed(text),
            Cell::Json(Value::String(text)) => Cow::Borrowed(text),
            Cell::Json(value) => Cow::Owned(value.to_string()),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    /// Text of the template itself, braces unescaped; copied as is.
    Text(String, Slot),
    /// A placeholder: a column name.
    Field(String, Slot),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The template as the user wrote it, for records of rows that cannot
    /// fill it.
    source: String,
    pieces: Vec<Piece>,
}

impl Template {
    /// A URL template; each placeholder's [`Slot`] is the URL part it is in.
    ///
    /// # Errors
    ///
    /// An unclosed `{`, an unmatched `}` or an empty `{}`.
    pub fn url(text: &str) -> Result<Template, SyntaxError> {
        let mut pieces = Vec::new();
        let mut part = UrlPart::default();
        for token in tokens(text)? {
            match token {
                Token::Field(name) => pieces.push(Piece::Field(name, part.slot)),
                // Split the text where the URL part changes, so that every
                // piece lies in one part.
                Token::Text(text) => {
                    let mut start = 0;
                    for (at, c) in text.char_indices() {
                        let before = part.slot;
                        part.step(c);
                        if part.slot != before {
                            if at > start {
                                pieces.push(Piece::Text(text[start..at].to_owned(), before));
                            }
                            start = at;
                        }
                    }
                    if start < text.len() {
                        pieces.push(Piece::Text(text[start..].to_owned(), part.slot));
                    }
                }
            }
        }
        Ok(Template::new(text, pieces))
    }

    /// A header value template: values are inserted as they are.
    ///
    /// # Errors
    ///
    /// As [`Template::url`].
    pub fn header(text: &str) -> Result<Template, SyntaxError> {
        Template::plain(text, Slot::Header)
    }

    /// A `-d` body template: values are inserted as they are.
    ///
    /// # Errors
    ///
    /// As [`Template::url`].
    pub fn raw(text: &str) -> Result<Template, SyntaxError> {
        Template::plain(text, Slot::Raw)
    }

    /// A `--json` body template (see the module docs for its braces). The
    /// template must be valid JSON once its placeholders are filled.
    ///
    /// # Errors
    ///
    /// An unclosed placeholder, an unmatched `}` or an empty `{}` in a
    /// string, or text that is not JSON even with its placeholders filled.
    pub fn json(text: &str) -> Result<Template, SyntaxError> {
        let template = Template::new(text, json_pieces(text)?);
        // Fill every placeholder with a value that is valid where it
        // stands: if the result is not JSON, no row can make it so.
        let probe = template
            .render(|_| Some(Cell::Text("0")))
            .expect("every placeholder has a value");
        serde_json::from_str::<serde::de::IgnoredAny>(&probe).map_err(|e| {
            // Without serde's position: it is in the filled text, not the
            // template the user wrote.
            let full = e.to_string();
            let reason = full.split(" at line ").next().unwrap_or(&full);
            SyntaxError(format!(
                "not valid JSON once its placeholders are filled ({reason})"
            ))
        })?;
        Ok(template)
    }

    fn plain(text: &str, slot: Slot) -> Result<Template, SyntaxError> {
        let pieces = tokens(text)?
            .into_iter()
            .map(|token| match token {
                Token::Text(text) => Piece::Text(text, slot),
                Token::Field(name) => Piece::Field(name, slot),
            })
            .collect();
        Ok(Template::new(text, pieces))
    }

    fn new(source: &str, pieces: Vec<Piece>) -> Template {
        Template {
            source: source.to_owned(),
            pieces,
        }
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The column names of the placeholders, in order (repeats included).
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Field(name, _) => Some(name.as_str()),
            Piece::Text(..) => None,
        })
    }

    /// The placeholders with the slot each stands in, in order.
    pub fn slots(&self) -> impl Iterator<Item = (&str, Slot)> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Field(name, slot) => Some((name.as_str(), *slot)),
            Piece::Text(..) => None,
        })
    }

    /// Fills the template with the values `lookup` gives for each column name.
    ///
    /// # Errors
    ///
    /// The first placeholder that `lookup` has no value for, or whose value
    /// cannot stand where it is (see [`FillError`]).
    pub fn render<'r>(
        &self,
        lookup: impl Fn(&str) -> Option<Cell<'r>>,
    ) -> Result<String, FillError> {
        let mut out = String::with_capacity(self.source.len() + 16);
        // Where the path is in `out`, and where path placeholders' values
        // are, for the dot-segment check at the end.
        let mut path: Option<(usize, usize)> = None;
        let mut path_fields: Vec<(usize, usize, &str)> = Vec::new();
        for piece in &self.pieces {
            let start = out.len();
            let slot = match piece {
                Piece::Text(text, slot) => {
                    out.push_str(text);
                    *slot
                }
                Piece::Field(name, slot) => {
                    let cell = lookup(name).ok_or_else(|| FillError::Missing(name.clone()))?;
                    write_value(&mut out, cell, *slot, name)?;
                    if *slot == Slot::Path {
                        path_fields.push((start, out.len(), name));
                    }
                    *slot
                }
            };
            if slot == Slot::Path {
                let begin = path.map_or(start, |(begin, _)| begin);
                path = Some((begin, out.len()));
            }
        }
        if let Some((begin, end)) = path {
            check_dot_segments(&out, begin, end, &path_fields)?;
        }
        Ok(out)
    }
}

/// Refuses a path segment that is `.` or `..` and holds part of a value.
/// A value's own `/` is encoded, so the path's `/`s are the template's and
/// split it into the segments a server will see.
fn check_dot_segments(
    out: &str,
    begin: usize,
    end: usize,
    fields: &[(usize, usize, &str)],
) -> Result<(), FillError> {
    let mut seg_start = begin;
    for segment in out[begin..end].split('/') {
        let seg_end = seg_start + segment.len();
        if matches!(segment, "." | "..") {
            let overlapping = fields
                .iter()
                .find(|(start, stop, _)| start < stop && *start < seg_end && *stop > seg_start);
            if let Some((_, _, name)) = overlapping {
                return Err(FillError::DotSegment((*name).to_owned()));
            }
        }
        seg_start = seg_end + 1;
    }
    Ok(())
}

/// Appends `cell` as it must be written at `slot`.
fn write_value(out: &mut String, cell: Cell<'_>, slot: Slot, name: &str) -> Result<(), FillError> {
    match slot {
        Slot::Authority | Slot::Path | Slot::Query | Slot::Fragment => {
            out.extend(utf8_percent_encode(&cell.text(), URL_VALUE));
        }
        Slot::Header => {
            let text = cell.text();
            if text.chars().any(|c| c.is_control() && c != '\t') {
                return Err(FillError::Control(name.to_owned()));
            }
            out.push_str(&text);
        }
        Slot::Raw => out.push_str(&cell.text()),
        Slot::JsonString => {
            // A JSON string literal of the text, without its quotes.
            let quoted = Value::String(cell.text().into_owned()).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
        Slot::JsonBare => match cell {
            Cell::Text(text) if is_json_scalar(text) => out.push_str(text),
            Cell::Text(text) => out.push_str(&Value::String(text.to_owned()).to_string()),
            Cell::Json(value) => out.push_str(&value.to_string()),
        },
    }
    Ok(())
}

/// True when `text` is, by itself, a JSON number, `true`, `false` or
/// `null`: exactly RFC 8259's grammar, so `007`, `+1`, `1.` and ` 1` are
/// not (they become strings, keeping leading zeros of ids intact).
pub fn is_json_scalar(text: &str) -> bool {
    if matches!(text, "true" | "false" | "null") {
        return true;
    }
    let bytes = text.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}

#[cfg(test)]
mod tests;
