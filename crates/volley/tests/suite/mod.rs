//! The modules of the integration-test binary.

/// Shared helpers: the schema check every outcome goes through, fast clients.
mod support;

/// The public API's contract: invalid specs, pass-through fields, policies.
mod api;
/// How bodies are decoded and recorded: encodings, JSON, text, binary, none.
mod bodies;
/// FAULTS.md row 21 and idle connections: reused, or passed over when the server may be closing them.
mod connections;
/// FAULTS.md rows 1–14 and 18: transport faults and broken responses.
mod faults;
/// HTTP/2: the same contract over h2, and its own faults: reset streams, GOAWAY.
mod h2;
/// The HTTP/2 origin the `h2` tests run against.
mod h2_origin;
/// FAULTS.md row 22: global and per-host concurrency limits, seen by the server.
mod limits;
/// FAULTS.md rows 7, 8, 23, 24: Retry-After, host pauses, adaptive throttling, retry budget, rates, no head-of-line blocking.
mod politeness;
/// FAULTS.md rows 15 and 16: redirect loops, chains and credential stripping.
mod redirects;
/// The record schema: it matches `Outcome` field for field and can reject.
mod schema;
/// FAULTS.md row 17: TLS with a self-signed certificate, trusted, or not verified.
mod tls;
/// HTTPS through a proxy's `CONNECT` tunnel, to HTTP/1.1 and HTTP/2 origins.
mod tunnel;
/// Many requests: exactly one outcome each, input order, bounded input, cancellation.
mod volume;
