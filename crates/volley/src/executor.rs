//! One attempt: send the request, follow redirects, read the capped body,
//! all under one per-attempt deadline.
//!
//! The deadline covers connect, every redirect hop, the response headers and
//! the whole body, so a server that trickles one byte at a time cannot hold a
//! slot for longer than `timeout`. Failures come back classified; nothing
//! here decides about retries.

use std::path::PathBuf;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tokio::time::{timeout_at, Instant};
use url::Url;

use crate::body::{self, BodyError, Destination};
use crate::builder::Config;
use crate::classify::{classify, fmt_duration, Classified};
use crate::outcome::ErrorKind;
use crate::redirect::{self, Next};
use crate::save;
use crate::spec::Prepared;
use crate::transport::Transport;

/// A complete response: status, what the engine needs of its headers, and
/// the decoded body.
#[derive(Debug)]
pub(crate) struct Received {
    pub status: StatusCode,
    pub retry_after: Option<HeaderValue>,
    pub content_type: Option<HeaderValue>,
    /// Every header, only when the client records them (boxed, like the
    /// final URL: both are rare, and they would triple the size of every
    /// attempt's result).
    pub headers: Option<Box<HeaderMap>>,
    /// Where the response came from, when redirects were followed.
    pub final_url: Option<Box<Url>>,
    pub body: Vec<u8>,
    /// Decoded body size (also counted when the body is not kept).
    pub bytes: u64,
    /// With [`Config::save_dir`]: the body's file, or why it could not be
    /// written.
    pub saved: Option<Result<PathBuf, String>>,
}

/// The result of one attempt.
#[derive(Debug)]
pub(crate) enum Attempt {
    Received(Received),
    Failed(Classified),
}

fn failed(kind: ErrorKind, message: String) -> Attempt {
    Attempt::Failed(Classified {
        kind,
        message,
        never_sent: false,
    })
}

/// A redirect being followed: what the next hop sends.
struct Hop {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
}

