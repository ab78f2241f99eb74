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
pub mod extras;
pub mod forward;
pub mod input;
pub mod intents;
pub mod progress;
pub mod resume;
pub mod signals;
pub mod sink;
pub mod summary;
pub mod units;

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser as _;
use futures_util::{FutureExt as _, StreamExt as _};
use tokio::sync::{mpsc, Semaphore};

use crate::cli::{Args, Command, Config};
use crate::exit::Exit;
use crate::forward::Forwarder;
use crate::input::{Item, LineParser, Rows, Source, TemplateInput};
use crate::intents::IntentLog;
use crate::resume::Done;
use crate::sink::{Entry, Output, Sink, SinkError, Written};
use crate::summary::{Live, Tally};

/// The most records handed to the writer thread at once…
const RECORD_BATCH: usize = 256;
/// …and the body bytes after which a batch goes at once, so that batches of
/// large bodies stay small. With [`RECORD_BATCHES`], this bounds the records
/// waiting for the writer.
const RECORD_BATCH_BYTES: u64 = 1 << 20;
/// Batches waiting for the writer thread.
const RECORD_BATCHES: usize = 8;

/// How long a batch may wait for more records before it is handed on: short
/// enough that nobody watching the output notices, long enough that a fast
/// run hands on hundreds of records at a time.
const RECORD_LINGER: std::time::Duration = std::time::Duration::from_millis(5);

/// The body bytes a record holds in memory: what [`RECORD_BATCH_BYTES`]
/// bounds. A body that was discarded (`--body none`) or saved to a file
/// (`--save-dir`) is no longer held, however large it was.
fn held(record: &volley::Outcome) -> u64 {
    let body = record.body.as_ref().map_or(0, |b| b.get().len());
    let base64 = record.body_base64.as_ref().map_or(0, String::len);
    let raw = record.raw_body.as_ref().map_or(0, |r| r.bytes.len());
    (body + base64 + raw) as u64
}

/// Parses the process arguments, runs, and returns the exit status.
pub fn main_entry() -> std::process::ExitCode {
    let mut args = match Args::try_parse() {
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
    // A run, not a subcommand that only prints. (The demo runs its testbed
    // in this process: its side of the connections fits in the same room.)
    if matches!(args.command, None | Some(Command::Demo { .. })) {
        args.concurrency = open_files(args.concurrency);
    }
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
    // On a worker, not on this thread: the run hands every record on, and a
    // hand-off between a worker and the thread in `block_on` is a thread
    // switch each time.
    let run = runtime.spawn(run(args));
    match runtime.block_on(run) {
        Ok(exit) => exit.into(),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => {
                eprintln!("volley: error: {e}");
                Exit::Failures.into()
            }
        },
    }
}

/// Makes room for a run's connections before its runtime starts: raises
/// the soft limit on open files to what `concurrency` needs, and grows the
/// descriptor table now, while this is the only thread (later, with the
/// runtime's threads running, each growth waits out an RCU grace period;
/// see `volley::reserve_descriptors`).
///
/// Returns the concurrency to run with: `concurrency`, or, when even the
/// hard limit leaves no room for it, what fits, with a warning. (Past the
/// limit, connections would fail with "Too many open files": the run
/// would fail requests for want of a resource of its own.)
fn open_files(concurrency: usize) -> usize {
    let fits = match volley::raise_open_files_limit(concurrency) {
        // Zero is refused with the other flags' errors, later.
        Ok(files) if files.too_low() && concurrency > 0 => {
            let fits = files.concurrency_that_fits();
            eprintln!(
                "volley: warning: at most {} files may be open at once (`ulimit -n`), fewer than \
                 the {} that --concurrency {concurrency} needs; running with --concurrency \
                 {fits} (raise the limit to go higher)",
                files.limit, files.needed
            );
            fits
        }
        // Unchanged, or raised as far as the run needs.
        Ok(_) | Err(_) => concurrency,
    };
    // Best effort: without it the table grows as connections open.
    let _ = volley::reserve_descriptors(fits);
    fits
}

