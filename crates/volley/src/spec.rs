//! `RequestSpec`: one request as the caller describes it, before anything is sent.
//!
//! A spec is plain data (strings and bytes) so that any input — a URL line, a
//! JSON-lines record, a filled template — can become one without failing. It
//! is checked once, by [`RequestSpec::validate`], when the engine takes it; a
//! spec that fails the check becomes an `invalid_request` record and is never
//! sent.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use serde_json::{Map, Value};
use url::Url;

use crate::origins;

/// One request to make.
///
/// `index` is the caller's position for this request in its input; the
/// engine copies it into the record unchanged and never renumbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestSpec {
    /// 0-based position in the input.
    pub index: u64,
    /// The caller's id for this request (JSON-lines `id`, a template row's id column).
    pub id: Option<String>,
    /// HTTP method, e.g. `GET`. Empty means `GET`.
    pub method: String,
    /// Absolute `http` or `https` URL.
    pub url: String,
    /// Request headers, in order; later ones with the same name are added, not replaced.
    pub headers: Vec<(String, String)>,
    /// Request body, sent as is.
    pub body: Option<Bytes>,
    /// Pass-through fields copied into the record's `meta`, untouched.
    pub meta: Option<Map<String, Value>>,
}

/// The header that makes a request safe to send twice, whatever its method.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// A spec that passed [`RequestSpec::validate`]: everything parsed, ready to send.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    pub method: Method,
    pub url: Url,
    pub headers: http::HeaderMap,
    pub body: Option<Bytes>,
    /// The request carries an `Idempotency-Key`: it may be sent twice,
    /// whatever its method.
    pub idempotency_key: bool,
}

impl RequestSpec {
    /// A `GET` of `url`, index 0.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A request with the given method and URL, index 0, no headers or body.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        RequestSpec {
            method: method.into(),
            url: url.into(),
            ..RequestSpec::default()
        }
    }

    /// Sets the input position copied into the record.
    #[must_use]
    pub fn with_index(mut self, index: u64) -> Self {
        self.index = index;
        self
    }

    /// Sets the caller's id copied into the record.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Adds a request header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the request body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The method, upper-cased, with `GET` for an empty one.
    pub fn method_name(&self) -> &str {
        if self.method.is_empty() {
            "GET"
        } else {
            &self.method
        }
    }

    /// True when the method is idempotent (GET, HEAD, PUT, DELETE, OPTIONS,
    /// TRACE), so sending it twice has the effect of sending it once.
    pub fn is_idempotent(&self) -> bool {
        parse_method(self.method_name()).is_ok_and(|m| crate::policy::retry::is_idempotent(&m))
    }

    /// True when the request carries an `Idempotency-Key` header.
    pub fn has_idempotency_key(&self) -> bool {
        self.headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("idempotency-key"))
    }

    /// Checks that the spec can be sent: an absolute `http`/`https` URL with a
    /// host and no control characters, a valid method token, valid header
    /// names and values.
    ///
    /// # Errors
    ///
    /// A human-readable reason, used as the message of the `invalid_request`
    /// record.
    pub fn validate(&self) -> Result<(), String> {
        // The same checks as `prepare`, without building what it returns:
        // a reader validates every line, and the engine prepares it again.
        check_url(&self.url)?;
        self.checked_method()?;
        self.checked_headers()
            .try_for_each(|header| header.map(drop))
    }

    pub(crate) fn prepare(&self) -> Result<Prepared, String> {
        let url = parse_url(&self.url)?;
        let method = self.checked_method()?;
        let mut headers = http::HeaderMap::with_capacity(self.headers.len());
        for header in self.checked_headers() {
            let (name, value) = header?;
            headers.append(name, value);
        }
        if let Some(credentials) = basic_auth(&url) {
            headers
                .entry(http::header::AUTHORIZATION)
                .or_insert(credentials);
        }
        Ok(Prepared {
            method,
            url,
            idempotency_key: headers.contains_key(IDEMPOTENCY_KEY),
            headers,
            body: self.body.clone(),
        })
    }

    fn checked_method(&self) -> Result<Method, String> {
        parse_method(self.method_name()).map_err(|_| format!("invalid method {:?}", self.method))
    }

    /// Each header parsed, in order, or why it cannot be sent.
    fn checked_headers(
        &self,
    ) -> impl Iterator<Item = Result<(HeaderName, HeaderValue), String>> + '_ {
        self.headers.iter().map(|(name, value)| {
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| format!("invalid header name {name:?}"))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| format!("invalid value for header {name}"))?;
            Ok((name, value))
        })
    }
}

/// `Authorization: Basic` for a URL that carries a user (`https://user:pass@host/`),
/// as curl and browsers send it; `None` without one. The header is marked
/// sensitive. A redirect to another origin drops it, like any
/// `Authorization`.
fn basic_auth(url: &Url) -> Option<HeaderValue> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decoded = |part: &str| percent_encoding::percent_decode_str(part).collect::<Vec<u8>>();
    let mut pair = decoded(url.username());
    pair.push(b':');
    pair.extend(decoded(url.password().unwrap_or("")));
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value = HeaderValue::try_from(format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// A method name, upper-cased: methods are case-sensitive on the wire, and
/// users type `-X post`. Upper-case names (nearly all) are not copied.
fn parse_method(name: &str) -> Result<Method, http::method::InvalidMethod> {
    if name.bytes().any(|b| b.is_ascii_lowercase()) {
        Method::from_bytes(name.to_ascii_uppercase().as_bytes())
    } else {
        Method::from_bytes(name.as_bytes())
    }
}

/// Whether [`parse_url`] would accept `raw`, decided without building the
/// URL when its origin was accepted before on this thread.
fn check_url(raw: &str) -> Result<(), String> {
    if origins::known(raw) {
        return refuse_characters(raw);
    }
    parse_url(raw).map(drop)
}

/// Refuses the characters the URL parser would silently drop or encode.
fn refuse_characters(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err("empty URL".to_owned());
    }
    // Bytes first: URLs are nearly always plain ASCII, and a byte scan is
    // cheap; characters are looked at only when something may be wrong.
    // One pass: a byte of 0x80 or more is part of a non-ASCII character.
    let suspect = raw.bytes().any(|b| b <= b' ' || b >= 0x7f);
    let refused = suspect
        .then(|| raw.chars().find(|c| c.is_control() || *c == ' '))
        .flatten();
    match refused {
        None => Ok(()),
        Some(' ') => Err("URL contains a space character".to_owned()),
        Some(c) => Err(format!("URL contains a control ({c:?}) character")),
    }
}

