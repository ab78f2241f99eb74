//! `RetryPolicy`: whether a failed attempt is tried again, and after how long.
//!
//! The rules (DESIGN.md, "Defaults"):
//! - transient transport failures (connect, timeout, reset, protocol) and the
//!   statuses 408, 429, 500, 502, 503, 504 are retried, up to `max_retries`;
//! - a non-idempotent request (POST, PATCH, unknown methods) is retried only
//!   when it provably never left (the connection was never made) or the
//!   server said it did not process it (HTTP/2 `REFUSED_STREAM`; not a
//!   GOAWAY, which may end streams the server did process), or its
//!   connection closed before any of it was written,
//!   when it carries `Idempotency-Key`, or when the user opted in;
//! - the delay is the jittered backoff, or the server's `Retry-After` when it
//!   sent one on a 429 or 503; a `Retry-After` above `max_retry_after` makes
//!   the failure final at once rather than sleeping for it.

use std::time::{Duration, SystemTime};

use http::{HeaderValue, Method};

use super::backoff::Backoff;
use super::retry_after::{self, RetryAfter};
use crate::outcome::ErrorKind;

/// When and how failed attempts are retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    backoff: Backoff,
    retry_non_idempotent: bool,
    max_retry_after: Duration,
    statuses: Vec<u16>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            backoff: Backoff::default(),
            retry_non_idempotent: false,
            max_retry_after: Duration::from_secs(120),
            statuses: vec![408, 429, 500, 502, 503, 504],
        }
    }
}

/// What went wrong with one attempt, as the policy needs to know it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Failure<'a> {
    /// No response. `never_sent` is true when the server cannot have acted
    /// on the request: the connection was never made, or an HTTP/2 server
    /// said it did not process it.
    Transport { kind: ErrorKind, never_sent: bool },
    /// A response with a status, and its `Retry-After` header if any.
    Status {
        status: u16,
        retry_after: Option<&'a HeaderValue>,
    },
}

/// The policy's answer for one failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Try again after this backoff delay.
    Retry(Duration),
    /// Try again after the wait the server asked for (`Retry-After`); the
    /// whole host should wait as long.
    Wait(Duration),
    /// The server asked for a wait longer than the cap: final at once.
    WaitTooLong(Duration),
    /// The failure is final.
    Final,
}

impl RetryPolicy {
    /// The default policy: 3 retries, 200 ms–30 s full-jitter backoff,
    /// `Retry-After` honoured up to 120 s, POST/PATCH not retried once sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// No retries at all.
    pub fn never() -> Self {
        Self::default().max_retries(0)
    }

    /// At most `n` retries (`n + 1` attempts).
    #[must_use]
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The backoff between attempts.
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Retry POST, PATCH and other non-idempotent requests like idempotent ones.
    #[must_use]
    pub fn retry_non_idempotent(mut self, yes: bool) -> Self {
        self.retry_non_idempotent = yes;
        self
    }

    /// The longest `Retry-After` honoured; above it the failure is final.
    #[must_use]
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// The statuses that are retried (default 408, 429, 500, 502, 503, 504).
    #[must_use]
    pub fn retry_statuses(mut self, statuses: &[u16]) -> Self {
        self.statuses = statuses.to_vec();
        self
    }

    /// The longest `Retry-After` honoured.
    pub fn retry_after_cap(&self) -> Duration {
        self.max_retry_after
    }

    /// The configured number of retries.
    pub fn retries(&self) -> u32 {
        self.max_retries
    }

    /// True when a response with `status` may be retried.
    pub(crate) fn is_retried_status(&self, status: u16) -> bool {
        self.statuses.contains(&status)
    }

    /// Whether a request may be sent again once the server may have
    /// processed it: an idempotent method, an `Idempotency-Key`, or
    /// [`retry_non_idempotent`](Self::retry_non_idempotent).
    pub(crate) fn replay_safe(&self, method: &Method, idempotency_key: bool) -> bool {
        is_idempotent(method) || idempotency_key || self.retry_non_idempotent
    }

    /// Decides what follows attempt number `attempt` (1-based) of a request.
    pub(crate) fn decide(
        &self,
        method: &Method,
        idempotency_key: bool,
        attempt: u32,
        failure: Failure<'_>,
    ) -> Verdict {
        if attempt > self.max_retries {
            return Verdict::Final;
        }
        let replay_safe = self.replay_safe(method, idempotency_key);
        match failure {
            Failure::Transport { kind, never_sent } => {
                let transient = matches!(
                    kind,
                    ErrorKind::Connect
                        | ErrorKind::Timeout
                        | ErrorKind::Reset
                        | ErrorKind::Protocol
                );
                if transient && (replay_safe || never_sent) {
                    Verdict::Retry(self.backoff.delay(attempt))
                } else {
                    Verdict::Final
                }
            }
            Failure::Status {
                status,
                retry_after,
            } => {
                if !replay_safe || !self.statuses.contains(&status) {
                    return Verdict::Final;
                }
                let asked = match (status, retry_after) {
                    (429 | 503, Some(value)) => retry_after::parse(value, SystemTime::now()),
                    _ => RetryAfter::Unreadable,
                };
                match asked {
                    RetryAfter::Wait(wait) if wait > self.max_retry_after => {
                        Verdict::WaitTooLong(wait)
                    }
                    RetryAfter::Wait(wait) => Verdict::Wait(wait),
                    RetryAfter::Unreadable => Verdict::Retry(self.backoff.delay(attempt)),
                }
            }
        }
    }
}

