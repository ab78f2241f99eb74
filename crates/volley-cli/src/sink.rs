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
//! item's record is written, so at most `window` records exist anywhere.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use volley::Outcome;

use crate::cli::FailOn;
use crate::summary::Tally;

/// Why writing stopped early.
#[derive(Debug)]
pub enum SinkError {
    /// The reader of stdout went away (`volley … | head`): stop quietly.
    ClosedPipe,
    /// Any other write failure.
    Io(io::Error),
}

/// Where records go and in which order.
pub struct Sink {
    out: Box<dyn Write + Send>,
    ordered: bool,
    fail_on: FailOn,
    /// Permits to return after each record is written (ordered mode).
    window: Option<Arc<Semaphore>>,
}

impl Sink {
    /// A sink writing to `out` (buffered here).
    pub fn new(
        out: Box<dyn Write + Send>,
        ordered: bool,
        fail_on: FailOn,
        window: Option<Arc<Semaphore>>,
    ) -> Self {
        Sink {
            out: Box::new(io::BufWriter::with_capacity(64 * 1024, out)),
            ordered,
            fail_on,
            window,
        }
    }

    /// Writes every record received until the channel closes; returns the
    /// tally of what was written.
    ///
    /// # Errors
    ///
    /// [`SinkError`] when a write fails; the tally up to then is returned with it.
    pub fn run(
        mut self,
        mut records: mpsc::Receiver<Outcome>,
    ) -> Result<Tally, (SinkError, Tally)> {
        let mut tally = Tally::default();
        let mut pending: BTreeMap<u64, Outcome> = BTreeMap::new();
        let mut next_index = 0u64;
        let mut line = Vec::with_capacity(4096);
        loop {
            let record = match records.try_recv() {
                Ok(record) => record,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Nothing waiting: make what we have visible, then block.
                    if let Err(e) = self.out.flush() {
                        return Err((classify(e), tally));
                    }
                    match records.blocking_recv() {
                        Some(record) => record,
                        None => break,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            };
            if !self.ordered {
                if let Err(e) = self.write(&record, &mut line, &mut tally) {
                    return Err((e, tally));
                }
                continue;
            }
            pending.insert(record.index, record);
            while let Some(record) = pending.remove(&next_index) {
                if let Err(e) = self.write(&record, &mut line, &mut tally) {
                    return Err((e, tally));
                }
                next_index += 1;
            }
        }
        // Input order can only have gaps if the engine lost a record, which
        // it never does; write any leftovers rather than drop them.
        for record in std::mem::take(&mut pending).into_values() {
            if let Err(e) = self.write(&record, &mut line, &mut tally) {
                return Err((e, tally));
            }
        }
        match self.out.flush() {
            Ok(()) => Ok(tally),
            Err(e) => Err((classify(e), tally)),
        }
    }

    fn write(
        &mut self,
        record: &Outcome,
        line: &mut Vec<u8>,
        tally: &mut Tally,
    ) -> Result<(), SinkError> {
        line.clear();
        serde_json::to_writer(&mut *line, record).map_err(|e| SinkError::Io(e.into()))?;
        line.push(b'\n');
        self.out.write_all(line).map_err(classify)?;
        tally.add(record, &self.fail_on);
        if let Some(window) = &self.window {
            window.add_permits(1);
        }
        Ok(())
    }
}

fn classify(e: io::Error) -> SinkError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        SinkError::ClosedPipe
    } else {
        SinkError::Io(e)
    }
}
