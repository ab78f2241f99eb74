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
//!
//! Items go over in batches of up to [`BATCH`]: a hand-off can wake the
//! other side's thread, and one wake-up per item would cost more than
//! parsing the item. A batch is handed over early whenever the input may
//! make the reader wait (its buffer is empty, e.g. a pipe that has nothing
//! more yet), so no item ever waits for later input.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::thread::{self, JoinHandle};

use anyhow::Context;
use tokio::sync::mpsc;

use super::lines::LineReader;
use super::{Item, LineParser, Location};

/// The most items handed to the engine at once.
pub const BATCH: usize = 64;

/// Where the reading side hands its items.
pub trait Emit {
    /// Takes one item; false when the receiver is gone and reading should stop.
    fn item(&mut self, item: Item) -> bool;

    /// The input may make the reader wait now (a pipe with no more data
    /// yet): hand over what is held, so that no item waits for later input.
    /// False when the receiver is gone.
    fn pause(&mut self) -> bool {
        true
    }
}

/// A closure taking each item at once, with nothing held back.
impl<F: FnMut(Item) -> bool> Emit for F {
    fn item(&mut self, item: Item) -> bool {
        self(item)
    }
}

/// Items gathered into batches for the engine's channel.
struct Batches {
    tx: mpsc::Sender<Vec<Item>>,
    batch: Vec<Item>,
}

impl Batches {
    /// Hands over what is held; false when the receiver is gone.
    fn send(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.tx.blocking_send(batch).is_ok()
    }
}

impl Emit for Batches {
    fn item(&mut self, item: Item) -> bool {
        self.batch.push(item);
        self.batch.len() < BATCH || self.send()
    }

    fn pause(&mut self) -> bool {
        self.send()
    }
}

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
/// `parser`, and sends the items into `tx`, in batches of up to [`BATCH`].
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
    tx: mpsc::Sender<Vec<Item>>,
) -> JoinHandle<anyhow::Result<ReadSummary>> {
    spawn_with(tx, move |emit| read_sources(sources, &mut parser, emit))
}

