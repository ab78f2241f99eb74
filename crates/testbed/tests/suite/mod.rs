//! The modules of the integration-test binary.

/// A minimal raw HTTP/1.1 client over `std::net::TcpStream`.
mod client;
/// Keep-alive, `Connection: close`, pipelining, idle close, malformed requests.
mod connection;
/// Faults: refused and never-accepted connects, resets, truncation, garbage.
mod faults;
/// The journal: counts, connection ids, in-flight high-water marks.
mod journal;
/// The well-formed routes: json, text, bytes, status, echo, redirects, encodings.
mod routes;
/// The stateful routes: `/flaky` and `/retry-after`.
mod stateful;
/// HTTPS (FAULTS row 17): the certificate, who trusts it, the grammar over TLS.
mod tls;
