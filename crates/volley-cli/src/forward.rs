//! The forwarder: between the input reader and the engine, it decides what
//! happens to each input item.
//!
//! - an item of another shard, or one whose record is already in the output
//!   (`--resume`), is skipped;
//! - an invalid line's record goes straight to the sink;
//! - a valid spec goes to the engine (which records the intent of a
//!   non-idempotent one just before sending it; see `intents`).

use std::sync::Arc;

use anyhow::bail;
use tokio::sync::{mpsc, Semaphore};
use volley::{CancellationToken, RequestSpec, Shard};

use crate::input::Item;
use crate::resume::{Done, Key};
use crate::sink::Entry;

/// What the forwarder needs; consumed by [`Forwarder::run`].
pub struct Forwarder {
    /// Input items, in batches (see `input::reader`).
    pub items: mpsc::Receiver<Vec<Item>>,
    pub specs: mpsc::Sender<RequestSpec>,
    pub records: mpsc::Sender<Entry>,
    /// Ordered mode: one permit per item until the sink has passed it.
    pub window: Option<Arc<Semaphore>>,
    pub done: Done,
    pub shard: Option<Shard>,
    pub stop: CancellationToken,
}

/// How many items were skipped, and why.
#[derive(Clone, Copy, Debug, Default)]
pub struct Skipped {
    /// Already recorded in the output (`--resume`).
    pub done: u64,
    /// Belonging to another shard.
    pub other_shard: u64,
}

impl Forwarder {
    /// Forwards until the input ends, the run is stopped, or the engine or
    /// sink stops taking items.
    ///
    /// # Errors
    ///
    /// An input that changed since the output was written.
    pub async fn run(mut self) -> anyhow::Result<Skipped> {
        let mut skipped = Skipped::default();
        // On `--resume`, nothing is sent or written until the input has been
        // read past the last position the output has a record for: a
        // changed input is found there, and must leave the output untouched.
        let hold_through = self.done.last_position();
        let mut held = Vec::new();
        loop {
            let mut batch = tokio::select! {
                () = self.stop.cancelled() => return Ok(skipped),
                batch = self.items.recv() => match batch {
                    Some(batch) => batch,
                    None => break,
                },
            };
            let decided = self.decide(&mut batch, &mut skipped)?;
            for step in decided {
                if matches!(step, Step::Skip(_)) && self.window.is_none() {
                    // Only ordered output needs to hear of skips.
                    continue;
                }
                if hold_through.is_some_and(|last| step.index() <= last) && held.len() < MAX_HELD {
                    held.push(step);
                    continue;
                }
                for step in held.drain(..).chain([step]) {
                    if !self.dispatch(step).await {
                        return Ok(skipped);
                    }
                }
            }
        }
        for step in held {
            if !self.dispatch(step).await {
                break;
            }
        }
        Ok(skipped)
    }

    /// What to do with each item of the batch, in input order.
    fn decide(&self, batch: &mut Vec<Item>, skipped: &mut Skipped) -> anyhow::Result<Vec<Step>> {
        let mut steps = Vec::with_capacity(batch.len());
        // A first run (no records yet) has nothing to look up.
        let resuming = !self.done.is_empty();
        for item in batch.drain(..) {
            let index = item.index();
            if !self.in_shard(&item) {
                skipped.other_shard += 1;
                steps.push(Step::Skip(index));
                continue;
            }
            if resuming && self.done.contains(key_of(&item)) {
                skipped.done += 1;
                steps.push(Step::Skip(index));
                continue;
            }
            if resuming && id_of(&item).is_none() && self.done.has_position(index) {
                bail!(
                    "input item {index} ({}) differs from the record already written for index {index}: \
                     the input changed since the first run. Resume with the same input, or write to a new file",
                    url_of(&item)
                );
            }
            steps.push(match item {
                Item::Spec(spec) => Step::Send(spec),
                Item::Invalid(record) => Step::Write(record),
            });
        }
        Ok(steps)
    }

    /// Hands one step on; `false` when the engine or sink has gone away.
    async fn dispatch(&self, step: Step) -> bool {
        if let Some(window) = &self.window {
            // Returned by the sink once this item's record is written or its
            // skip passed.
            let Ok(permit) = window.acquire().await else {
                return false;
            };
            permit.forget();
        }
        match step {
            Step::Send(spec) => self.specs.send(spec).await.is_ok(),
            Step::Write(record) => self.records.send(Entry::Record(record)).await.is_ok(),
            Step::Skip(index) => self.records.send(Entry::Skip(index)).await.is_ok(),
        }
    }

    fn in_shard(&self, item: &Item) -> bool {
        let Some(shard) = self.shard else { return true };
        match volley::parse_url(url_of(item))
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
        {
            Some(host) => shard.owns_host(&host),
            // No usable host: spread by position, so the line still gets
            // exactly one record across all shards.
            None => shard.owns_position(item.index()),
        }
    }
}

/// One decided item.
enum Step {
    Send(RequestSpec),
    Write(volley::Outcome),
    Skip(u64),
}

impl Step {
    fn index(&self) -> u64 {
        match self {
            Step::Send(spec) => spec.index,
            Step::Write(record) => record.index,
            Step::Skip(index) => *index,
        }
    }
}

/// The most items held back on `--resume` (see [`Forwarder::run`]). The
/// requests left unfinished before the last recorded position are few (those
/// in flight when the first run ended), but with `--ordered` the skips of
/// finished ones are held too. Past this many, the items go on, and a change
/// found later stops the run after they were sent.
const MAX_HELD: usize = 65_536;

fn url_of(item: &Item) -> &str {
    match item {
        Item::Spec(spec) => &spec.url,
        Item::Invalid(record) => &record.url,
    }
}

fn id_of(item: &Item) -> Option<&str> {
    match item {
        Item::Spec(spec) => spec.id.as_deref(),
        Item::Invalid(record) => record.id.as_deref(),
    }
}

/// The resume key of an item, computed from the same fields its record has.
pub fn key_of(item: &Item) -> Key {
    match item {
        Item::Spec(spec) => Key::of(
            spec.id.as_deref(),
            spec.index,
            spec.method_name(),
            &spec.url,
        ),
        Item::Invalid(record) => Key::of(
            record.id.as_deref(),
            record.index,
            &record.method,
            &record.url,
        ),
    }
}
