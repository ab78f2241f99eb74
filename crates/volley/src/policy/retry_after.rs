//! Parsing `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
//!
//! The result distinguishes the cases the retry policy treats differently:
//! a wait to honour (a past date means "now"), and a value that could not be
//! read, which falls back to the ordinary backoff.

use std::time::{Duration, SystemTime};

use http::HeaderValue;

/// What a `Retry-After` header asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long (zero for a date in the past).
    Wait(Duration),
    /// The value is neither delta-seconds nor an HTTP-date.
    Unreadable,
}

/// Parses a `Retry-After` value relative to `now`.
pub fn parse(value: &HeaderValue, now: SystemTime) -> RetryAfter {
    let Ok(text) = value.to_str() else {
        return RetryAfter::Unreadable;
    };
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // Over u64 seconds is "forever": saturate, the cap then refuses it.
        let secs = text.parse::<u64>().unwrap_or(u64::MAX);
        return RetryAfter::Wait(Duration::from_secs(secs));
    }
    match httpdate::parse_http_date(text) {
        Ok(when) => RetryAfter::Wait(when.duration_since(now).unwrap_or(Duration::ZERO)),
        Err(_) => RetryAfter::Unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn forms_of_retry_after() {
        // 1994-11-06T08:49:37Z is 784111777.
        let now = at(784_111_777);
        let cases: &[(&str, RetryAfter)] = &[
            ("2", RetryAfter::Wait(Duration::from_secs(2))),
            (" 120 ", RetryAfter::Wait(Duration::from_secs(120))),
            ("0", RetryAfter::Wait(Duration::ZERO)),
            (
                "Sun, 06 Nov 1994 08:49:47 GMT",
                RetryAfter::Wait(Duration::from_secs(10)),
            ),
            (
                "Sunday, 06-Nov-94 08:50:37 GMT",
                RetryAfter::Wait(Duration::from_secs(60)),
            ),
            (
                "Sun Nov  6 08:49:57 1994",
                RetryAfter::Wait(Duration::from_secs(20)),
            ),
            (
                "Sun, 06 Nov 1994 08:00:00 GMT",
                RetryAfter::Wait(Duration::ZERO),
            ),
            (
                "99999999999999999999999",
                RetryAfter::Wait(Duration::from_secs(u64::MAX)),
            ),
            ("soon", RetryAfter::Unreadable),
            ("-5", RetryAfter::Unreadable),
            ("1.5", RetryAfter::Unreadable),
            ("", RetryAfter::Unreadable),
        ];
        for (raw, want) in cases {
            let value = HeaderValue::from_str(raw).expect("header value");
            assert_eq!(parse(&value, now), *want, "{raw:?}");
        }
    }

    #[test]
    fn non_ascii_is_unreadable() {
        let value = HeaderValue::from_bytes(b"\xff\xfe").expect("opaque bytes");
        assert_eq!(parse(&value, at(0)), RetryAfter::Unreadable);
    }
}
