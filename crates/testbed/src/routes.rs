//! The URL grammar: which path makes the testbed do what.
//!
//! [`route`] maps a request to an [`Action`]: a well-formed [`Response`]
//! (possibly slow, huge or encoded) or a connection-breaking [`Fault`]. The
//! crate docs list the grammar. The only state is [`Counters`], the per-key
//! attempt counts behind `/flaky` and `/retry-after`, which belong to one
//! testbed and are shared by all its listeners.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use crate::encode;
use crate::fault::{self, Fault};
use crate::payload;
use crate::percent;
use crate::request::Request;
use crate::response::{Body, Response};

/// What to do with a request.
#[derive(Debug)]
pub(crate) enum Action {
    /// Send this response; the connection may stay open.
    Respond(Response),
    /// Break the connection this way.
    Fault(Fault),
}

impl From<Response> for Action {
    fn from(response: Response) -> Action {
        Action::Respond(response)
    }
}

impl From<Fault> for Action {
    fn from(fault: Fault) -> Action {
        Action::Fault(fault)
    }
}

/// Per-key attempt counters for the stateful routes.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    // Locked only to bump one entry, never across an `.await`.
    counts: Mutex<HashMap<String, u64>>,
}

impl Counters {
    /// Counts one more attempt for `key`; returns how many came before it.
    fn bump(&self, key: String) -> u64 {
        let mut counts = self
            .counts
            .lock()
            // A panic elsewhere cannot leave a half-written integer behind.
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(key).or_insert(0);
        *count += 1;
        *count - 1
    }
}

/// A 400 for a path segment that should have been a number.
fn bad_number(what: &str) -> Action {
    Response::error(400, &format!("{what} must be a number")).into()
}

/// Parses a numeric path segment or returns early with a 400.
macro_rules! number {
    ($text:expr, $what:expr) => {
        match $text.parse() {
            Ok(n) => n,
            Err(_) => return bad_number($what),
        }
    };
}