/// Starts the input thread running `read`, whose items go into `tx`: the
/// thread of [`spawn`], for any reader of items (the template rows too).
/// `read` gets the [`Emit`] to pass each item to; it returns false when the
/// receiver is gone, and `read` should then stop.
///
/// # Panics
///
/// When the operating system cannot start a thread, as `std::thread::spawn`.
pub fn spawn_with(
    tx: mpsc::Sender<Vec<Item>>,
    read: impl FnOnce(&mut dyn Emit) -> anyhow::Result<ReadSummary> + Send + 'static,
) -> JoinHandle<anyhow::Result<ReadSummary>> {
    let run = move || {
        // `blocking_send` waits for room in the bounded channel: this is the
        // back-pressure that keeps the whole input out of memory. It fails
        // only when the receiver is gone, which ends the reading. (It would
        // panic inside an async runtime; this is a plain OS thread.)
        let mut batches = Batches {
            tx,
            batch: Vec::with_capacity(BATCH),
        };
        let read = read(&mut batches);
        // What was read before the end (or an error) still counts.
        batches.send();
        read
    };
    thread::Builder::new()
        .name("volley-input".to_owned())
        .spawn(run)
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
    emit: &mut dyn Emit,
) -> anyhow::Result<ReadSummary> {
    let mut summary = ReadSummary::default();
    for source in sources {
        let more = match source {
            Source::Stdin => read_one("stdin", io::stdin().lock(), parser, emit, &mut summary)?,
            Source::File { name, file } => {
                let file = BufReader::with_capacity(FILE_BUFFER, file);
                read_one(&name, file, parser, emit, &mut summary)?
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
    emit: &mut dyn Emit,
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
        if !emit.item(item) {
            return Ok(false);
        }
        if lines.drained() && !emit.pause() {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Defaults, DEFAULT_MAX_LINE_LEN};
    use std::io::Write as _;
    use std::path::Path;

    fn parser() -> LineParser {
        LineParser::new(Defaults::default(), DEFAULT_MAX_LINE_LEN)
    }

    fn write_file(dir: &Path, name: &str, content: &[u8]) -> String {
        let path = dir.join(name);
        let mut file = File::create(&path).expect("create test input");
        file.write_all(content).expect("write test input");
        path.to_str().expect("temp paths are UTF-8").to_owned()
    }

    /// Runs the input thread over `sources` and collects what it sends,
    /// through a small channel so that back-pressure is exercised.
    fn run(sources: Vec<Source>, parser: LineParser) -> (Vec<Item>, ReadSummary) {
        let (tx, mut rx) = mpsc::channel(8);
        let handle = spawn(sources, parser, tx);
        let mut items = Vec::new();
        // `blocking_recv` needs no runtime: this test thread is the engine.
        while let Some(batch) = rx.blocking_recv() {
            assert!(
                !batch.is_empty() && batch.len() <= BATCH,
                "batch of {}",
                batch.len()
            );
            items.extend(batch);
        }
        let summary = handle.join().expect("no panic").expect("no I/O error");
        (items, summary)
    }

    #[test]
    fn ten_thousand_lines_give_ten_thousand_items_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let content: String = (0..10_000)
            .map(|i| format!("http://a.test/{i}\n"))
            .collect();
        let path = write_file(dir.path(), "urls.txt", content.as_bytes());
        let source = Source::open(&path).expect("open");
        let (items, summary) = run(vec![source], parser());
        assert_eq!(items.len(), 10_000);
        for (i, item) in (0u64..).zip(&items) {
            let Item::Spec(spec) = item else {
                panic!("line {} is invalid: {item:?}", i + 1)
            };
            assert_eq!(
                (spec.index, spec.url.as_str()),
                (i, format!("http://a.test/{i}").as_str())
            );
        }
        assert_eq!(
            summary,
            ReadSummary {
                lines: 10_000,
                items: 10_000,
                invalid: 0,
                complete: true
            }
        );
    }

    #[test]
    fn a_ten_megabyte_line_is_one_invalid_item_and_the_next_lines_are_read() {
        // FAULTS.md row 19: a 10 MB line among good ones.
        let dir = tempfile::tempdir().expect("temp dir");
        let mut content = b"http://a.test/before\n# comment\n".to_vec();
        content.extend_from_slice(b"http://a.test/");
        content.resize(content.len() + 10_000_000, b'x');
        content.extend_from_slice(b"\nhttp://a.test/after\n{\"url\": \"http://a.test/json\"}");
        let path = write_file(dir.path(), "big.txt", &content);
        let source = Source::open(&path).expect("open");
        let (items, summary) = run(vec![source], parser());

        assert_eq!(items.len(), 4);
        let Item::Invalid(outcome) = &items[1] else {
            panic!("the long line was accepted")
        };
        let message = outcome.error.as_ref().map(|e| e.message.clone());
        assert_eq!(
            message.as_deref(),
            Some(
                format!(
                    "{path} line 3: line too long: 10000014 bytes, over the limit of 1048576 bytes"
                )
                .as_str()
            )
        );
        assert_eq!(outcome.index, 1);
        assert_eq!(
            outcome.url.chars().count(),
            201,
            "the record carries only the start"
        );
        let urls: Vec<&str> = items
            .iter()
            .filter_map(|item| match item {
                Item::Spec(spec) => Some(spec.url.as_str()),
                Item::Invalid(_) => None,
            })
            .collect();
        assert_eq!(
            urls,
            [
                "http://a.test/before",
                "http://a.test/after",
                "http://a.test/json"
            ]
        );
        assert_eq!(items[3].index(), 3);
        assert_eq!((summary.lines, summary.items, summary.invalid), (5, 4, 1));
    }

    #[test]
    fn sources_are_read_in_order_and_indexes_continue_across_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = write_file(dir.path(), "a.txt", b"http://a.test/1\nhttp://a.test/2\n");
        let second = write_file(
            dir.path(),
            "b.txt",
            b"# header\nftp://a.test/3\nhttp://a.test/4",
        );
        let sources = vec![
            Source::open(&first).expect("open a"),
            Source::open(&second).expect("open b"),
        ];
        let (items, summary) = run(sources, parser());
        let indexes: Vec<u64> = items.iter().map(Item::index).collect();
        assert_eq!(indexes, [0, 1, 2, 3]);
        let Item::Invalid(outcome) = &items[2] else {
            panic!("ftp was accepted")
        };
        let message = outcome.error.as_ref().map(|e| e.message.clone());
        assert_eq!(
            message,
            Some(format!(
                "{second} line 2: unsupported scheme \"ftp\": only http and https"
            ))
        );
        assert_eq!((summary.lines, summary.items, summary.invalid), (5, 4, 1));
    }

    #[test]
    fn reading_stops_quietly_when_the_receiver_is_gone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let content = "http://a.test/\n".repeat(1000);
        let path = write_file(dir.path(), "urls.txt", content.as_bytes());
        let (tx, mut rx) = mpsc::channel(4);
        let handle = spawn(vec![Source::open(&path).expect("open")], parser(), tx);
        let first = rx.blocking_recv();
        assert!(matches!(first.as_deref(), Some([Item::Spec(_), ..])));
        drop(rx);
        let summary = handle.join().expect("no panic").expect("not an error");
        assert!(!summary.complete);
        assert!(summary.items < 1000, "{summary:?}");
    }

    /// An input that hands over one line per read, as a pipe fed line by
    /// line does.
    struct Trickle(std::collections::VecDeque<Vec<u8>>);

    impl io::Read for Trickle {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            unreachable!("read through BufRead only")
        }
    }

    impl BufRead for Trickle {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            Ok(self.0.front().map_or(&[][..], Vec::as_slice))
        }
        fn consume(&mut self, n: usize) {
            let front = self.0.front_mut().expect("consume after fill_buf");
            front.drain(..n);
            if front.is_empty() {
                self.0.pop_front();
            }
        }
    }

    /// Records what reading hands over: `Some(index)` per item, `None` per pause.
    struct Log(Vec<Option<u64>>);

    impl Emit for Log {
        fn item(&mut self, item: Item) -> bool {
            self.0.push(Some(item.index()));
            true
        }
        fn pause(&mut self) -> bool {
            self.0.push(None);
            true
        }
    }

    #[test]
    fn a_batch_is_handed_over_whenever_the_input_may_wait() {
        // Line by line, as from a slow pipe: every item is handed over at
        // once, before the reader asks for the next line.
        let lines = (0..3).map(|i| format!("http://a.test/{i}\n").into_bytes());
        let mut log = Log(Vec::new());
        let mut summary = ReadSummary::default();
        read_one(
            "stdin",
            Trickle(lines.collect()),
            &mut parser(),
            &mut log,
            &mut summary,
        )
        .expect("no I/O error");
        assert_eq!(log.0, [Some(0), None, Some(1), None, Some(2), None]);
        // All buffered at once, as from a file: a pause only at the end.
        let all = "http://a.test/0\nhttp://a.test/1\nhttp://a.test/2\n";
        let mut log = Log(Vec::new());
        read_one(
            "file",
            all.as_bytes(),
            &mut parser(),
            &mut log,
            &mut summary,
        )
        .expect("no I/O error");
        assert_eq!(log.0, [Some(0), Some(1), Some(2), None]);
    }

    #[test]
    fn sources_that_cannot_be_opened_are_errors_naming_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.txt");
        let missing = missing.to_str().expect("UTF-8");
        let err = Source::open(missing).expect_err("missing file");
        assert_eq!(err.to_string(), format!("cannot open input file {missing}"));
        let as_dir = dir.path().to_str().expect("UTF-8");
        let err = Source::open(as_dir).expect_err("a directory");
        assert_eq!(
            err.to_string(),
            format!("input file {as_dir} is a directory")
        );
        let stdin = Source::open("-").expect("stdin");
        assert_eq!(stdin.name(), "stdin");
    }

    /// A reader that gives one line, then fails.
    struct Failing(bool);

    impl io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if std::mem::replace(&mut self.0, true) {
                return Err(io::Error::other("disk on fire"));
            }
            let line = b"http://a.test/\n";
            buf[..line.len()].copy_from_slice(line);
            Ok(line.len())
        }
    }

    #[test]
    fn a_read_error_names_the_source_and_the_last_line() {
        let mut items = 0;
        let mut summary = ReadSummary::default();
        let err = read_one(
            "urls.txt",
            BufReader::new(Failing(false)),
            &mut parser(),
            &mut |_| {
                items += 1;
                true
            },
            &mut summary,
        )
        .expect_err("the read fails");
        assert_eq!(
            format!("{err:#}"),
            "cannot read urls.txt after line 1: disk on fire"
        );
        assert_eq!(items, 1);
    }
}