/// Runs parsed arguments to completion.
pub async fn run(args: Args) -> Exit {
    match args.command {
        Some(Command::Demo { requests, output }) => return demo::run(requests, output).await,
        Some(Command::Completions { shell }) => {
            let mut command = <Args as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "volley", &mut script);
            return print_quietly(&script);
        }
        Some(Command::Man) => {
            let command = <Args as clap::CommandFactory>::command();
            let mut page = Vec::new();
            if let Err(e) = clap_mangen::Man::new(command).render(&mut page) {
                eprintln!("volley: error: {e}");
                return Exit::Failures;
            }
            return print_quietly(&page);
        }
        None => {}
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

/// Writes `bytes` to stdout; a reader that went away (`| head`) is not an error.
fn print_quietly(bytes: &[u8]) -> Exit {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("volley: error: {e}");
            Exit::Failures
        }
        _ => Exit::Success,
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
    /// `--template`: the rows to read instead of `sources`.
    rows: Option<Rows>,
    output: Box<dyn Output>,
    client: volley::Client,
    done: Done,
    /// `outcome_unknown` records owed from an earlier run.
    owed: Vec<volley::Outcome>,
    intents: Option<Arc<IntentLog>>,
    extras: extras::Extras,
}

fn prepare(config: &mut Config, stop: &volley::CancellationToken) -> anyhow::Result<Prepared> {
    if config.inputs.is_empty() && config.template.is_none() {
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
    // A template run reads rows from --values instead: opened here, before
    // the output, so that a column the header lacks is a usage error.
    let rows = config
        .template
        .take()
        .map(TemplateInput::open)
        .transpose()?;
    let builder = std::mem::take(&mut config.client);
    // Built once here only to check the settings before any file is touched.
    builder.clone().build().context("invalid settings")?;
    let (mut done, mut owed) = (Done::default(), Vec::new());
    if let (true, Some(path)) = (config.resume, &config.output) {
        done = resume::scan(path, config.repair)?;
        if !config.replay_unknown {
            owed = intents::unresolved(path, &mut done)
                .with_context(|| format!("cannot read {}", intents::path_for(path).display()))?;
        }
        if done.torn_bytes > 0 {
            eprintln!(
                "volley: resume: cut a torn last line ({} bytes) from {}",
                done.torn_bytes,
                path.display()
            );
        }
        if done.dropped > 0 {
            eprintln!(
                "volley: resume: dropped {} damaged lines from {}",
                done.dropped,
                path.display()
            );
        }
    }
    let mut extras = extras::Extras::default();
    if let Some(dir) = &config.save_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --save-dir {}", dir.display()))?;
    }
    if let Some(path) = &config.failures {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        extras.failures = Some(std::io::BufWriter::new(file));
    }
    // Opened (and, without --resume, truncated) last: a usage error must not
    // destroy an existing output file.
    let (output, intents): (Box<dyn Output>, _) = match &config.output {
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.create(true);
            if config.resume {
                options.append(true);
            } else {
                options.write(true).truncate(true);
                intents::remove(path); // a fresh run owes nothing
            }
            let file = options
                .open(path)
                .with_context(|| format!("cannot open {} for writing", path.display()))?;
            let log = IntentLog::open(path, stop.clone());
            (Box::new(file), Some(Arc::new(log)))
        }
        None => (Box::new(std::io::stdout()), None),
    };
    let client = match &intents {
        Some(log) => builder.intent_hook(Arc::clone(log) as Arc<dyn volley::IntentHook>),
        None => builder,
    }
    .build()
    .context("invalid settings")?;
    Ok(Prepared {
        sources,
        rows,
        output,
        client,
        done,
        owed,
        intents,
        extras,
    })
}

