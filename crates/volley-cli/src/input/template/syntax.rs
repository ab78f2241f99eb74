//! The syntax of templates: splitting a template into text and `{column}`
//! placeholders (plain templates and `--json` bodies, whose own braces are
//! JSON), and following which part of a URL the text has reached.

use super::{Piece, Slot, SyntaxError};

/// Which part of a URL the template's text has reached. The path starts at
/// the first `/` that is not part of the `//` after the scheme; `?` starts
/// the query and `#` the fragment, as in RFC 3986.
#[derive(Debug)]
pub(super) struct UrlPart {
    pub(super) slot: Slot,
    /// The last two characters of text seen while in the authority.
    last: [char; 2],
}

impl Default for UrlPart {
    fn default() -> Self {
        UrlPart {
            slot: Slot::Authority,
            last: [' '; 2],
        }
    }
}

impl UrlPart {
    /// Moves past the template's character `c` (never a value's).
    pub(super) fn step(&mut self, c: char) {
        self.slot = match (self.slot, c) {
            (Slot::Authority, '/') if self.last[1] == ':' || self.last == [':', '/'] => {
                Slot::Authority
            }
            (Slot::Authority, '/') => Slot::Path,
            (Slot::Authority | Slot::Path, '?') => Slot::Query,
            (Slot::Authority | Slot::Path | Slot::Query, '#') => Slot::Fragment,
            (slot, _) => slot,
        };
        self.last = [self.last[1], c];
    }
}

#[derive(Debug, PartialEq)]
pub(super) enum Token {
    Text(String),
    Field(String),
}

/// Splits a plain (URL, header, `-d`) template into text and placeholders.
pub(super) fn tokens(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let name = field_name(text, at, |_| true)?;
                // Skip the name and its closing brace.
                for _ in 0..=name.chars().count() {
                    chars.next();
                }
                if !literal.is_empty() {
                    tokens.push(Token::Text(std::mem::take(&mut literal)));
                }
                tokens.push(Token::Field(name.to_owned()));
            }
            '}' => return Err(unmatched(text, at)),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        tokens.push(Token::Text(literal));
    }
    Ok(tokens)
}

/// The name of the placeholder whose `{` is at byte `open` of `text`: the
/// text up to the next `}`, which must be non-empty and made of characters
/// that `allowed` accepts (never braces).
fn field_name(
    text: &str,
    open: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<&str, SyntaxError> {
    let rest = &text[open + 1..];
    let end = rest
        .find(|c: char| c == '}' || c == '{' || !allowed(c))
        .filter(|&end| rest[end..].starts_with('}'));
    match end {
        Some(0) => Err(SyntaxError(format!(
            "empty placeholder {{}} at column {} (write {{{{}}}} for literal braces)",
            column(text, open)
        ))),
        Some(end) => Ok(&rest[..end]),
        None => Err(SyntaxError(format!(
            "unclosed {{ at column {} (write {{{{ for a literal brace)",
            column(text, open)
        ))),
    }
}

fn unmatched(text: &str, at: usize) -> SyntaxError {
    SyntaxError(format!(
        "}} at column {} closes no placeholder (write }}}} for a literal brace)",
        column(text, at)
    ))
}

/// 1-based column, in characters, of byte `at` of `text`.
fn column(text: &str, at: usize) -> usize {
    text[..at].chars().count() + 1
}

/// Splits a `--json` template into text and placeholders, following JSON's
/// string literals so that the braces of objects stay JSON.
pub(super) fn json_pieces(text: &str) -> Result<Vec<Piece>, SyntaxError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut in_string = false;
    let mut chars = text.char_indices().peekable();
    let next_is = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, want: char| {
        chars.peek().map(|&(_, c)| c) == Some(want)
    };
    while let Some((at, c)) = chars.next() {
        let name = match (in_string, c) {
            (true, '\\') => {
                // An escape: the next character is part of it, whatever it is.
                literal.push(c);
                if let Some((_, escaped)) = chars.next() {
                    literal.push(escaped);
                }
                continue;
            }
            (_, '"') => {
                in_string = !in_string;
                literal.push(c);
                continue;
            }
            (true, '{') if next_is(&mut chars, '{') => {
                chars.next();
                literal.push('{');
                continue;
            }
            (true, '}') if next_is(&mut chars, '}') => {
                chars.next();
                literal.push('}');
                continue;
            }
            (true, '{') => field_name(text, at, |c| c != '"' && c != '\\')?,
            (true, '}') => return Err(unmatched(text, at)),
            // Outside strings, `{` is a placeholder only when a name
            // follows at once; `{"…`, `{ ` and `{}` are JSON objects.
            (false, '{')
                if chars
                    .peek()
                    .is_some_and(|&(_, c)| !c.is_whitespace() && !matches!(c, '"' | '{' | '}')) =>
            {
                field_name(text, at, |c| !c.is_whitespace() && c != '"')?
            }
            (_, c) => {
                literal.push(c);
                continue;
            }
        };
        for _ in 0..=name.chars().count() {
            chars.next();
        }
        let slot = if in_string {
            Slot::JsonString
        } else {
            Slot::JsonBare
        };
        if !literal.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut literal), slot));
        }
        pieces.push(Piece::Field(name.to_owned(), slot));
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal, Slot::JsonBare));
    }
    Ok(pieces)
}
