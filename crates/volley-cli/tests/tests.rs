//! The `volley` command's integration tests: one binary, one module per
//! concern (see `suite/mod.rs`). They run the real binary (or the CLI's
//! library entry point) against `testbed` in process on 127.0.0.1 with
//! OS-chosen ports, assert the records written and what the server saw, and
//! validate every record against `schema/record.v1.json`.

mod suite;