/// Runs a validated configuration: reads the inputs, fetches, writes the
/// records, prints the summary.
///
/// # Errors
///
/// Problems found before any request (unreadable input, unwritable output,
/// damaged output to resume, invalid settings); the caller exits 2.
pub async fn execute(mut config: Config) -> anyhow::Result<Report> {
    // Cancelled by a signal or a failing intent log: start nothing new.
    let stop = volley::CancellationToken::new();
    // What the progress bar counts for its total: the inputs, or the rows.
    let counted = match &config.template {
        Some(t) => (vec![t.values_name().to_owned()], t.has_header()),
        None => (config.inputs.clone(), false),
    };
    let Prepared {
        sources,
        rows,
        output,
        client,
        done,
        owed,
        intents,
        extras,
    } = prepare(&mut config, &stop)?;
    let started = Instant::now();
    let resumed_owed = owed.len();

    // Ctrl-C / SIGTERM: stop reading, drain, exit 130 (see `signals`).
    let interrupted = signals::listen(stop.clone());
    let show_progress = !config.quiet && std::io::stderr().is_terminal();

    // reader thread → forwarder: input items, in input order.
    let (item_tx, item_rx) = mpsc::channel::<Vec<Item>>(4);
    let parser = LineParser::new(config.defaults.clone(), config.max_line);
    let reader = match rows {
        Some(rows) => rows.spawn(item_tx),
        None => input::spawn(sources, parser, item_tx),
    };

    // engine and forwarder → sink thread: records.
    let (record_tx, record_rx) = mpsc::channel::<Entry>(RECORD_BATCHES);
    // In ordered mode, one permit per item between reading and writing (see sink).
    let window = config
        .ordered
        .then(|| Arc::new(Semaphore::new(config.read_ahead)));
    // Live counts for the progress bar, kept by the sink.
    let live = Arc::new(Live::default());
    let sink = Sink::new(
        output,
        config.ordered,
        config.fail_on.clone(),
        window.clone(),
        Arc::clone(&live),
    )
    .with_extras(extras);
    let sink = std::thread::spawn(move || sink.run(owed, record_rx));
    let progress = show_progress.then(|| {
        let total = Arc::new(std::sync::atomic::AtomicU64::new(0));
        progress::count_in_background(&counted.0, counted.1, Arc::clone(&total));
        progress::Progress::start(Arc::clone(&live), client.clone(), total)
    });

    // forwarder → engine: valid specs to fetch. Invalid lines skip the engine.
    let (spec_tx, spec_rx) = mpsc::channel::<volley::RequestSpec>(64);
    let forwarder = tokio::spawn(
        Forwarder {
            items: item_rx,
            specs: spec_tx,
            records: record_tx.clone(),
            window,
            done,
            shard: config.shard,
            stop: stop.clone(),
        }
        .run(),
    );

    // Polled in place: `unfold` would build a future, and move the receiver
    // and the spec through it, for every spec.
    let mut spec_rx = spec_rx;
    let specs = futures_util::stream::poll_fn(move |cx| spec_rx.poll_recv(cx));
    let mut abandoned = false;
    {
        // The engine's stream lives in this block only. When the sink stops
        // early (`volley … | head`) or the grace period ends, leaving the
        // block drops the stream, which stops its driver and aborts requests
        // in flight.
        let mut outcomes = std::pin::pin!(client.stream_until(specs, stop.clone()));
        let grace = config.grace;
        let mut grace_over = std::pin::pin!({
            let stop = stop.clone();
            async move {
                stop.cancelled().await;
                tokio::time::sleep(grace).await;
            }
        });
        loop {
            tokio::select! {
                outcome = outcomes.next() => match outcome {
                    Some(outcome) => {
                        // Whatever else finishes within RECORD_LINGER goes in
                        // the same hand-off, so the writer thread wakes once
                        // per batch, not once per record.
                        let linger = tokio::time::Instant::now() + RECORD_LINGER;
                        let mut bytes = held(&outcome);
                        let mut batch = vec![outcome];
                        let mut ended = false;
                        while batch.len() < RECORD_BATCH && bytes < RECORD_BATCH_BYTES {
                            let next = match outcomes.next().now_or_never() {
                                Some(next) => next,
                                None => match tokio::time::timeout_at(linger, outcomes.next()).await {
                                    Ok(next) => next,
                                    Err(_) => break,
                                },
                            };
                            match next {
                                Some(outcome) => {
                                    bytes += held(&outcome);
                                    batch.push(outcome);
                                }
                                None => {
                                    ended = true;
                                    break;
                                }
                            }
                        }
                        if record_tx.send(Entry::Records(batch)).await.is_err() {
                            break; // the sink stopped; its result says why
                        }
                        if ended {
                            break;
                        }
                    }
                    None => break,
                },
                () = &mut grace_over => {
                    eprintln!("volley: grace period over: abandoning the requests still in flight");
                    abandoned = true;
                    break;
                }
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
    let forwarded = forwarder.await;

    let written = sink.join().unwrap_or_else(|_| Written {
        tally: Tally::default(),
        error: Some(SinkError::Io(std::io::Error::other("the writer panicked"))),
        whole: 0,
    });
    let interrupted = interrupted.fired();
    // Join the reader only after a complete run: after an early stop it may
    // be blocked reading a terminal or pipe, and it ends by itself at its
    // next line (its channel is closed) or with the process.
    let read = match (&written.error, interrupted || abandoned) {
        (None, false) => reader
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the input reader panicked"))),
        _ => Ok(Default::default()),
    };
    let resume_hint = config.output.as_ref().map_or_else(String::new, |_| {
        "; run the same command with --resume to continue".to_owned()
    });
    // Whether the run ended as a whole: every input read, every record
    // written. Only then is the intent log no longer needed.
    let mut clean = true;
    let Written {
        tally,
        error,
        whole,
    } = written;
    let mut exit = match error {
        None if tally.failing > 0 => Exit::Failures,
        None => Exit::Success,
        // `volley … | head`: the reader of our output is gone; stop quietly.
        Some(SinkError::ClosedPipe) => {
            return Ok(Report {
                exit: Exit::Success,
                tally,
            })
        }
        Some(SinkError::Io(e)) => {
            eprintln!(
                "volley: error: writing records failed after {whole} records: {e}. \
                 Every record written is whole{resume_hint}"
            );
            clean = false;
            Exit::Failures
        }
    };
    if let Err(e) = read {
        eprintln!("volley: error: reading input failed: {e:#}");
        exit = Exit::Failures;
        clean = false;
    }
    let skipped = match forwarded {
        Ok(Ok(skipped)) => skipped,
        Ok(Err(e)) => {
            eprintln!("volley: error: {e:#}");
            exit = Exit::Usage;
            clean = false;
            Default::default()
        }
        // Aborted after an early stop.
        Err(_) => Default::default(),
    };
    if let Some(failure) = intents.as_ref().and_then(|log| log.failure()) {
        eprintln!(
            "volley: error: cannot write the intent log ({failure}); requests that need one were not sent{resume_hint}"
        );
        exit = Exit::Failures;
        clean = false;
    }
    if interrupted || abandoned {
        exit = Exit::Interrupted;
        clean = false;
    }
    if let (true, Some(path)) = (clean, &config.output) {
        intents::remove(path);
    }
    if let Some(progress) = progress {
        progress.finish();
    }
    let summary = tally.summary(started.elapsed(), config.insecure, client.stats());
    if let Some(path) = &config.summary_json {
        let written = serde_json::to_vec_pretty(&summary)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json));
        if let Err(e) = written {
            eprintln!("volley: error: cannot write {}: {e}", path.display());
            exit = Exit::Failures;
        }
    }
    if !config.quiet {
        eprintln!("{}", summary.render());
        if skipped.done > 0 || resumed_owed > 0 {
            eprintln!(
                "volley: resumed: {} requests already done were skipped; {resumed_owed} recorded as outcome_unknown",
                skipped.done
            );
        }
        if let Some(shard) = config.shard {
            eprintln!(
                "volley: shard {shard}: {} requests belong to other shards",
                skipped.other_shard
            );
        }
        if exit == Exit::Interrupted {
            eprintln!("volley: interrupted{resume_hint}");
        }
    }
    Ok(Report { exit, tally })
}

#[cfg(test)]
mod tests {
    use volley::{ErrorKind, Outcome, RawBody, RequestSpec};

    use super::held;

    /// A batch is bounded by the bodies its records hold, not by the bytes
    /// received: 500 discarded 1 MiB bodies must go to the writer in a few
    /// batches, not one each.
    #[test]
    fn held_counts_only_bodies_kept_in_the_record() {
        let spec = RequestSpec::get("http://a.test/big");
        let mut record = Outcome::failed(&spec, ErrorKind::Connect, "stand-in");
        record.bytes = 1 << 20;
        assert_eq!(held(&record), 0, "--body none: nothing held");
        record.body_base64 = Some("QUJD".to_owned());
        record.raw_body = Some(Box::new(RawBody {
            bytes: bytes::Bytes::from_static(b"ABC"),
            content_type: None,
        }));
        record.body = serde_json::value::RawValue::from_string("\"ABC\"".to_owned()).ok();
        assert_eq!(held(&record), 4 + 3 + 5);
    }
}