/// Decides what to do with `request`.
pub(crate) async fn route(request: &Request, counters: &Counters) -> Action {
    let head = &request.head;
    let segments: Vec<&str> = head.path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["json", n] => Response::json(200, payload::json_item(&percent::decode(n))).into(),
        ["text", n] => Response::new(
            200,
            "text/plain; charset=utf-8",
            payload::text_line(&percent::decode(n)),
        )
        .into(),
        ["bytes", len] | ["big", len] => pattern(Body::Pattern(number!(len, "length"))),
        ["big-chunked", len] => pattern(Body::PatternChunked(number!(len, "length"))),
        ["status", code] => {
            let code: u16 = number!(code, "status");
            if !(100..=999).contains(&code) {
                return Response::error(400, "status must be 100..=999").into();
            }
            Response::json_value(code, &json!({ "status": code })).into()
        }
        ["delay", ms] => {
            let ms: u64 = number!(ms, "delay");
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Response::json_value(200, &json!({ "delayed_ms": ms })).into()
        }
        ["flaky", key, k, code] => {
            let k: u64 = number!(k, "count");
            let code: u16 = number!(code, "status");
            let attempt = counters.bump(format!("flaky/{key}")) + 1;
            let status = if attempt <= k { code } else { 200 };
            Response::json_value(status, &json!({ "status": status, "attempt": attempt })).into()
        }
        ["retry-after", key, k, value @ ..] if !value.is_empty() => {
            let k: u64 = number!(k, "count");
            let value = percent::decode(&value.join("/"));
            if value.chars().any(char::is_control) {
                return Response::error(400, "Retry-After value has control characters").into();
            }
            let attempt = counters.bump(format!("retry-after/{key}")) + 1;
            if attempt <= k {
                Response::json_value(429, &json!({ "status": 429, "attempt": attempt }))
                    .with_header("Retry-After", value)
                    .into()
            } else {
                Response::json_value(200, &json!({ "status": 200, "attempt": attempt })).into()
            }
        }
        ["keep-alive", value @ ..] if !value.is_empty() => {
            let value = percent::decode(&value.join("/"));
            if value.chars().any(char::is_control) {
                return Response::error(400, "Keep-Alive value has control characters").into();
            }
            Response::json_value(200, &json!({ "keep_alive": value }))
                .with_header("Keep-Alive", value)
                .into()
        }
        ["reset", "headers"] => Fault::ResetBeforeHeaders.into(),
        ["reset", "body"] => Fault::ResetMidBody.into(),
        ["trickle", interval, len] => {
            let interval = Duration::from_millis(number!(interval, "interval"));
            pattern(Body::Trickle {
                interval,
                len: number!(len, "length"),
            })
        }
        ["truncated"] => Fault::Truncated.into(),
        ["invalid", "hello"] => fault::invalid_hello().into(),
        ["invalid", "status"] => fault::invalid_status().into(),
        ["invalid", "chunk"] => fault::invalid_chunk().into(),
        ["invalid", "header"] => fault::invalid_header().into(),
        ["gzip", "json", n] => {
            let body = payload::json_item(&percent::decode(n));
            match encode::gzip(body.as_bytes()) {
                Ok(gz) => Response::json(200, gz)
                    .with_header("Content-Encoding", "gzip")
                    .into(),
                Err(e) => Response::error(500, &e.to_string()).into(),
            }
        }
        ["encoded", list] => encoded(&percent::decode(list)).await,
        ["gzip-bomb"] => bomb(false).await,
        ["gzip-bomb", "stacked"] => bomb(true).await,
        ["redirect", n] => {
            let n: u64 = number!(n, "hop count");
            if n == 0 {
                Response::json_value(200, &json!({ "redirected": true })).into()
            } else {
                redirect(302, &format!("/redirect/{}", n - 1))
            }
        }
        ["redirect-loop"] => redirect(302, "/redirect-loop"),
        ["redirect-to"] => {
            let query = head.query.as_deref();
            let Some(url) = percent::query_param(query, "url") else {
                return Response::error(400, "redirect-to needs ?url=").into();
            };
            if url.chars().any(char::is_control) {
                return Response::error(400, "url has control characters").into();
            }
            let status = match percent::query_param(query, "status") {
                Some(status) => number!(status, "status"),
                None => 302,
            };
            redirect(status, &url)
        }
        ["echo", ..] => echo(request),
        // Lets the unit tests prove that a handler panic fails the test at drop.
        #[cfg(test)]
        ["__panic"] => panic!("the __panic route panics on purpose"),
        _ => Response::error(404, "not found").into(),
    }
}

fn pattern(body: Body) -> Action {
    Response {
        status: 200,
        headers: vec![("Content-Type", "application/octet-stream".to_owned())],
        body,
    }
    .into()
}

fn redirect(status: u16, location: &str) -> Action {
    Response::json_value(status, &json!({ "location": location }))
        .with_header("Location", location)
        .into()
}

async fn encoded(list: &str) -> Action {
    let Some(codings) = encode::parse_codings(list) else {
        return Response::error(400, "unknown content coding").into();
    };
    match encode::encode(payload::encoded_document().as_bytes(), &codings).await {
        Ok(body) => Response::json(200, body)
            .with_header("Content-Encoding", encode::header_value(&codings))
            .into(),
        Err(e) => Response::error(500, &e.to_string()).into(),
    }
}

async fn bomb(stacked: bool) -> Action {
    let encoding = if stacked { "gzip, gzip" } else { "gzip" };
    Response::new(200, "application/octet-stream", encode::bomb(stacked).await)
        .with_header("Content-Encoding", encoding)
        .into()
}

fn echo(request: &Request) -> Action {
    let head = &request.head;
    let mut headers = serde_json::Map::new();
    for (name, value) in &head.headers {
        // Repeated headers are joined as one field value, as HTTP allows.
        match headers.get_mut(name) {
            Some(serde_json::Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(value);
            }
            _ => {
                headers.insert(name.clone(), value.clone().into());
            }
        }
    }
    let body = json!({
        "method": head.method,
        "path": head.path,
        "query": head.query,
        "headers": headers,
        "body": String::from_utf8_lossy(&request.body),
    });
    Response::json_value(200, &body).into()
}
