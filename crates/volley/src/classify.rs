//! Transport error → [`ErrorKind`].
//!
//! An error from the HTTP stack is a chain: `hyper_util`'s client error → a
//! connector error → `std::io::Error` → maybe a `rustls` error inside it;
//! or, while a body is read, `hyper::Error` → maybe an I/O error; over
//! HTTP/2, `hyper::Error` → an `h2::Error` (a reset stream, a GOAWAY). The
//! kind is decided by the most specific cause found anywhere in that chain
//! (our resolver's [`DnsError`], a `rustls::Error`, a `hyper::Error`, an
//! `h2::Error` from the server), then by a
//! timeout while connecting (our connector's [`ConnectTimeout`] or an I/O
//! `TimedOut` under a connect error), then by the `io::ErrorKind` of an I/O
//! cause, and only then by whether it happened while connecting.
//!
//! Note that `io::Error::source()` skips the error it wraps (it returns the
//! wrapped error's *source*), so the walk looks inside with `get_ref()`.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use hyper_util::client::legacy;

use crate::connect::ConnectTimeout;
use crate::outcome::ErrorKind;
use crate::pool::ConnectFailed;
use crate::resolve::DnsError;

/// A classified transport failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Classified {
    pub kind: ErrorKind,
    pub message: String,
    /// The server cannot have acted on the request: the connection was
    /// never made, or an HTTP/2 server refused the stream before processing
    /// it (`REFUSED_STREAM`).
    pub never_sent: bool,
}

/// The longest chain walked; real chains are under ten links.
const MAX_DEPTH: usize = 32;

/// Every cause in `err`'s chain, `err` first, looking inside `io::Error`s.
pub(crate) fn causes<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::with_capacity(8);
    let mut next = Some(err);
    while let Some(cause) = next {
        if out.len() == MAX_DEPTH {
            break;
        }
        out.push(cause);
        next = match cause
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => cause.source(),
        };
    }
    out
}

/// Classifies any transport error. `connect_timeout` is named in the message
/// of a connect timeout.
pub(crate) fn classify(err: &(dyn StdError + 'static), connect_timeout: Duration) -> Classified {
    let chain = causes(err);
    let innermost = chain.last().map_or_else(String::new, |e| e.to_string());
    let found = |kind: ErrorKind, never_sent: bool, message: String| Classified {
        kind,
        message,
        never_sent,
    };

    // 1. Causes whose type says exactly what happened.
    for cause in &chain {
        if let Some(dns) = cause.downcast_ref::<DnsError>() {
            return found(ErrorKind::Dns, true, dns.to_string());
        }
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return found(ErrorKind::Tls, true, format!("TLS handshake failed: {tls}"));
        }
        if let Some(classified) = cause.downcast_ref::<h2::Error>().and_then(from_h2) {
            return classified;
        }
        if let Some(h) = cause.downcast_ref::<hyper::Error>() {
            if h.is_canceled() {
                // hyper cancels a request only before writing any of it:
                // its connection closed (or went away) while the request
                // waited to be dispatched. The pool sends such a request
                // again itself on a reused connection, not on a new one.
                return found(
                    ErrorKind::Reset,
                    true,
                    format!("the connection closed before the request was sent: {innermost}"),
                );
            }
            if h.is_parse() || h.is_parse_status() {
                return found(
                    ErrorKind::Protocol,
                    false,
                    format!("malformed HTTP response: {innermost}"),
                );
            }
            if h.is_incomplete_message() {
                return found(
                    ErrorKind::Reset,
                    false,
                    "connection closed before the response was complete".to_owned(),
                );
            }
        }
    }

    // 2. A timeout while connecting: ours over the whole connect
    //    (`ConnectTimeout`), the TCP connector's share of it for one
    //    address, or the operating system's (both an I/O `TimedOut`).
    let connecting = chain.iter().any(|c| {
        c.is::<ConnectTimeout>()
            || c.is::<ConnectFailed>()
            || c.downcast_ref::<legacy::Error>()
                .is_some_and(legacy::Error::is_connect)
    });
    let timed_out = chain.iter().any(|c| {
        c.is::<ConnectTimeout>()
            || c.downcast_ref::<hyper::Error>()
                .is_some_and(hyper::Error::is_timeout)
            || c.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::TimedOut)
    });
    if connecting && timed_out {
        return found(
            ErrorKind::Timeout,
            true,
            format!(
                "connect timeout: no connection within {}",
                fmt_duration(connect_timeout)
            ),
        );
    }

    // 3. The operating system's word, from the innermost I/O error outwards.
    for cause in chain.iter().rev() {
        if let Some(io_err) = cause.downcast_ref::<io::Error>() {
            if let Some(classified) = from_io_kind(io_err.kind(), &innermost) {
                return classified;
            }
        }
    }

    // 4. What is known without an I/O error: a timeout of hyper's, or the
    //    phase it happened in.
    if timed_out {
        return found(ErrorKind::Timeout, false, format!("timed out: {innermost}"));
    }
    if connecting {
        return found(
            ErrorKind::Connect,
            true,
            format!("connect failed: {innermost}"),
        );
    }
    found(ErrorKind::Protocol, false, innermost)
}

