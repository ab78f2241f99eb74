//! Percent-decoding of path segments and query strings, just enough for the
//! URL grammar (values such as an HTTP-date in `/retry-after` or an absolute
//! URL in `/redirect-to?url=`).

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept as is.
/// `+` is left alone (it is only a space in form bodies). Invalid UTF-8 in the
/// result is replaced lossily.
pub(crate) fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded value of the first `name=value` pair in `query`.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(key, _)| decode(key) == name)
        .map(|(_, value)| decode(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_keeps_stray_percents() {
        assert_eq!(
            decode("Wed,%2021%20Oct%202015%2007%3A28%3A00%20GMT"),
            "Wed, 21 Oct 2015 07:28:00 GMT"
        );
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz+a"), "%zz+a");
    }

    #[test]
    fn finds_query_parameters() {
        let q = Some("url=http%3A%2F%2F127.0.0.1%3A9%2Fx%3Fa%3Db&status=307&flag");
        assert_eq!(
            query_param(q, "url").as_deref(),
            Some("http://127.0.0.1:9/x?a=b")
        );
        assert_eq!(query_param(q, "status").as_deref(), Some("307"));
        assert_eq!(query_param(q, "flag").as_deref(), Some(""));
        assert_eq!(query_param(q, "none"), None);
        assert_eq!(query_param(None, "url"), None);
    }
}
