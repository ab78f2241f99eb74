//! The modules of the integration-test binary.

/// The binary as a child process to signal or `kill -9` mid-run.
mod child;
/// Shared helpers: a testbed, input files, running the binary, the schema check.
mod support;

/// No bytes make the input parsers or the resume reader panic (property tests).
mod arbitrary;
/// Subcommands and built-in output: `volley demo`, `completions`, `man`, `--help`, `--version`.
mod commands;
/// Every example command in `--help`, README.md, docs/quickstart.md and docs/recipes.md runs against the testbed.
mod examples;
/// Exit statuses 0, 1 and 2, and that a usage error sends nothing.
mod exit;
/// FAULTS.md row 19: unusable input lines become records and are never sent.
mod invalid;
/// What a run keeps besides its records: `--summary-json`, `--failures`, `--save-dir`.
mod keeping;
/// FAULTS.md row 22: global and per-host limits through the command line.
mod limits;
/// Where records go and what they hold: `-o`, `-q`, `--body`, `--include-headers`, a closed pipe.
mod output;
/// FAULTS.md rows 7, 8, 23 and the rate limits through the flags: `--rate`, `--host-rate`, `--burst`, `--no-adaptive`, `--max-retry-after`, summary counters.
mod politeness;
/// The progress bar on a pseudo-terminal, and its absence on pipes, with `-q`, under `NO_COLOR`.
mod progress;
/// `--proxy` and the proxy environment variables.
mod proxy;
/// What an input line asks for: JSON spec fields, `-X`/`-H`/`-d`/`--json` defaults, stdin.
mod requests;
/// FAULTS.md row 20 and `--resume`: the kill -9 crash test, a torn last line, damage and `--repair`, a changed input.
mod resume;
/// `--shard K/N`: shards partition the input by host; the parts concatenate; `--resume` per shard.
mod shards;
/// Runs that stop early, then `--resume`: SIGINT drains (exit 130), a second SIGINT stops at once, a full disk (exit 1).
mod shutdown;
/// `--template` with `--values`: values encoded per position, ids, meta, bad rows.
mod template;
/// FAULTS.md row 17: a self-signed certificate refused, trusted with `--cacert`, or not verified with `--insecure`.
mod tls;
/// Many requests: one record each, input order with `--ordered`, completion order without.
mod volume;
