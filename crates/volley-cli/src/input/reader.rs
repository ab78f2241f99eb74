//! The input thread: reads the sources in order and feeds the engine's
//! bounded channel, one [`Item`] per request line.
//!
//! Reading is blocking I/O (files, a pipe on stdin), so it runs on its own
//! OS thread rather than on the async runtime, and hands items over with
//! `blocking_send`. The channel is bounded: when the engine's read-ahead is
//! full, `blocking_send` waits, and so does reading — memory stays flat
//! however long the input is. When the receiver is dropped (the run was
//! interrupted, or it ended early), the next send fails and the thread stops
//! quietly.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::thread::{self, JoinHandle};

use anyhow::Context;
use tokio::sync::mpsc;

use super::lines::LineReader;
use super::{Item, LineParser, Location};

/// Read buffer for files: large enough that a `read` call per 64 KiB keeps
/// system-call overhead small next to parsing.
const FILE_BUFFER: usize = 64 * 1024;

/// One input source, opened: `-` for standard input, or a file.
///
/// Files are opened when the `Source` is made, before the run starts, so a
/// missing or unreadable file is a usage error (exit 2) before any request
/// is sent rather than a failure halfway through a long run.
#[derive(Debug)]
pub enum Source {
    /// `-`: standard input.
    Stdin,
    /// An open file, with its path as the user gave it (for messages).
    File {
        /// The path as given on the command line.
        name: String,
        /// The file, opened and not yet read.
        file: File,
    },
}

impl Source {
    /// Opens the source named `name` on the command line: `-` is standard
    /// input, anything else a file path.
    ///
    /// # Errors
    ///
    /// The file cannot be opened, or is a directory; the message names it.
    pub fn open(name: &str) -> anyhow::Result<Source> {
        if name == "-" {
            return Ok(Source::Stdin);
        }
        let file = File::open(name).with_context(|| format!("cannot open input file {name}"))?;
        let metadata = file
            .metadata()
            .with_context(|| format!("cannot read input file {name}"))?;
        // Opening a directory succeeds on Unix; reading it is what fails.
        anyhow::ensure!(!metadata.is_dir(), "input file {name} is a directory");
        Ok(Source::File {
            name: name.to_owned(),
            file,
        })
    }

    /// The name used in messages: `stdin`, or the path as the user gave it.
    pub fn name(&self) -> &str {
        match self {
            Source::Stdin => "stdin",
            Source::File { name, .. } => name,
        }
    }
}

/// What the input thread read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Lines read, over all sources, including blank and comment lines.
    pub lines: u64,
    /// Items handed over: one per request line, valid or not.
    pub items: u64,
    /// Of those, the `invalid_request` ones.
    pub invalid: u64,
    /// False when reading stopped early because the receiver was gone.
    pub complete: bool,
}

/// Starts the input thread: reads `sources` in order, parses each line with
/// `parser`, and sends the items into `tx`.
///
/// The thread ends when all sources are read, when `tx`'s receiver is
/// dropped (the summary then says `complete: false`), or at the first I/O
/// error. A thread blocked reading stdin only notices a dropped receiver
/// when its next line arrives, so a caller that gives up early should not
/// wait for the handle.
///
/// The handle's result is an error, naming the source, when a source cannot
/// be read.
///
/// # Panics
///
/// When the operating system cannot start a thread, as `std::thread::spawn`.
pub fn spawn(
    sources: Vec<Source>,
    mut parser: LineParser,
    tx: mpsc::Sender<Item>,
) -> JoinHandle<anyhow::Result<ReadSummary>> {
    let read = move || {
        // `blocking_send` waits for room in the bounded channel: this is the
        // back-pressure that keeps the whole input out of memory. It fails
        // only when the receiver is gone, which ends the reading. (It would
        // panic inside an async runtime; this is a plain OS thread.)
        read_sources(sources, &mut parser, |item| tx.blocking_send(item).is_ok())
    };
    thread::Builder::new()
        .name("volley-input".to_owned())
        .spawn(read)
        .expect("the operating system could not start the input thread")
}

/// Reads `sources` in order on the current thread, passing each item to
/// `emit`; `emit` returns false to stop reading.
///
/// # Errors
///
/// A source cannot be read; the error names it.
pub fn read_sources(
    sources: Vec<Source>,
    parser: &mut LineParser,
    mut emit: impl FnMut(Item) -> bool,
) -> anyhow::Result<ReadSummary> {
    let mut summary = ReadSummary::default();
    for source in sources {
        let more = match source {
            Source::Stdin => read_one("stdin", io::stdin().lock(), parser, &mut emit, &mut summary)?,
            Source::File { name, file } => {
                let file = BufReader::with_capacity(FILE_BUFFER, file);
                read_one(&name, file, parser, &mut emit, &mut summary)?
            }
        };
        if !more {
            return Ok(summary);
        }
    }
    summary.complete = true;
    Ok(summary)
}

/// Reads one source to its end; false when `emit` asked to stop.
///
/// # Errors
///
/// A read error, with the source's name and the last line read.
pub fn read_one(
    name: &str,
    input: impl BufRead,
    parser: &mut LineParser,
    emit: &mut impl FnMut(Item) -> bool,
    summary: &mut ReadSummary,
) -> anyhow::Result<bool> {
    let mut lines = LineReader::new(input, parser.max_line_len());
    loop {
        let (number, line) = match lines.next_line() {
            Ok(Some(numbered)) => numbered,
            Ok(None) => return Ok(true),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot read {name} after line {}", lines.line_number())
                })
            }
        };
        summary.lines += 1;
        let at = Location {
            source: name,
            line: number,
        };
        let Some(item) = parser.parse(at, line) else {
            continue;
        };
        summary.items += 1;
        summary.invalid += u64::from(matches!(item, Item::Invalid(_)));
        if !emit(item) {
            return Ok(false);
        }
    }
}
