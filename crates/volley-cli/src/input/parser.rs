//! One input line → one [`Item`]: the rules of the input format.
//!
//! - A blank line, or one whose first non-space character is `#`, is skipped
//!   and gets no index. Every other line is a request line and gets the
//!   next index, counted across all sources, whether it is usable or not.
//! - A line starting with `{` is a JSON request spec (see [`super::jsonl`]);
//!   one starting with `[` or `"` is read as JSON too, so that a stray array
//!   or a quoted URL (`jq` without `-r`) gets a message about JSON rather
//!   than "not a URL". Any other line is a URL, trimmed of surrounding space.
//! - The command-line [`Defaults`] (`-X`, `-H`, `-d`, `--json`) apply to
//!   every line; a JSON line's own fields win.
//! - An unusable line becomes [`Item::Invalid`], whose message starts with
//!   where the line is (`urls.txt line 12: …`): FAULTS.md row 19.
//!
//! The final checks of URL, method and headers are
//! [`RequestSpec::validate`]'s, so the CLI and the library agree on what
//! can be sent.

use bytes::Bytes;
use volley::{Outcome, RequestSpec};

use super::ids::SeenIds;
use super::jsonl::{self, JsonBody};
use super::lines::Line;
use super::{Item, Location};

/// The longest line read by default, in bytes: 1 MiB.
pub const DEFAULT_MAX_LINE_LEN: usize = 1 << 20;

/// How much of an unusable line the record's `url` field carries.
const SHOWN_CHARS: usize = 200;

/// Request settings from the command line, applied to every line.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    /// `-X`: the method of lines that set none.
    pub method: Option<String>,
    /// `-H`: headers of every request; a line's header of the same name
    /// (compared case-insensitively) replaces it.
    pub headers: Vec<(String, String)>,
    /// `-d`: the body of lines that set none.
    pub body: Option<Bytes>,
    /// `--json`: a request with a body gets `Content-Type: application/json`
    /// unless it sets a content type of its own.
    pub json_body: bool,
}

impl Defaults {
    /// Checks the default method and headers once, so that a bad `-X` or `-H`
    /// is a usage error (exit 2) rather than a million invalid records.
    ///
    /// # Errors
    ///
    /// `RequestSpec::validate`'s message for the bad method or header.
    pub fn check(&self) -> Result<(), String> {
        let mut probe = RequestSpec::get("http://defaults.invalid/");
        if let Some(method) = &self.method {
            probe.method.clone_from(method);
        }
        probe.headers.clone_from(&self.headers);
        probe.validate()
    }
}

/// Turns lines into [`Item`]s, numbering request lines and remembering ids.
#[derive(Debug)]
pub struct LineParser {
    defaults: Defaults,
    max_line_len: usize,
    /// The index the next request line gets.
    next_index: u64,
    /// The ids seen so far (hashed: see [`SeenIds`]).
    seen_ids: SeenIds,
}

impl LineParser {
    /// A parser applying `defaults` to every line. `max_line_len` is the
    /// longest line, in bytes without its line ending, that is read
    /// ([`DEFAULT_MAX_LINE_LEN`] unless the user says otherwise); a longer
    /// one becomes one invalid record and is never held in memory whole.
    pub fn new(defaults: Defaults, max_line_len: usize) -> Self {
        LineParser {
            defaults,
            max_line_len,
            next_index: 0,
            seen_ids: SeenIds::default(),
        }
    }

    /// The line-length limit for [`super::lines::LineReader`].
    pub fn max_line_len(&self) -> usize {
        self.max_line_len
    }

    /// How many request lines (items) have been parsed so far; also the
    /// index the next one gets.
    pub fn items(&self) -> u64 {
        self.next_index
    }

    /// The item for one line as read, or `None` for a blank or comment line.
    pub fn parse(&mut self, at: Location<'_>, line: Line<'_>) -> Option<Item> {
        let bytes = match line {
            Line::Complete(bytes) => bytes,
            Line::TooLong { prefix, len } => {
                // A comment stays a comment however long it is; anything
                // else is a request line that cannot be read.
                if is_skipped(prefix) {
                    return None;
                }
                let message = format!(
                    "line too long: {len} bytes, over the limit of {} bytes",
                    self.max_line_len
                );
                return Some(self.unreadable(at, message, shown(prefix)));
            }
        };
        if is_skipped(bytes) {
            return None;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.parse_str(at, text),
            Err(e) => {
                let at_byte = e.valid_up_to();
                let message = format!(
                    "not valid UTF-8 (byte 0x{:02x} at column {})",
                    bytes[at_byte],
                    at_byte + 1
                );
                Some(self.unreadable(at, message, shown(bytes)))
            }
        }
    }

