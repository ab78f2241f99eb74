//! The JSON-lines writer: one whole line per record, in completion order or
//! (with `--ordered`) in input order, on its own thread.
//!
//! The sink runs on a plain thread because writing to a slow pipe blocks,
//! and a blocked write must not stall the async engine's workers. It
//! flushes whenever no record is waiting, so a slow trickle of records
//! shows up at once while a fast stream is written in large blocks.
//!
//! In ordered mode, records that arrive early wait in a reorder buffer.
//! Its size is bounded by the admission window: the reader takes a window
//! permit for every input item and the sink returns it only after the
//! item's record is written (or its skip is passed), so at most `window`
//! records exist anywhere.
//!
//! Durability: records are written as whole lines, flushed whenever no
//! record is waiting and at least every 100 ms, and synced to disk every
//! second and at the end, so a crash loses at most the last second and
//! leaves at most one torn line (which `--resume` cuts off).
//!
//! A record handed to the buffer is not yet in the output: when a write
//! fails (a full disk), the records still buffered, or cut short by the
//! failing write, never get there. So the sink counts the bytes the output
//! accepted, and [`Written::whole`] says how many records reached it whole:
//! the number the user is told, and what `--resume` will find.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};
use volley::Outcome;

use crate::cli::FailOn;
use crate::extras::Extras;
use crate::summary::{count_live, Live, Tally};

/// Why writing stopped early.
#[derive(Debug)]
pub enum SinkError {
    /// The reader of stdout went away (`volley … | head`): stop quietly.
    ClosedPipe,
    /// Any other write failure.
    Io(io::Error),
}

/// What the sink wrote: the tally, and why it stopped early if it did.
#[derive(Debug)]
pub struct Written {
    /// Counts over the records written.
    pub tally: Tally,
    /// Why writing stopped before the end, if it did.
    pub error: Option<SinkError>,
    /// Records that reached the output whole: all of `tally.total` after a
    /// clean end, fewer when a write failed with records still buffered.
    pub whole: u64,
}

/// Where records are written: a file (synced) or a stream such as stdout.
pub trait Output: Write + Send {
    /// Makes what was written durable (a no-op for pipes and terminals).
    ///
    /// # Errors
    ///
    /// When the operating system reports a failure to persist.
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Output for std::fs::File {
    fn sync(&mut self) -> io::Result<()> {
        match self.sync_data() {
            // A file that cannot be synced (`-o /dev/null`, a FIFO) has
            // nothing to persist.
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
            other => other,
        }
    }
}

impl Output for io::Stdout {}

/// What the sink receives: a record, or the index of an input item that
/// gets no record in this run (already done, another shard), so that
/// ordered output does not wait for it.
#[derive(Debug)]
// Nearly every entry is a record: boxing it would cost an allocation per
// record to shrink the rare skip.
#[allow(clippy::large_enum_variant)]
pub enum Entry {
    /// A record to write.
    Record(volley::Outcome),
    /// Records to write, in this order: what the engine finished since its
    /// last hand-off, so that the writer thread wakes once per batch rather
    /// than once per record.
    Records(Vec<volley::Outcome>),
    /// An input position with nothing to write.
    Skip(u64),
}

const FLUSH_EVERY: Duration = Duration::from_millis(100);
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Where records go and in which order.
pub struct Sink {
    out: io::BufWriter<Counted>,
    ordered: bool,
    fail_on: FailOn,
    /// Permits to return after each record is written (ordered mode).
    window: Option<Arc<Semaphore>>,
    live: Arc<Live>,
    extras: Extras,
}

impl Sink {
    /// A sink writing to `out` (buffered here).
    pub fn new(
        out: Box<dyn Output>,
        ordered: bool,
        fail_on: FailOn,
        window: Option<Arc<Semaphore>>,
        live: Arc<Live>,
    ) -> Self {
        Sink {
            out: io::BufWriter::with_capacity(
                64 * 1024,
                Counted {
                    inner: out,
                    accepted: 0,
                },
            ),
            ordered,
            fail_on,
            window,
            live,
            extras: Extras::default(),
        }
    }

    /// Adds `--save-dir` and `--failures` outputs.
    #[must_use]
    pub fn with_extras(mut self, extras: Extras) -> Self {
        self.extras = extras;
        self
    }