/// An HTTP/2 stream ended by the server: reset (`RST_STREAM`), or caught in
/// a connection the server closed with a GOAWAY. Errors h2 found itself (a
/// malformed frame) or that carry an I/O error are left to the rest of
/// [`classify`].
///
/// Only `REFUSED_STREAM`, sent for this one stream, says this request was
/// not processed (RFC 9113 §8.7), so only it may be sent again whatever its
/// method. A GOAWAY error is about the connection: h2 hands it to the
/// streams above the GOAWAY's last stream id and to any stream the client
/// tries to open or use afterwards, and it does not say which stream, or
/// whether the server had already acted on it. In the test suite, against
/// hyper's own server, a POST the server had taken and answered still
/// ended with a GOAWAY error, and was sent twice while this counted as
/// "never sent". So a GOAWAY is a `reset` like any other: retried for
/// idempotent methods only.
fn from_h2(err: &h2::Error) -> Option<Classified> {
    if !err.is_remote() {
        return None;
    }
    let reason = err.reason().unwrap_or(h2::Reason::INTERNAL_ERROR);
    let (never_sent, message) = if err.is_go_away() {
        (
            false,
            format!("the server closed the HTTP/2 connection (GOAWAY {reason:?})"),
        )
    } else if err.is_reset() && reason == h2::Reason::REFUSED_STREAM {
        (
            true,
            "the server refused the HTTP/2 stream before processing it (REFUSED_STREAM)".to_owned(),
        )
    } else {
        (
            false,
            format!("the server reset the HTTP/2 stream ({reason:?})"),
        )
    };
    Some(Classified {
        kind: ErrorKind::Reset,
        message,
        never_sent,
    })
}

fn from_io_kind(kind: io::ErrorKind, detail: &str) -> Option<Classified> {
    use io::ErrorKind as K;
    let (kind, never_sent, what) = match kind {
        K::ConnectionRefused => (ErrorKind::Connect, true, "connection refused"),
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable | K::NetworkDown => {
            (ErrorKind::Connect, true, "host unreachable")
        }
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::NotConnected => {
            (ErrorKind::Reset, false, "connection reset")
        }
        K::UnexpectedEof => (ErrorKind::Reset, false, "connection closed early"),
        K::TimedOut => (ErrorKind::Timeout, false, "timed out"),
        K::InvalidData => (ErrorKind::Protocol, false, "invalid data"),
        _ => return None,
    };
    Some(Classified {
        kind,
        message: format!("{what}: {detail}"),
        never_sent,
    })
}

/// `1.5s`, `200ms`, `10s`: how durations appear in messages.
pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link in a synthetic chain, like a connector or client error.
    #[derive(Debug)]
    struct Wrap(&'static str, Box<dyn StdError + Send + Sync>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl StdError for Wrap {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.1)
        }
    }

    fn io(kind: io::ErrorKind) -> Box<dyn StdError + Send + Sync> {
        Box::new(io::Error::new(kind, "os says no"))
    }

    fn wrapped(inner: Box<dyn StdError + Send + Sync>) -> Box<dyn StdError + Send + Sync> {
        Box::new(Wrap(
            "client error",
            Box::new(Wrap("connector error", inner)),
        ))
    }

    #[test]
    fn chains_map_to_kinds() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let cases: Vec<(Box<dyn StdError + Send + Sync>, ErrorKind, bool)> = vec![
            (
                wrapped(io(io::ErrorKind::ConnectionRefused)),
                ErrorKind::Connect,
                true,
            ),
            (
                wrapped(io(io::ErrorKind::HostUnreachable)),
                ErrorKind::Connect,
                true,
            ),
            (
                wrapped(io(io::ErrorKind::ConnectionReset)),
                ErrorKind::Reset,
                false,
            ),
            (
                wrapped(io(io::ErrorKind::BrokenPipe)),
                ErrorKind::Reset,
                false,
            ),
            (
                wrapped(io(io::ErrorKind::UnexpectedEof)),
                ErrorKind::Reset,
                false,
            ),
            (
                wrapped(io(io::ErrorKind::TimedOut)),
                ErrorKind::Timeout,
                false,
            ),
            (
                wrapped(io(io::ErrorKind::InvalidData)),
                ErrorKind::Protocol,
                false,
            ),
            // A resolver failure wrapped in an io::Error, as the connector reports it.
            (
                wrapped(Box::new(io::Error::other(DnsError::new(
                    "x.invalid",
                    "no such host",
                )))),
                ErrorKind::Dns,
                true,
            ),
            // Our connector's timeout over the whole connect.
            (wrapped(Box::new(ConnectTimeout)), ErrorKind::Timeout, true),
            // rustls inside io::Error(InvalidData): TLS wins over the io kind.
            (
                wrapped(Box::new(io::Error::new(io::ErrorKind::InvalidData, tls))),
                ErrorKind::Tls,
                true,
            ),
            (
                Box::new(Wrap(
                    "mystery",
                    Box::new(Wrap("deeper", io(io::ErrorKind::Other))),
                )),
                ErrorKind::Protocol,
                false,
            ),
        ];
        for (err, kind, never_sent) in cases {
            let got = classify(&*err, Duration::from_secs(10));
            assert_eq!(
                (got.kind, got.never_sent),
                (kind, never_sent),
                "{err:?} → {got:?}"
            );
            assert!(!got.message.is_empty());
        }
    }

    #[test]
    fn messages_carry_the_cause() {
        let err = wrapped(Box::new(io::Error::other(DnsError::new(
            "api.invalid",
            "name does not resolve",
        ))));
        let got = classify(&*err, Duration::from_secs(10));
        assert!(got.message.contains("api.invalid"), "{}", got.message);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(fmt_duration(Duration::from_secs(10)), "10s");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
    }
}
