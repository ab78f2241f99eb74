//! URL parsing, once per origin.
//!
//! A batch names the same few origins over and over (`https://api.example.com`
//! with a million paths), and parsing the origin is most of the work of
//! parsing a URL: the host goes through IDNA or IP-address normalisation.
//! So each thread keeps the origins it has parsed, and a URL whose origin is
//! known is parsed as a reference relative to it (only its path, query and
//! fragment). By the WHATWG URL rules that gives exactly the URL a full
//! parse gives, for the shapes accepted here: the rest must start with one
//! `/`, a `?` or a `#`, or be empty. Anything else takes the full parse.

use std::cell::RefCell;

use foldhash::HashMap;
use url::Url;

/// Origins kept per thread; the set is dropped and rebuilt when full, so a
/// run over millions of origins costs a full parse each, as without it.
const KEPT: usize = 256;

thread_local! {
    static ORIGINS: RefCell<HashMap<Box<str>, Url>> = RefCell::new(HashMap::default());
}

/// `Url::parse(raw)`, with the origin's parse reused when it was seen before.
pub(crate) fn parse(raw: &str) -> Result<Url, url::ParseError> {
    let Some((origin, rest)) = split(raw) else {
        return Url::parse(raw);
    };
    ORIGINS.with(|origins| {
        let mut origins = origins.borrow_mut();
        if let Some(base) = origins.get(origin) {
            return base.join(rest);
        }
        let Ok(base) = Url::parse(origin) else {
            // Whatever is wrong, the full parse says it best.
            return Url::parse(raw);
        };
        let url = base.join(rest);
        if origins.len() == KEPT {
            origins.clear();
        }
        origins.insert(origin.into(), base);
        url
    })
}

/// True when `raw` is an http(s) URL whose origin this thread has parsed, so
/// that parsing `raw` cannot fail: resolving a path, query or fragment
/// against a valid origin always succeeds.
pub(crate) fn known(raw: &str) -> bool {
    split(raw).is_some_and(|(origin, _)| ORIGINS.with(|o| o.borrow().contains_key(origin)))
}

/// `(scheme://authority, rest)` of an http(s) URL whose rest can be resolved
/// against its origin; `None` for any other shape.
fn split(raw: &str) -> Option<(&str, &str)> {
    // Byte scans: `find` with a set of chars decodes the text char by char,
    // and this runs twice per request. The bytes looked for are ASCII, so
    // every index found is a char boundary.
    let scheme_end = raw.bytes().position(|b| b == b':')?;
    if !raw[scheme_end..].starts_with("://") {
        return None;
    }
    let scheme = &raw[..scheme_end];
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let authority = scheme_end + 3;
    let end = raw.as_bytes()[authority..]
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#' | b'\\'))
        .map_or(raw.len(), |at| authority + at);
    let (origin, rest) = raw.split_at(end);
    // `//x` and backslashes would be read as a new authority.
    let plain = rest.is_empty()
        || rest.starts_with(['?', '#'])
        || (rest.starts_with('/') && !rest[1..].starts_with(['/', '\\']));
    plain.then_some((origin, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly_as_a_full_parse() {
        let urls = [
            "http://127.0.0.1:8080/json/1",
            "http://127.0.0.1:8080/json/2?x=1#f",
            "HTTP://Example.COM:80/a/../b/./c?q",
            "https://example.com",
            "https://example.com?q=1",
            "https://example.com#top",
            "https://example.com/",
            "https://user:pw@example.com:8443/p%20q?r=%zz",
            "https://bücher.example/straße?ä=ö",
            "http://[::1]:9000/x",
            "http://0x7f.1/",
            "http://example.com//double",
            "http://example.com/\\back",
            "http://example.com\\path",
            "http://example.com/a?b//c",
            "http://",
            "http:///nohost",
            "http://exa%mple.com/",
            "https://example.com:99999/",
            "ftp://example.com/x",
            "mailto:someone@example.com",
            "http:/one-slash",
        ];
        // Twice: the first pass fills the origins, the second reuses them.
        for _ in 0..2 {
            for raw in urls {
                let full = Url::parse(raw);
                assert!(
                    !known(raw) || full.is_ok(),
                    "{raw} is known but does not parse"
                );
                let fast = parse(raw);
                assert_eq!(
                    fast.as_ref().map(Url::as_str),
                    full.as_ref().map(Url::as_str),
                    "{raw}"
                );
            }
        }
    }

    #[test]
    fn only_plain_rests_are_resolved_against_the_origin() {
        assert_eq!(split("http://h:1/a?b"), Some(("http://h:1", "/a?b")));
        assert_eq!(split("https://h"), Some(("https://h", "")));
        assert_eq!(split("https://h?q"), Some(("https://h", "?q")));
        assert_eq!(split("http://h//x"), None);
        assert_eq!(split("http://h/\\x"), None);
        assert_eq!(split("http://h\\x"), None);
        assert_eq!(split("ftp://h/x"), None);
        assert_eq!(split("no-scheme/x"), None);
    }

    #[test]
    fn the_kept_origins_stay_bounded() {
        for i in 0..(KEPT * 3) {
            let raw = format!("http://h{i}.test/x");
            assert_eq!(parse(&raw).expect("valid").as_str(), raw);
        }
        ORIGINS.with(|origins| assert!(origins.borrow().len() <= KEPT));
    }
}
