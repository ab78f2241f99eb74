//! One attempt: send the request, follow redirects, read the capped body,
//! all under one per-attempt deadline.
//!
//! The deadline covers connect, every redirect hop, the response headers and
//! the whole body, so a server that trickles one byte at a time cannot hold a
//! slot for longer than `timeout`. Failures come back classified; nothing
//! here decides about retries.

use http::{HeaderMap, StatusCode};
use reqwest::Url;
use tokio::time::{timeout_at, Instant};

use crate::body::{self, BodyError};
use crate::builder::Config;
use crate::classify::{classify, fmt_duration, Classified};
use crate::outcome::ErrorKind;
use crate::redirect::{self, Next};
use crate::spec::Prepared;

/// A complete response: status, headers and the decoded body.
#[derive(Debug)]
pub(crate) struct Received {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub final_url: Url,
    pub body: Vec<u8>,
    /// Decoded body size (also counted when the body is not kept).
    pub bytes: u64,
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

/// Makes one attempt of `request`.
pub(crate) async fn attempt(
    http: &reqwest::Client,
    config: &Config,
    request: &Prepared,
) -> Attempt {
    let deadline = Instant::now() + config.timeout;
    let total = fmt_duration(config.timeout);
    let mut method = request.method.clone();
    let mut url = request.url.clone();
    let mut headers = request.headers.clone();
    let mut body = request.body.clone();
    let mut hops = 0usize;

    let response = loop {
        let mut builder = http
            .request(method.clone(), url.clone())
            .headers(headers.clone());
        if let Some(bytes) = &body {
            builder = builder.body(bytes.clone());
        }
        let response = match timeout_at(deadline, builder.send()).await {
            Err(_elapsed) => {
                return failed(
                    ErrorKind::Timeout,
                    format!(
                        "total deadline of {total} passed while waiting for the response headers"
                    ),
                );
            }
            Ok(Err(err)) => return Attempt::Failed(classify(&err, config.connect_timeout)),
            Ok(Ok(response)) => response,
        };
        if config.max_redirects == 0 {
            // Following is off: the redirect itself is the response (curl without -L).
            break response;
        }
        let location = response.headers().get(http::header::LOCATION);
        match redirect::next(response.status(), location, &url, &method) {
            Next::Done => break response,
            Next::Refuse(message) => return failed(ErrorKind::Redirect, message),
            Next::Follow(hop) => {
                hops += 1;
                if hops > config.max_redirects {
                    let what = if hop.url == url {
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
                redirect::carry_headers(&mut headers, &hop, &config.secret_headers);
                if !hop.keep_body {
                    body = None;
                }
                method = hop.method;
                url = hop.url;
            }
        }
    };

    let status = response.status();
    let response_headers = response.headers().clone();
    let declared = response.content_length();
    // Content-Length counts encoded bytes; compare it only with an unencoded body.
    let encoded = response
        .headers()
        .contains_key(http::header::CONTENT_ENCODING);
    let keep = config.body_mode != body::BodyMode::None;
    let mut progress = 0u64;
    let read = timeout_at(
        deadline,
        body::read(response, config.max_body, keep, &mut progress),
    )
    .await;
    match read {
        Err(_elapsed) => failed(
            ErrorKind::Timeout,
            format!("total deadline of {total} passed while reading the body ({progress} bytes received)"),
        ),
        Ok(Err(BodyError::TooLarge { declared: Some(len) })) => failed(
            ErrorKind::TooLarge,
            format!("Content-Length {len} is over the body cap of {} bytes", config.max_body),
        ),
        Ok(Err(BodyError::TooLarge { declared: None })) => failed(
            ErrorKind::TooLarge,
            format!("body passed the cap of {} bytes (counted after decoding)", config.max_body),
        ),
        Ok(Err(BodyError::Read { err, got })) => {
            let mut classified = classify(&err, config.connect_timeout);
            if let (Some(len), ErrorKind::Reset, false) = (declared, classified.kind, encoded) {
                classified.message = format!("body cut short: expected {len} bytes, got {got} ({})", classified.message);
            }
            Attempt::Failed(classified)
        }
        Ok(Ok(bytes)) => Attempt::Received(Received {
            status,
            headers: response_headers,
            final_url: url,
            body: bytes,
            bytes: progress,
        }),
    }
}
