//! testbed: a local HTTP/1.1 API server that injects faults, chosen by URL
//! path, for volley's tests, benchmarks and demo. It binds to 127.0.0.1 only.
//!
//! ```text
//! TcpListener ─► server (accept, TLS handshake, keep-alive loop) ─► request (head + body) ─► journal
//!                      │                                                                     (Seen, connections, in-flight marks)
//!                      └─► routes (URL grammar) ─┬─► response (well-formed; slow, huge, encoded)
//!                                                └─► fault (reset, truncate, malformed)
//! ```
//!
//! In a test, [`Testbed::start`] runs the server on its own thread and
//! runtime; [`Testbed::journal`] tells what it saw; dropping it stops it and
//! fails the test if a connection handler panicked. [`closed_port`] and
//! [`NeverAccept`] give addresses that refuse or never complete a connect.
//! The `testbed` binary serves the same grammar on a fixed port ([`serve`]).
//!
//! With [`Options::tls`] (the binary's `--tls`) every listener serves the
//! same grammar over HTTPS instead, with a self-signed [`Certificate`] for
//! `localhost` and `127.0.0.1` made at start; [`Testbed::ca_pem`] gives it to
//! the client that should trust it (FAULTS row 17). The connection handler
//! is generic over the stream, so every route and fault behaves the same;
//! resets are bare TCP RSTs, clean closes send `close_notify` first.
//!
//! # URL grammar
//!
//! Every normal response has `Content-Length` unless stated. Numbers in
//! paths are decimal; a segment that should be a number and is not gets 400.
//! A request with `Connection: close` (or HTTP/1.0 without keep-alive) is
//! answered and the connection closed; a malformed request gets 400 and a
//! close.
//!
//! | path | behaviour |
//! |---|---|
//! | `/json/{n}` | 200 JSON, ~200 bytes, containing `"id": n` (a number when `n` is a canonical integer, else a string) — [`json_item`] |
//! | `/text/{n}` | 200 `text/plain; charset=utf-8`, one line mentioning `n` — [`text_line`] |
//! | `/bytes/{len}` | 200 `application/octet-stream`, `len` bytes of [`pattern_byte`] (never valid UTF-8) |
//! | `/status/{code}` | that status (100–999), body `{"status": code}` |
//! | `/delay/{ms}` | nothing for `ms`, then 200 JSON (slow headers, FAULTS row 5) |
//! | `/flaky/{key}/{k}/{code}` | the first `k` requests with `key` get `code`, later ones 200; body `{"status", "attempt"}` (row 9) |
//! | `/retry-after/{key}/{k}/{value}` | the first `k` requests with `key` get 429 with `Retry-After:` the percent-decoded `value`, later ones 200 (rows 7, 8) |
//! | `/keep-alive/{value}` | 200 JSON with `Keep-Alive:` the percent-decoded `value` (`timeout=1`, say); the connection's idle timeout is unchanged |
//! | `/reset/headers` | reads the request, then RST without a byte written (row 3) |
//! | `/reset/body` | `Content-Length: 1000`, 300 bytes, then RST (row 4) |
//! | `/trickle/{interval_ms}/{len}` | `Content-Length: len` at once, then one byte per interval (row 6) |
//! | `/truncated` | `Content-Length: 100`, 5 bytes, then FIN (row 11) |
//! | `/invalid/hello`, `/invalid/status`, `/invalid/chunk`, `/invalid/header` | `HELLO\r\n\r\n`; `HTTP/1.1 abc OK`; a chunked head then chunk size `zz`; a 1 MiB header line — then close (row 12) |
//! | `/gzip/json/{n}` | the `/json/{n}` body, `Content-Encoding: gzip` |
//! | `/encoded/{list}` | a ~2 KB JSON document encoded with each coding of `list` in turn (`gzip`, `deflate` (zlib), `br`, `zstd`; `gzip,gzip` stacks) |
//! | `/gzip-bomb`, `/gzip-bomb/stacked` | 100 MiB of zeros gzipped (~100 KiB), or gzipped twice with `Content-Encoding: gzip, gzip` (row 13) |
//! | `/big/{len}`, `/big-chunked/{len}` | `len` pattern bytes in 64 KiB writes, with `Content-Length` or chunked (row 14) |
//! | `/redirect/{n}` | 302 to `/redirect/{n-1}`; `/redirect/0` is 200 JSON |
//! | `/redirect-loop` | 302 to itself (row 15) |
//! | `/redirect-to?url={url}&status={code}` | `code` (default 302) to the percent-decoded `url` (row 16) |
//! | `/echo`, `/echo/...` | any method: 200 JSON `{"method", "path", "query", "headers", "body"}` |
//! | anything else | 404 `{"error": "not found"}` |
//!
//! A `HEAD` request gets the head its `GET` would, without the body.

#![deny(missing_docs)]

mod encode;
mod fault;
mod harness;
mod journal;
mod payload;
mod percent;
mod request;
mod response;
mod routes;
mod server;
mod sockets;
mod stream;
mod tls;

pub use harness::{serve, Options, Testbed};
pub use journal::{Journal, Seen};
pub use payload::{json_item, pattern_byte, text_line};
pub use sockets::{closed_port, loopback_listener, NeverAccept};
pub use tls::Certificate;
