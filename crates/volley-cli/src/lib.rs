//! The `volley` command: inputs → engine → JSON-lines sink.
//!
//! ```text
//! input files ─► reader thread ─► forwarder ─┬─► volley engine (stream) ─┐
//!  (URL lines,    (Item: spec or             │                           ├─► sink thread ─► stdout / -o FILE
//!   JSON specs)    invalid record)           └─► invalid records ────────┘    (ordered or not;
//!                                                                               tally → summary, exit status)
//! ```
//!
//! Every stage is a bounded channel, so memory does not grow with the input.
//! `main.rs` only calls [`main_entry`]; tests can call [`run`] in process.

pub mod cli;
pub mod demo;
pub mod exit;
pub mod input;
pub mod sink;
pub mod summary;
pub mod units;

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser as _;
use futures_util::StreamExt as _;
use tokio::sync::{mpsc, Semaphore};

use crate::cli::{Args, Command, Config};
use crate::exit::Exit;
use crate::input::{Item, LineParser, Source};
use crate::sink::{Sink, SinkError};
use crate::summary::Tally;

/// Parses the process arguments, runs, and returns the exit status.
pub fn main_entry() -> std::process::ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // --help and --version are "errors" that go to stdout and exit 0.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            }
            .into();
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("volley: cannot start the async runtime: {e}");
            return Exit::Usage.into();
        }
    };
    runtime.block_on(run(args)).into()
}

/// Runs parsed arguments to completion.
pub async fn run(args: Args) -> Exit {
    if let Some(Command::Demo { requests, output }) = args.command {
        return demo::run(requests, output).await;
    }
    let config = match args.validate() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("volley: error: {e:#}");
            return Exit::Usage;
        }
    };
    match execute(config).await {
        Ok(report) => report.exit,
        Err(e) => {
            eprintln!("volley: error: {e:#}");
            Exit::Usage
        }
    }
}

/// What a finished run reports.
#[derive(Debug)]
pub struct Report {
    /// The exit status.
    pub exit: Exit,
    /// Counts over the records written.
    pub tally: Tally,
}

/// Everything that can be checked before the first request.
struct Prepared {
    sources: Vec<Source>,
    output: Box<dyn std::io::Write + Send>,
    client: volley::Client,
}

fn prepare(config: &mut Config) -> anyhow::Result<Prepared> {
    if config.inputs.is_empty() {
        if std::io::stdin().is_terminal() {
            anyhow::bail!(
                "no input: give files of URLs or JSON specs, or - to read stdin (see --help)"
            );
        }
        config.inputs.push("-".to_owned());
    }
    let sources = config
        .inputs
        .iter()
        .map(|name| Source::open(name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let builder = std::mem::take(&mut config.client);
    let client = builder.build().context("invalid settings")?;
    // Created (and so truncated) last: a usage error must not destroy an
    // existing output file.
    let output: Box<dyn std::io::Write + Send> = match &config.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    Ok(Prepared {
        sources,
        output,
        client,
    })
}

/// Runs a validated configuration: reads the inputs, fetches, writes the
/// records, prints the summary.
///
/// # Errors
///
/// Problems found before any request (unreadable input, unwritable output,
/// invalid settings); the caller exits 2.
pub async fn execute(mut config: Config) -> anyhow::Result<Report> {
    let Prepared {
        sources,
        output,
        client,
    } = prepare(&mut config)?;
    let started = Instant::now();

    // reader thread → forwarder: input items, in input order.
    let (item_tx, mut item_rx) = mpsc::channel::<Item>(256);
    let parser = LineParser::new(config.defaults.clone(), config.max_line);
    let reader = input::spawn(sources, parser, item_tx);

    // engine and forwarder → sink thread: records.
    let (record_tx, record_rx) = mpsc::channel::<volley::Outcome>(1024);
    // In ordered mode, one permit per item between reading and writing (see sink).
    let window = config
        .ordered
        .then(|| Arc::new(Semaphore::new(config.read_ahead)));
    let sink = Sink::new(
        output,
        config.ordered,
        config.fail_on.clone(),
        window.clone(),
    );
    let sink = std::thread::spawn(move || sink.run(record_rx));

    // forwarder → engine: valid specs. Invalid lines skip the engine.
    let (spec_tx, spec_rx) = mpsc::channel::<volley::RequestSpec>(64);
    let invalid_tx = record_tx.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(item) = item_rx.recv().await {
            if let Some(window) = &window {
                // Returned by the sink once this item's record is written.
                let Ok(permit) = window.acquire().await else {
                    break;
                };
                permit.forget();
            }
            let delivered = match item {
                Item::Spec(spec) => spec_tx.send(spec).await.is_ok(),
                Item::Invalid(record) => invalid_tx.send(record).await.is_ok(),
            };
            if !delivered {
                break;
            }
        }
    });

    let specs = futures_util::stream::unfold(spec_rx, |mut rx| async move {
        let spec = rx.recv().await?;
        Some((spec, rx))
    });
    {
        // The engine's stream lives in this block only. Its driver task owns
        // `spec_rx`; when the sink stops early (`volley … | head`) this loop
        // ends with requests still queued, and leaving the block drops the
        // stream, which stops the driver and aborts requests in flight (it
        // would otherwise wait for window room that never comes).
        let mut outcomes = std::pin::pin!(client.stream_from(specs));
        while let Some(outcome) = outcomes.next().await {
            if record_tx.send(outcome).await.is_err() {
                break; // the sink stopped; its result says why
            }
        }
    }
    drop(record_tx);
    // After a normal end the forwarder has already finished (the engine saw
    // the end of its specs only because the forwarder dropped `spec_tx`), so
    // this is a no-op. After an early stop it may be blocked for ever: on the
    // reader (waiting on a stdin that stays open) or on an ordered-mode
    // window permit that the stopped sink will never return. So end it here.
    forwarder.abort();
    let _ = forwarder.await;

    let written = sink.join().unwrap_or_else(|_| {
        Err((
            SinkError::Io(std::io::Error::other("the writer panicked")),
            Tally::default(),
        ))
    });
    // Join the reader only after a complete run: after an early stop it may
    // be blocked reading a terminal or pipe, and it ends by itself at its
    // next line (its channel is closed) or with the process.
    let read = match &written {
        Ok(_) => reader
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the input reader panicked"))),
        Err(_) => Ok(Default::default()),
    };
    let (tally, mut exit) = match written {
        Ok(tally) => {
            let exit = if tally.failing > 0 {
                Exit::Failures
            } else {
                Exit::Success
            };
            (tally, exit)
        }
        // `volley … | head`: the reader of our output is gone; stop quietly.
        Err((SinkError::ClosedPipe, tally)) => {
            return Ok(Report {
                exit: Exit::Success,
                tally,
            })
        }
        Err((SinkError::Io(e), tally)) => {
            eprintln!(
                "volley: error: writing records failed after {} records: {e}",
                tally.total
            );
            (tally, Exit::Failures)
        }
    };
    let elapsed = started.elapsed();
    if let Err(e) = read {
        eprintln!("volley: error: reading input failed: {e:#}");
        exit = Exit::Failures;
    }
    if !config.quiet {
        eprintln!(
            "{}",
            tally.render(elapsed, config.insecure, &client.stats())
        );
    }
    Ok(Report { exit, tally })
}