    /// Writes `preamble` (records owed from an earlier run), then every
    /// entry received until the channel closes; returns the tally of what
    /// was written.
    ///
    /// [`Written::error`] says why writing stopped early, if it did; the
    /// tally counts what was written up to then.
    pub fn run(mut self, preamble: Vec<Outcome>, mut entries: mpsc::Receiver<Entry>) -> Written {
        let mut state = State {
            tally: Tally::default(),
            pending: BTreeMap::new(),
            next_index: 0,
            line: Vec::with_capacity(4096),
            handed: 0,
            ends: VecDeque::new(),
            whole: 0,
            last_flush: Instant::now(),
            last_sync: Instant::now(),
            unsynced: false,
        };
        for record in &preamble {
            if let Err(e) = self.write(record.clone(), &mut state) {
                return self.stopped(e, state);
            }
        }
        loop {
            let entry = match entries.try_recv() {
                Ok(entry) => entry,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Nothing waiting: make what we have visible, then block.
                    if let Err(e) = self.flush(&mut state) {
                        return self.stopped(e, state);
                    }
                    match entries.blocking_recv() {
                        Some(entry) => entry,
                        None => break,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            };
            if let Err(e) = self.take(entry, &mut state) {
                return self.stopped(e, state);
            }
            if state.last_flush.elapsed() >= FLUSH_EVERY {
                if let Err(e) = self.flush(&mut state) {
                    return self.stopped(e, state);
                }
            }
        }
        // In input order, gaps remain only for requests that never started
        // (a graceful stop); write what arrived after them rather than drop it.
        for record in std::mem::take(&mut state.pending).into_values().flatten() {
            if let Err(e) = self.write(record, &mut state) {
                return self.stopped(e, state);
            }
        }
        let end = self
            .extras
            .flush()
            .and_then(|()| self.out.flush())
            .and_then(|()| self.out.get_mut().inner.sync())
            .map_err(classify);
        match end {
            Ok(()) => {
                self.settle(&mut state);
                Written {
                    tally: state.tally,
                    error: None,
                    whole: state.whole,
                }
            }
            Err(e) => self.stopped(e, state),
        }
    }

    /// What a run that failed with `error` wrote.
    fn stopped(&self, error: SinkError, mut state: State) -> Written {
        self.settle(&mut state);
        Written {
            tally: state.tally,
            error: Some(error),
            whole: state.whole,
        }
    }

    /// Counts the records whose every byte the output has accepted.
    fn settle(&self, state: &mut State) {
        let accepted = self.out.get_ref().accepted;
        while state.ends.front().is_some_and(|end| *end <= accepted) {
            state.ends.pop_front();
            state.whole += 1;
        }
    }

    /// Handles one entry, in completion or input order.
    fn take(&mut self, entry: Entry, state: &mut State) -> Result<(), SinkError> {
        if !self.ordered {
            return match entry {
                Entry::Record(record) => self.write(record, state),
                Entry::Records(records) => records
                    .into_iter()
                    .try_for_each(|record| self.write(record, state)),
                Entry::Skip(_) => {
                    self.release();
                    Ok(())
                }
            };
        }
        match entry {
            Entry::Record(record) => {
                state.pending.insert(record.index, Some(record));
            }
            Entry::Records(records) => {
                for record in records {
                    state.pending.insert(record.index, Some(record));
                }
            }
            Entry::Skip(index) => {
                state.pending.insert(index, None);
            }
        }
        while let Some(ready) = state.pending.remove(&state.next_index) {
            match ready {
                Some(record) => self.write(record, state)?,
                None => self.release(),
            }
            state.next_index += 1;
        }
        Ok(())
    }

    fn write(&mut self, mut record: Outcome, state: &mut State) -> Result<(), SinkError> {
        if let Some(message) = record.save_error.take() {
            // `--save-dir` could not keep this body (a full disk): stop, as
            // for a record that cannot be written; `--resume` fetches it
            // again. What came before it is whole, so it is flushed first.
            self.out.flush().map_err(classify)?;
            self.settle(state);
            return Err(SinkError::Io(io::Error::other(message)));
        }
        state.line.clear();
        serde_json::to_writer(&mut state.line, &record).map_err(|e| SinkError::Io(e.into()))?;
        state.line.push(b'\n');
        self.out.write_all(&state.line).map_err(classify)?;
        state.handed += state.line.len() as u64;
        state.ends.push_back(state.handed);
        self.settle(state);
        let failing_before = state.tally.failing;
        state.tally.add(&record, &self.fail_on);
        let failed = state.tally.failing > failing_before;
        self.extras
            .note_failure(&record, failed)
            .map_err(SinkError::Io)?;
        count_live(&self.live, &record);
        state.unsynced = true;
        self.release();
        Ok(())
    }

    /// Returns an item's window permit (ordered mode).
    fn release(&self) {
        if let Some(window) = &self.window {
            window.add_permits(1);
        }
    }

    /// Flushes the buffer, and syncs it to disk once a second.
    fn flush(&mut self, state: &mut State) -> Result<(), SinkError> {
        self.out.flush().map_err(classify)?;
        self.settle(state);
        self.extras.flush().map_err(SinkError::Io)?;
        state.last_flush = Instant::now();
        if state.unsynced && state.last_sync.elapsed() >= SYNC_EVERY {
            self.out.get_mut().inner.sync().map_err(classify)?;
            state.last_sync = Instant::now();
            state.unsynced = false;
        }
        Ok(())
    }
}

/// The sink's working state during a run.
struct State {
    tally: Tally,
    /// Ordered mode: entries that arrived before their turn.
    pending: BTreeMap<u64, Option<Outcome>>,
    next_index: u64,
    line: Vec<u8>,
    /// Bytes handed to the buffered writer so far.
    handed: u64,
    /// Where each record handed over but not yet known to be whole in the
    /// output ends (at most a buffer's worth of records).
    ends: VecDeque<u64>,
    /// Records known to be whole in the output.
    whole: u64,
    last_flush: Instant,
    last_sync: Instant,
    unsynced: bool,
}

/// The output, counting the bytes it has accepted: after a failed write,
/// that count tells which records reached it whole.
struct Counted {
    inner: Box<dyn Output>,
    accepted: u64,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.accepted += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn classify(e: io::Error) -> SinkError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        SinkError::ClosedPipe
    } else {
        SinkError::Io(e)
    }
}
