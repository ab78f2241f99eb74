//! Redirects, followed by volley itself rather than by the HTTP client, so
//! that every hop obeys the same rules:
//!
//! - at most `max_redirects` hops, then a `redirect` error;
//! - `https` → `http` is refused, and so is any scheme but http(s);
//! - when the origin (scheme, host or port) changes, credentials
//!   (`Authorization`, `Cookie`, `Proxy-Authorization`) and every header the
//!   user marked secret are dropped, as curl and browsers do after their
//!   credential-leak advisories;
//! - no `Referer` is ever added;
//! - 303, and 301/302 after a POST, continue as a body-less GET; 307 and 308
//!   keep the method and body.

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use url::Url;

/// Where the next hop goes and how.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Hop {
    pub url: Url,
    pub method: Method,
    /// Keep the request body (307/308, or a method that had none to drop).
    pub keep_body: bool,
    /// The origin changes: drop credentials and secret headers.
    pub cross_origin: bool,
}

/// What a response means for redirection.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Not a redirect (or one without a usable `Location`): this is the response.
    Done,
    /// Follow the redirect.
    Follow(Hop),
    /// A redirect that must not be followed; the message says why.
    Refuse(String),
}

/// Decides what to do with a response of `status` to `method current`.
pub(crate) fn next(
    status: StatusCode,
    location: Option<&HeaderValue>,
    current: &Url,
    method: &Method,
) -> Next {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return Next::Done;
    }
    let Some(location) = location.and_then(|v| v.to_str().ok()) else {
        return Next::Done;
    };
    let url = match current.join(location.trim()) {
        Ok(url) => url,
        Err(e) => {
            return Next::Refuse(format!(
                "redirect to an unusable Location {location:?}: {e}"
            ))
        }
    };
    match (current.scheme(), url.scheme()) {
        ("https", "http") => {
            return Next::Refuse(format!(
                "refused insecure redirect from https to http: {url}"
            ));
        }
        (_, "http" | "https") => {}
        (_, other) => {
            return Next::Refuse(format!("refused redirect to unsupported scheme {other:?}"))
        }
    }
    let (method, keep_body) = match status.as_u16() {
        303 if *method != Method::HEAD => (Method::GET, false),
        301 | 302 if *method == Method::POST => (Method::GET, false),
        _ => (method.clone(), true),
    };
    let cross_origin = url.origin() != current.origin();
    Next::Follow(Hop {
        url,
        method,
        keep_body,
        cross_origin,
    })
}

/// Headers that are credentials by definition, dropped on any origin change.
const CREDENTIALS: [HeaderName; 3] = [
    http::header::AUTHORIZATION,
    http::header::COOKIE,
    http::header::PROXY_AUTHORIZATION,
];

/// Prepares `headers` for `hop`: strips credentials and `secret` headers on
/// an origin change, and the body's headers when the body is dropped.
pub(crate) fn carry_headers(headers: &mut HeaderMap, hop: &Hop, secret: &[HeaderName]) {
    if hop.cross_origin {
        for name in CREDENTIALS.iter().chain(secret) {
            headers.remove(name);
        }
    }
    if !hop.keep_body {
        for name in [
            http::header::CONTENT_TYPE,
            http::header::CONTENT_LENGTH,
            http::header::CONTENT_ENCODING,
            http::header::TRANSFER_ENCODING,
        ] {
            headers.remove(name);
        }
    }
    headers.remove(http::header::REFERER);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    fn follow(status: u16, location: &str, from: &str, method: Method) -> Next {
        let loc = HeaderValue::from_str(location).expect("header");
        next(
            StatusCode::from_u16(status).expect("status"),
            Some(&loc),
            &url(from),
            &method,
        )
    }

    #[test]
    fn methods_and_bodies_per_status() {
        let cases = [
            (301, Method::POST, Method::GET, false),
            (302, Method::POST, Method::GET, false),
            (303, Method::POST, Method::GET, false),
            (303, Method::HEAD, Method::HEAD, true),
            (302, Method::PUT, Method::PUT, true),
            (307, Method::POST, Method::POST, true),
            (308, Method::PATCH, Method::PATCH, true),
        ];
        for (status, from, to, keep_body) in cases {
            match follow(status, "/next", "http://a.test/x", from.clone()) {
                Next::Follow(hop) => {
                    assert_eq!(
                        (hop.method, hop.keep_body),
                        (to, keep_body),
                        "{status} {from}"
                    );
                    assert_eq!(hop.url.as_str(), "http://a.test/next");
                    assert!(!hop.cross_origin);
                }
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[test]
    fn origin_changes() {
        let cross = |loc, from| match follow(302, loc, from, Method::GET) {
            Next::Follow(hop) => hop.cross_origin,
            other => panic!("{other:?}"),
        };
        assert!(!cross("/y", "http://a.test:8080/x"));
        assert!(!cross("http://a.test:8080/y", "http://a.test:8080/x"));
        assert!(cross("http://a.test:8081/y", "http://a.test:8080/x"));
        assert!(cross("http://b.test:8080/y", "http://a.test:8080/x"));
        assert!(cross("https://a.test/y", "http://a.test/x"));
    }

    #[test]
    fn refusals_and_non_redirects() {
        assert!(
            matches!(follow(302, "http://a.test/", "https://a.test/", Method::GET), Next::Refuse(m) if m.contains("insecure"))
        );
        assert!(
            matches!(follow(301, "ftp://a.test/", "http://a.test/", Method::GET), Next::Refuse(m) if m.contains("ftp"))
        );
        assert_eq!(follow(200, "/x", "http://a.test/", Method::GET), Next::Done);
        assert_eq!(follow(304, "/x", "http://a.test/", Method::GET), Next::Done);
        assert_eq!(
            next(
                StatusCode::FOUND,
                None,
                &url("http://a.test/"),
                &Method::GET
            ),
            Next::Done
        );
    }

    #[test]
    fn secrets_are_stripped_across_origins_only() {
        let secret = [HeaderName::from_static("x-api-key")];
        let mut base = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer t"),
            ("cookie", "s=1"),
            ("x-api-key", "k"),
            ("accept", "*/*"),
            ("referer", "r"),
        ] {
            base.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let hop = |cross_origin| Hop {
            url: url("http://a.test/"),
            method: Method::GET,
            keep_body: true,
            cross_origin,
        };

        let mut same = base.clone();
        carry_headers(&mut same, &hop(false), &secret);
        assert!(same.contains_key("authorization") && same.contains_key("x-api-key"));
        assert!(!same.contains_key("referer"));

        let mut other = base.clone();
        carry_headers(&mut other, &hop(true), &secret);
        let left: Vec<_> = other.keys().map(|k| k.as_str().to_owned()).collect();
        assert_eq!(left, ["accept"]);
    }
}