/// Parses an absolute `http`/`https` URL, refusing what the URL parser would
/// silently "fix" (control characters, spaces) and other schemes.
///
/// # Errors
///
/// Why the URL is unusable.
pub fn parse_url(raw: &str) -> Result<Url, String> {
    refuse_characters(raw)?;
    let url = origins::parse(raw).map_err(|e| format!("not a URL ({e}): {}", shorten(raw)))?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(format!("unsupported scheme {other:?}: only http and https")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("URL has no host: {}", shorten(raw)));
    }
    Ok(url)
}

/// The first 200 characters of a value, for error messages about huge inputs.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 200;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_in_the_url_becomes_basic_authorization() {
        let authorization = |spec: RequestSpec| {
            let prepared = spec.prepare().expect("a valid spec");
            prepared
                .headers
                .get_all(http::header::AUTHORIZATION)
                .iter()
                .map(|v| v.to_str().expect("ASCII").to_owned())
                .collect::<Vec<_>>()
        };
        // "user:pw"
        let got = authorization(RequestSpec::get("http://user:pw@a.test/"));
        assert_eq!(got, ["Basic dXNlcjpwdw=="]);
        // Percent-encoded parts are decoded first: "a@b:p ss".
        let got = authorization(RequestSpec::get("http://a%40b:p%20ss@a.test/"));
        assert_eq!(got, ["Basic YUBiOnAgc3M="]);
        // A user without a password: "token:".
        let got = authorization(RequestSpec::get("https://token@a.test/"));
        assert_eq!(got, ["Basic dG9rZW46"]);
        // The request's own Authorization wins.
        let spec =
            RequestSpec::get("http://user:pw@a.test/").with_header("Authorization", "Bearer t");
        assert_eq!(authorization(spec), ["Bearer t"]);
        assert!(authorization(RequestSpec::get("http://a.test/")).is_empty());
    }

    #[test]
    fn urls_that_are_refused() {
        let cases = [
            ("", "empty URL"),
            ("example.com/x", "not a URL"),
            ("file:///etc/passwd", "unsupported scheme \"file\""),
            ("ftp://example.com/x", "unsupported scheme \"ftp\""),
            ("http://exa\u{7}mple.com/", "control"),
            ("http://example.com/a b", "space"),
            ("http://", "not a URL"),
        ];
        for (url, reason) in cases {
            let err = parse_url(url).expect_err(url);
            assert!(err.contains(reason), "{url:?}: {err}");
        }
    }

    #[test]
    fn good_spec_prepares() {
        let spec = RequestSpec::new("post", "https://api.example.com/v1?q=1")
            .with_header("X-Key", " v ")
            .with_body("{}");
        let prepared = spec.prepare().expect("valid");
        assert_eq!(prepared.method, Method::POST);
        assert_eq!(prepared.headers["x-key"], "v");
    }

    #[test]
    fn bad_method_and_header_are_refused() {
        let spec = RequestSpec::new("GE T", "http://a.test/");
        assert!(spec
            .validate()
            .expect_err("a space in the method")
            .contains("invalid method"));
        let spec = RequestSpec::get("http://a.test/").with_header("bad name", "v");
        assert!(spec
            .validate()
            .expect_err("a space in the name")
            .contains("invalid header name"));
        let spec = RequestSpec::get("http://a.test/").with_header("x", "a\nb");
        assert!(spec
            .validate()
            .expect_err("a newline in the value")
            .contains("invalid value"));
    }

    /// `validate` skips building the URL once the origin is known; its
    /// verdict and message must still be `prepare`'s, first time or not.
    #[test]
    fn validate_agrees_with_prepare() {
        let specs = [
            RequestSpec::get("http://a.test/x"),
            RequestSpec::get("http://a.test/y?z#f"),
            RequestSpec::get("http://a.test/a b"),
            RequestSpec::get("http://a.test/\u{7}"),
            RequestSpec::get("http://a.test//evil.test/"),
            RequestSpec::get("http://a.test:99999/x"),
            RequestSpec::get("https://bücher.test/straße"),
            RequestSpec::get("ftp://a.test/x"),
            RequestSpec::get(""),
            RequestSpec::new("delete", "http://a.test/x"),
            RequestSpec::new("GE T", "http://a.test/x"),
            RequestSpec::get("http://a.test/x").with_header("bad name", "v"),
            RequestSpec::get("http://a.test/x").with_header("x", "a\nb"),
        ];
        for pass in 0..2 {
            for spec in &specs {
                assert_eq!(
                    spec.validate(),
                    spec.prepare().map(drop),
                    "pass {pass}: {spec:?}"
                );
            }
        }
    }

    #[test]
    fn shorten_cuts_long_values() {
        let long = "x".repeat(1000);
        assert_eq!(shorten(&long).chars().count(), 201);
        assert_eq!(shorten("abc"), "abc");
    }
}
