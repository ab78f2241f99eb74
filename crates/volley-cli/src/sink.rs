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

use std::collections::BTreeMap;
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
}

impl Written {
    fn failed(error: SinkError, tally: Tally) -> Written {
        Written {
            tally,
            error: Some(error),
        }
    }
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
        self.sync_data()
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
    /// An input position with nothing to write.
    Skip(u64),
}

const FLUSH_EVERY: Duration = Duration::from_millis(100);
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Where records go and in which order.
pub struct Sink {
    out: io::BufWriter<Box<dyn Output>>,
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
            out: io::BufWriter::with_capacity(64 * 1024, out),
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
            last_flush: Instant::now(),
            last_sync: Instant::now(),
            unsynced: false,
        };
        for record in &preamble {
            if let Err(e) = self.write(record.clone(), &mut state) {
                return Written::failed(e, state.tally);
            }
        }
        loop {
            let entry = match entries.try_recv() {
                Ok(entry) => entry,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Nothing waiting: make what we have visible, then block.
                    if let Err(e) = self.flush(&mut state) {
                        return Written::failed(e, state.tally);
                    }
                    match entries.blocking_recv() {
                        Some(entry) => entry,
                        None => break,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            };
            if let Err(e) = self.take(entry, &mut state) {
                return Written::failed(e, state.tally);
            }
            if state.last_flush.elapsed() >= FLUSH_EVERY {
                if let Err(e) = self.flush(&mut state) {
                    return Written::failed(e, state.tally);
                }
            }
        }
        // In input order, gaps remain only for requests that never started
        // (a graceful stop); write what arrived after them rather than drop it.
        for record in std::mem::take(&mut state.pending).into_values().flatten() {
            if let Err(e) = self.write(record, &mut state) {
                return Written::failed(e, state.tally);
            }
        }
        let end = self
            .extras
            .flush()
            .and_then(|()| self.out.flush())
            .and_then(|()| self.out.get_mut().sync())
            .map_err(classify);
        match end {
            Ok(()) => Written {
                tally: state.tally,
                error: None,
            },
            Err(e) => Written::failed(e, state.tally),
        }
    }

    /// Handles one entry, in completion or input order.
    fn take(&mut self, entry: Entry, state: &mut State) -> Result<(), SinkError> {
        if !self.ordered {
            return match entry {
                Entry::Record(record) => self.write(record, state),
                Entry::Skip(_) => {
                    self.release();
                    Ok(())
                }
            };
        }
        match entry {
            Entry::Record(record) => state.pending.insert(record.index, Some(record)),
            Entry::Skip(index) => state.pending.insert(index, None),
        };
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
        self.extras.save_body(&mut record).map_err(SinkError::Io)?;
        state.line.clear();
        serde_json::to_writer(&mut state.line, &record).map_err(|e| SinkError::Io(e.into()))?;
        state.line.push(b'\n');
        self.out.write_all(&state.line).map_err(classify)?;
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
        self.extras.flush().map_err(SinkError::Io)?;
        state.last_flush = Instant::now();
        if state.unsynced && state.last_sync.elapsed() >= SYNC_EVERY {
            self.out.get_mut().sync().map_err(classify)?;
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
    last_flush: Instant,
    last_sync: Instant,
    unsynced: bool,
}

fn classify(e: io::Error) -> SinkError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        SinkError::ClosedPipe
    } else {
        SinkError::Io(e)
    }
}