    /// The item for one line of text, or `None` for a blank or comment line.
    pub fn parse_str(&mut self, at: Location<'_>, text: &str) -> Option<Item> {
        // A byte-order mark, left by some editors at the start of a file,
        // is not whitespace to `trim`; drop it so the first line still works.
        let text = text.trim_start_matches('\u{feff}').trim();
        if is_skipped(text.as_bytes()) {
            return None;
        }
        if !text.starts_with(['{', '[', '"']) {
            return Some(self.finish(at, self.url_line(text), None));
        }
        match jsonl::parse(text) {
            Ok(request) => {
                let duplicate = match &request.id {
                    Some(id) if !self.remember(id) => Some(SeenIds::duplicate_message(id)),
                    _ => None,
                };
                let spec = self.json_line(request);
                Some(self.finish(at, spec, duplicate))
            }
            Err(rejection) => {
                // The id still counts as used: a later line with the same id
                // would otherwise give two records with one id.
                if let Some(id) = &rejection.id {
                    self.remember(id);
                }
                let method = self.method(
                    rejection.method,
                    rejection.has_body || self.defaults.body.is_some(),
                );
                let url = rejection
                    .url
                    .map_or_else(|| shown(text.as_bytes()), |url| shorten(&url));
                let mut spec = RequestSpec::new(method, url);
                spec.id = rejection.id;
                spec.meta = rejection.meta;
                Some(self.invalid(at, rejection.message, spec))
            }
        }
    }

    /// A plain URL line: the defaults, with the line as the URL.
    fn url_line(&self, url: &str) -> RequestSpec {
        let mut spec = RequestSpec::new(String::new(), url);
        spec.headers.clone_from(&self.defaults.headers);
        spec.body.clone_from(&self.defaults.body);
        spec.method = self.method(None, spec.body.is_some());
        Self::add_json_content_type(&mut spec, self.defaults.json_body);
        spec
    }

    /// A JSON line merged over the defaults.
    fn json_line(&self, request: jsonl::JsonRequest) -> RequestSpec {
        let mut spec = RequestSpec::new(String::new(), request.url);
        spec.id = request.id;
        spec.meta = request.meta;
        // A line header replaces every default of the same name; the line's
        // own repeats (two `Accept`s, say) are all kept, in order.
        let own = request.headers;
        spec.headers = self
            .defaults
            .headers
            .iter()
            .filter(|(name, _)| {
                !own.iter()
                    .any(|(own, _)| own.trim().eq_ignore_ascii_case(name.trim()))
            })
            .cloned()
            .collect();
        spec.headers.extend(own);
        let json_body = match request.body {
            Some(JsonBody::Text(text)) => {
                spec.body = Some(Bytes::from(text));
                self.defaults.json_body
            }
            Some(JsonBody::Json(json)) => {
                spec.body = Some(Bytes::from(json));
                true
            }
            None => {
                spec.body.clone_from(&self.defaults.body);
                self.defaults.json_body
            }
        };
        spec.method = self.method(request.method, spec.body.is_some());
        Self::add_json_content_type(&mut spec, json_body);
        spec
    }

    /// The line's method, else `-X`, else — like `curl -d` — `POST` for a
    /// request with a body and `GET` without.
    fn method(&self, own: Option<String>, has_body: bool) -> String {
        own.or_else(|| self.defaults.method.clone())
            .unwrap_or_else(|| if has_body { "POST" } else { "GET" }.to_owned())
    }

    /// Adds `Content-Type: application/json` to a JSON request with a body
    /// that does not name a content type itself. A request without a body
    /// gets none: there is nothing for it to describe.
    fn add_json_content_type(spec: &mut RequestSpec, json_body: bool) {
        let has_content_type = spec
            .headers
            .iter()
            .any(|(name, _)| name.trim().eq_ignore_ascii_case("content-type"));
        if json_body && spec.body.is_some() && !has_content_type {
            spec.headers
                .push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
    }

    /// Numbers a parsed spec and checks it: the final word on URL, method
    /// and headers is `validate()`'s; a duplicate id is reported after that.
    fn finish(
        &mut self,
        at: Location<'_>,
        mut spec: RequestSpec,
        duplicate: Option<String>,
    ) -> Item {
        spec.index = self.take_index();
        match spec.validate().err().or(duplicate) {
            None => Item::Spec(spec),
            Some(reason) => {
                spec.url = shorten(&spec.url);
                Item::Invalid(Outcome::invalid(&spec, format!("{at}: {reason}")))
            }
        }
    }

    /// The invalid record for a line that never became a spec: `spec`
    /// holds what could be read of it.
    fn invalid(&mut self, at: Location<'_>, message: String, spec: RequestSpec) -> Item {
        let spec = spec.with_index(self.take_index());
        Item::Invalid(Outcome::invalid(&spec, format!("{at}: {message}")))
    }

    /// The invalid record for a line unread past its bytes (too long, not
    /// UTF-8): the defaults' method, and the line's start as the URL.
    fn unreadable(&mut self, at: Location<'_>, message: String, shown: String) -> Item {
        let method = self.method(None, self.defaults.body.is_some());
        self.invalid(at, message, RequestSpec::new(method, shown))
    }

    fn take_index(&mut self) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        index
    }

    /// Records `id` as used; false when it was used before.
    fn remember(&mut self, id: &str) -> bool {
        self.seen_ids.first_use(id)
    }
}

/// True for a blank line or a comment (first non-space character `#`).
fn is_skipped(line: &[u8]) -> bool {
    match line.trim_ascii_start().first() {
        None => true,
        Some(&first) => first == b'#',
    }
}

/// The start of an unusable line as text, for the record's `url` field.
fn shown(line: &[u8]) -> String {
    // 4 bytes a character at most, so this many bytes hold SHOWN_CHARS.
    let head = &line[..line.len().min(SHOWN_CHARS * 4 + 4)];
    shorten(String::from_utf8_lossy(head).trim())
}

/// The first [`SHOWN_CHARS`] characters of `text`, with `…` when cut.
pub(super) fn shorten(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests;
