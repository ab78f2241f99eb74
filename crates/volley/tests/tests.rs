//! volley's integration tests: one binary, one module per concern (see
//! `suite/mod.rs`). Every test drives the public API against `testbed`
//! running in process on 127.0.0.1 with OS-chosen ports, asserts the exact
//! record volley produced and, where it matters, what the server saw; every
//! record produced is validated against `schema/record.v1.json`.

mod suite;