/// Makes one attempt of `request`.
/// `naming` is the request's id and index, which name its body's file when
/// bodies are saved.
pub(crate) async fn attempt(
    http: &Transport,
    config: &Config,
    request: &Prepared,
    naming: (Option<&str>, u64),
) -> Attempt {
    let deadline = Instant::now() + config.timeout;
    let total = || fmt_duration(config.timeout);
    // `None` until a redirect is followed: the first hop sends the request
    // as prepared, with no copy of our own.
    let mut hop: Option<Hop> = None;
    let mut hops = 0usize;

    let response = loop {
        let (method, url, headers, body) = match &hop {
            Some(h) => (&h.method, &h.url, &h.headers, &h.body),
            None => (
                &request.method,
                &request.url,
                &request.headers,
                &request.body,
            ),
        };
        let replay_safe = config.retry.replay_safe(method, request.idempotency_key);
        let sending = http.send(method, url, headers, body.as_ref(), replay_safe);
        let response = match timeout_at(deadline, sending).await {
            Err(_elapsed) => {
                return failed(
                    ErrorKind::Timeout,
                    format!(
                        "total deadline of {} passed while waiting for the response headers",
                        total()
                    ),
                );
            }
            Ok(Err(err)) => return Attempt::Failed(classify(&*err, config.connect_timeout)),
            Ok(Ok(sent)) => sent,
        };
        if config.max_redirects == 0 {
            // Following is off: the redirect itself is the response (curl without -L).
            break response;
        }
        let location = response.0.headers().get(http::header::LOCATION);
        match redirect::next(response.0.status(), location, url, method) {
            Next::Done => break response,
            Next::Refuse(message) => return failed(ErrorKind::Redirect, message),
            Next::Follow(next) => {
                hops += 1;
                if hops > config.max_redirects {
                    let what = if next.url == *url {
                        "redirect loop"
                    } else {
                        "too many redirects"
                    };
                    return failed(
                        ErrorKind::Redirect,
                        format!(
                            "{what}: stopped after {} redirects, at {url}",
                            config.max_redirects
                        ),
                    );
                }
                // Its HTTP/1 connection may carry the next hop, once the
                // body is read; else it closes with the response.
                let (redirect, lease) = response;
                if let Some(lease) = lease {
                    if body::drain(redirect, deadline).await {
                        lease.release();
                    }
                }
                let mut headers = headers.clone();
                redirect::carry_headers(&mut headers, &next, &config.secret_headers);
                let body = if next.keep_body { body.clone() } else { None };
                hop = Some(Hop {
                    method: next.method,
                    url: next.url,
                    headers,
                    body,
                });
            }
        }
    };

    // The lease on an HTTP/1 connection goes back once the body is read;
    // dropped, it closes the connection.
    let (response, lease) = response;
    let status = response.status();
    let header = |name| response.headers().get(name).cloned();
    let retry_after = header(http::header::RETRY_AFTER);
    let content_type = header(http::header::CONTENT_TYPE);
    let all_headers = config
        .include_headers
        .then(|| Box::new(response.headers().clone()));
    let declared = body::content_length(&response);
    // Content-Length counts encoded bytes; compare it only with an unencoded body.
    let encoded = response
        .headers()
        .contains_key(http::header::CONTENT_ENCODING);
    let to = match &config.save_dir {
        Some(dir) => Destination::File(save::path(
            dir,
            naming.0,
            naming.1,
            content_type.as_ref().and_then(|v| v.to_str().ok()),
        )),
        None if config.body_mode == body::BodyMode::None => Destination::Discard,
        None => Destination::Memory,
    };
    let mut progress = 0u64;
    let read = timeout_at(
        deadline,
        body::read(response, config.max_body, &to, &mut progress),
    )
    .await;
    if let (Some(lease), Ok(Ok(_))) = (lease, &read) {
        // Read to its end: the connection is free for the next request.
        lease.release();
    }
    if let (Destination::File(path), false) = (&to, matches!(read, Ok(Ok(_)))) {
        // Only a whole body keeps its file; a retry writes it afresh.
        let _ = tokio::fs::remove_file(path).await;
    }
    let (body, saved) = match read {
        Ok(Ok(bytes)) => match to {
            Destination::File(path) => (bytes, Some(Ok(path))),
            _ => (bytes, None),
        },
        // The response arrived; only keeping its body failed. Not the
        // server's doing, so not retried: the outcome says what was lost.
        Ok(Err(BodyError::Save(err))) => (
            Vec::new(),
            Some(Err(format!("cannot save the body: {err}"))),
        ),
        Err(_elapsed) => {
            return failed(
                ErrorKind::Timeout,
                format!(
                "total deadline of {} passed while reading the body ({progress} bytes received)",
                total()
            ),
            )
        }
        Ok(Err(BodyError::TooLarge {
            declared: Some(len),
        })) => {
            return failed(
                ErrorKind::TooLarge,
                format!(
                    "Content-Length {len} is over the body cap of {} bytes",
                    config.max_body
                ),
            )
        }
        Ok(Err(BodyError::TooLarge { declared: None })) => {
            return failed(
                ErrorKind::TooLarge,
                format!(
                    "body passed the cap of {} bytes (counted after decoding)",
                    config.max_body
                ),
            )
        }
        Ok(Err(BodyError::Read { err, got })) => {
            let mut classified = classify(&err, config.connect_timeout);
            if let (Some(len), ErrorKind::Reset, false) = (declared, classified.kind, encoded) {
                classified.message = format!(
                    "body cut short: expected {len} bytes, got {got} ({})",
                    classified.message
                );
            }
            return Attempt::Failed(classified);
        }
    };
    Attempt::Received(Received {
        status,
        retry_after,
        content_type,
        headers: all_headers,
        final_url: hop.map(|h| Box::new(h.url)),
        body,
        bytes: progress,
        saved,
    })
}
