//! testbed's integration tests: one binary, one module per concern (see
//! `suite/mod.rs`). They drive the server with raw `std::net::TcpStream`s
//! (wrapped in rustls' blocking stream for HTTPS),
//! byte for byte, so they test the server and nothing else.

mod suite;
