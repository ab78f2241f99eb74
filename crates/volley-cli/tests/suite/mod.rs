//! The modules of the integration-test binary.

/// Shared helpers: a testbed, input files, running the binary, the schema check.
mod support;

/// Subcommands and built-in output: `volley demo`, `--help`, `--version`.
mod commands;
/// Exit statuses 0, 1 and 2, and that a usage error sends nothing.
mod exit;
/// FAULTS.md row 19: unusable input lines become records and are never sent.
mod invalid;
/// FAULTS.md row 22: global and per-host limits through the command line.
mod limits;
/// Where records go and what they hold: `-o`, `-q`, `--body`, `--include-headers`, a closed pipe.
mod output;
/// FAULTS.md rows 7, 8, 23 and the rate limits through the flags: `--rate`, `--host-rate`, `--burst`, `--no-adaptive`, `--max-retry-after`, summary counters.
mod politeness;
/// What an input line asks for: JSON spec fields, `-X`/`-H`/`-d`/`--json` defaults, stdin.
mod requests;
/// FAULTS.md row 17: a self-signed certificate refused, trusted with `--cacert`, or not verified with `--insecure`.
mod tls;
/// Many requests: one record each, input order with `--ordered`, completion order without.
mod volume;
