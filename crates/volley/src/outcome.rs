//! `Outcome`: the record of one request, success or failure, exactly as it is
//! written as one JSON line (schema version 1, see `schema/record.v1.json`).
//!
//! A failed request is data, not an `Err`: its `error` names a kind from the
//! closed [`ErrorKind`] list, so that a consumer can count and branch on it.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::spec::RequestSpec;

/// The version of the record schema that [`Outcome`] serialises to.
pub const SCHEMA_VERSION: u32 = 1;

/// The record of one request: its final response, or why there is none.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    /// 0-based position in the input.
    pub index: u64,
    /// The request's id from the input, if any.
    pub id: Option<String>,
    /// The method as sent.
    pub method: String,
    /// The URL as given.
    pub url: String,
    /// The URL of the final response, when redirects changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_url: Option<String>,
    /// HTTP status of the final attempt; `None` when no response arrived.
    pub status: Option<u16>,
    /// A response arrived and its status is not a failure under the run's policy.
    pub ok: bool,
    /// How many attempts were made (0 for a request that was never sent).
    pub attempts: u32,
    /// Wall time from the first attempt to the final outcome, in milliseconds.
    pub elapsed_ms: f64,
    /// Body size as received, after decompression.
    pub bytes: u64,
    /// Response headers (names lower-cased, repeated ones joined with `, `),
    /// only when the client was asked to include them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
    /// The body as a JSON value: the document itself for JSON, a string for text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Box<RawValue>>,
    /// The body as base64, for binary bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// Why the request failed, or `None`.
    pub error: Option<ErrorInfo>,
    /// The input's pass-through fields, untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Where the body was saved instead of being embedded
    /// ([`ClientBuilder::save_bodies`](crate::ClientBuilder::save_bodies)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_path: Option<String>,
    /// The request as given, when the client keeps requests
    /// ([`ClientBuilder::keep_requests`](crate::ClientBuilder::keep_requests)).
    /// Not part of the record.
    #[serde(skip)]
    pub request: Option<Box<RequestSpec>>,
    /// The body's bytes and content type, with [`BodyMode::Raw`](crate::BodyMode::Raw).
    /// Not part of the record. Boxed: rare, and every outcome would
    /// otherwise carry its size.
    #[serde(skip)]
    pub raw_body: Option<Box<RawBody>>,
    /// Why the body could not be saved to its file, with
    /// [`ClientBuilder::save_bodies`](crate::ClientBuilder::save_bodies)
    /// (a full disk, say): the response arrived, but its body is lost. Not
    /// part of the record; a caller that must keep every body should stop.
    #[serde(skip)]
    pub save_error: Option<String>,
}

/// A response body as received (decoded), kept outside the record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawBody {
    /// The decoded bytes.
    pub bytes: bytes::Bytes,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
}

/// Why a request failed: a kind to branch on and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// The class of failure.
    pub kind: ErrorKind,
    /// What happened, in words (names the phase for timeouts, the line for invalid input).
    pub message: String,
}

/// The closed list of failure classes. It matches the record schema; adding a
/// variant is a schema change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is unusable (bad URL, scheme, method, header, JSON); never sent.
    InvalidRequest,
    /// The host name did not resolve.
    Dns,
    /// No connection could be made: refused, unreachable.
    Connect,
    /// The TLS handshake failed, e.g. an untrusted certificate.
    Tls,
    /// A deadline passed; the message names the phase.
    Timeout,
    /// The connection was closed or cut before the response was complete.
    Reset,
    /// The peer spoke malformed HTTP or a malformed content encoding.
    Protocol,
    /// The body passed the size cap (counted after decompression).
    TooLarge,
    /// A redirect loop, too many redirects, or an insecure redirect.
    Redirect,
    /// A final status that the run counts as a failure.
    HttpStatus,
    /// A non-idempotent request was in flight when a run died; it was not replayed.
    OutcomeUnknown,
}

impl ErrorKind {
    /// Every kind, in schema order.
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::InvalidRequest,
        ErrorKind::Dns,
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Protocol,
        ErrorKind::TooLarge,
        ErrorKind::Redirect,
        ErrorKind::HttpStatus,
        ErrorKind::OutcomeUnknown,
    ];

    /// The name used in records, e.g. `"too_large"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Dns => "dns",
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Protocol => "protocol",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Redirect => "redirect",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::OutcomeUnknown => "outcome_unknown",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Outcome {
    /// A record for a request that failed before any attempt, with no
    /// response: all the identifying fields come from the spec.
    pub fn failed(spec: &RequestSpec, kind: ErrorKind, message: impl Into<String>) -> Outcome {
        Outcome {
            index: spec.index,
            id: spec.id.clone(),
            method: spec.method_name().to_ascii_uppercase(),
            url: spec.url.clone(),
            final_url: None,
            status: None,
            ok: false,
            attempts: 0,
            elapsed_ms: 0.0,
            bytes: 0,
            headers: None,
            body: None,
            body_base64: None,
            error: Some(ErrorInfo {
                kind,
                message: message.into(),
            }),
            meta: spec.meta.clone(),
            body_path: None,
            request: None,
            raw_body: None,
            save_error: None,
        }
    }

    /// The `invalid_request` record for an unusable input line or spec.
    pub fn invalid(spec: &RequestSpec, message: impl Into<String>) -> Outcome {
        Outcome::failed(spec, ErrorKind::InvalidRequest, message)
    }

    /// The error kind, if the request failed with one.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.error.as_ref().map(|e| e.kind)
    }

    /// Deserialises the body as `T` (for JSON bodies, and text bodies as `String`).
    ///
    /// # Errors
    ///
    /// When there is no body or it does not match `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        let raw = self.body.as_deref().map_or("null", RawValue::get);
        serde_json::from_str(raw)
    }

    /// The body as text when it was recorded as a JSON string, else the JSON
    /// document's text; `None` for binary or omitted bodies.
    pub fn text(&self) -> Option<String> {
        let raw = self.body.as_deref()?;
        match serde_json::from_str::<String>(raw.get()) {
            Ok(text) => Some(text),
            Err(_) => Some(raw.get().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_to_their_schema_names() {
        for kind in ErrorKind::ALL {
            let json = serde_json::to_string(&kind).expect("serialise");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: ErrorKind = serde_json::from_str(&json).expect("parse");
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn invalid_record_round_trips() {
        let spec = RequestSpec::get("ftp://x").with_index(7).with_id("a");
        let outcome = Outcome::invalid(&spec, "line 8: unsupported scheme");
        let line = serde_json::to_string(&outcome).expect("serialise");
        assert!(line.contains(r#""kind":"invalid_request""#), "{line}");
        assert!(!line.contains("body"), "{line}");
        let back: Outcome = serde_json::from_str(&line).expect("parse");
        assert_eq!(back.index, 7);
        assert_eq!(back.error_kind(), Some(ErrorKind::InvalidRequest));
        assert_eq!(back.attempts, 0);
    }
}