/// Idempotent methods (RFC 9110 §9.2.2): replaying them has the effect of
/// sending them once.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(kind: ErrorKind, never_sent: bool) -> Failure<'static> {
        Failure::Transport { kind, never_sent }
    }

    fn status(status: u16) -> Failure<'static> {
        Failure::Status {
            status,
            retry_after: None,
        }
    }

    fn retries(v: Verdict) -> bool {
        matches!(v, Verdict::Retry(_) | Verdict::Wait(_))
    }

    #[test]
    fn what_is_retried_for_get_and_post() {
        let p = RetryPolicy::default();
        let (get, post) = (Method::GET, Method::POST);
        // (method, failure, retried?)
        let cases = [
            (&get, transport(ErrorKind::Connect, true), true),
            (&get, transport(ErrorKind::Timeout, false), true),
            (&get, transport(ErrorKind::Reset, false), true),
            (&get, transport(ErrorKind::Protocol, false), true),
            (&get, transport(ErrorKind::Dns, true), false),
            (&get, transport(ErrorKind::Tls, true), false),
            (&get, transport(ErrorKind::TooLarge, false), false),
            (&get, transport(ErrorKind::Redirect, false), false),
            (&get, status(503), true),
            (&get, status(429), true),
            (&get, status(408), true),
            (&get, status(404), false),
            (&get, status(501), false),
            (&post, transport(ErrorKind::Connect, true), true),
            (&post, transport(ErrorKind::Timeout, true), true),
            (&post, transport(ErrorKind::Reset, false), false),
            (&post, transport(ErrorKind::Timeout, false), false),
            (&post, status(500), false),
            (&post, status(503), false),
        ];
        for (method, failure, want) in cases {
            let got = retries(p.decide(method, false, 1, failure));
            assert_eq!(got, want, "{method} {failure:?}");
        }
    }

    #[test]
    fn post_retried_with_key_or_opt_in() {
        let p = RetryPolicy::default();
        assert!(retries(p.decide(&Method::POST, true, 1, status(500))));
        let opt_in = RetryPolicy::default().retry_non_idempotent(true);
        assert!(retries(opt_in.decide(
            &Method::PATCH,
            false,
            1,
            status(502)
        )));
        assert!(retries(opt_in.decide(
            &Method::POST,
            false,
            1,
            transport(ErrorKind::Reset, false)
        )));
    }

    #[test]
    fn stops_after_max_retries() {
        let p = RetryPolicy::default();
        assert!(retries(p.decide(&Method::GET, false, 3, status(503))));
        assert_eq!(
            p.decide(&Method::GET, false, 4, status(503)),
            Verdict::Final
        );
        let none = RetryPolicy::never();
        assert_eq!(
            none.decide(&Method::GET, false, 1, status(503)),
            Verdict::Final
        );
    }

    #[test]
    fn retry_after_is_honoured_capped_or_ignored() {
        let p = RetryPolicy::default();
        let with = |value: &'static str, code: u16| {
            let v = HeaderValue::from_static(value);
            p.decide(
                &Method::GET,
                false,
                1,
                Failure::Status {
                    status: code,
                    retry_after: Some(&v),
                },
            )
        };
        assert_eq!(with("2", 429), Verdict::Wait(Duration::from_secs(2)));
        assert_eq!(with("120", 503), Verdict::Wait(Duration::from_secs(120)));
        assert_eq!(
            with("121", 429),
            Verdict::WaitTooLong(Duration::from_secs(121))
        );
        assert_eq!(
            with("Sun, 06 Nov 1994 08:49:37 GMT", 429),
            Verdict::Wait(Duration::ZERO)
        );
        // Garbage falls back to the backoff, whose first ceiling is 200 ms.
        match with("later", 429) {
            Verdict::Retry(d) => assert!(d <= Duration::from_millis(200)),
            other => panic!("garbage Retry-After must fall back to backoff: {other:?}"),
        }
        // Retry-After on a 500 is not a reason to wait that long.
        match with("60", 500) {
            Verdict::Retry(d) => assert!(d <= Duration::from_millis(200)),
            other => panic!("500 is retried with backoff: {other:?}"),
        }
    }
}
