//! The scheduler: turns an input of any length into concurrent requests in
//! bounded memory.
//!
//! A driver task reads specs only while the read-ahead window has room. Each
//! spec it reads becomes a task that runs [`Client::fetch`] (which waits for
//! its host's slot, then a global slot; see [`hosts`]) and sends its outcome
//! down a channel to the consumer. A window permit is held from the moment a
//! spec is read until its outcome has been handed to the channel, so at most
//! `read_ahead` requests exist at once, whatever the input size.
//!
//! Because the host limit is taken before the global one, requests to a
//! saturated host wait without holding global slots, and requests to other
//! hosts inside the window go ahead of them.

pub(crate) mod hosts;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::{FutureExt as _, Stream, StreamExt as _};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::outcome::{ErrorKind, Outcome};
use crate::spec::RequestSpec;

/// An outcome with the position of its spec in the input.
pub(crate) type Positioned = (usize, Outcome);

/// Runs every spec of `input`; yields outcomes in completion order with
/// their input positions.
///
/// When `stop` is cancelled, no more input is read and requests that have
/// not begun their first attempt end without an outcome; requests already
/// under way finish.
pub(crate) fn run<S>(
    client: Client,
    input: S,
    stop: Option<CancellationToken>,
) -> impl Stream<Item = Positioned> + Send + 'static
where
    S: Stream<Item = RequestSpec> + Send + 'static,
{
    let config = client.config();
    // The channel only needs to absorb bursts; the window is the real bound.
    let (tx, rx) = mpsc::channel(config.concurrency.clamp(16, 1024));
    let window = Arc::new(Semaphore::new(config.read_ahead));
    tokio::spawn(drive(client, input, window, tx, stop));
    futures_util::stream::unfold(rx, |mut rx| async move {
        let next = rx.recv().await?;
        Some((next, rx))
    })
}

/// Reads input while the window has room and starts a task per spec. Ends
/// when the input is exhausted and every task has finished, or as soon as
/// the consumer goes away (dropping the tasks' `JoinSet` aborts them).
async fn drive<S>(
    client: Client,
    input: S,
    window: Arc<Semaphore>,
    tx: mpsc::Sender<Positioned>,
    stop: Option<CancellationToken>,
) where
    S: Stream<Item = RequestSpec> + Send + 'static,
{
    let mut input = std::pin::pin!(input);
    let mut tasks = JoinSet::new();
    let mut position = 0usize;
    // A stop that can never fire stands in for "no stop signal".
    let stop = stop.unwrap_or_default();
    loop {
        // Forget finished tasks so the set stays as small as the window.
        while tasks.try_join_next().is_some() {}
        // Each arm below also watches `tx.closed()`: the consumer dropped the
        // stream, so nothing more should be read or sent.
        let permit = tokio::select! {
            _ = tx.closed() => return,
            permit = Arc::clone(&window).acquire_owned() => {
                permit.expect("the window semaphore is never closed")
            }
        };
        let spec = tokio::select! {
            _ = tx.closed() => return,
            // Stopping: read no more input; what was started finishes below.
            () = stop.cancelled() => break,
            spec = input.next() => spec,
        };
        let Some(spec) = spec else { break };
        tasks.spawn(run_one(
            client.clone(),
            spec,
            position,
            permit,
            tx.clone(),
            stop.clone(),
        ));
        position += 1;
    }
    tokio::select! {
        _ = tx.closed() => {}
        () = async { while tasks.join_next().await.is_some() {} } => {}
    }
}

/// Runs one request and hands its outcome to the consumer, then frees its
/// window slot (by dropping `permit`).
async fn run_one(
    client: Client,
    spec: RequestSpec,
    position: usize,
    permit: OwnedSemaphorePermit,
    tx: mpsc::Sender<Positioned>,
    stop: CancellationToken,
) {
    // A panic inside the engine is a bug, but it must not cost this request
    // its record: it becomes a record that says so.
    let fetch = AssertUnwindSafe(client.fetch_until(spec.clone(), Some(&stop))).catch_unwind();
    let finished = tokio::select! {
        // The consumer went away: stop at once, without waiting for the
        // driver to abort this task (it may not be scheduled for a while,
        // and requests waiting for a slot would start meanwhile).
        () = tx.closed() => return,
        finished = fetch => finished,
    };
    let outcome = match finished {
        Ok(Some(outcome)) => outcome,
        // Stopped before its first attempt: no outcome, as asked.
        Ok(None) => return,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(index = spec.index, "internal error: {what}");
            Outcome::failed(
                &spec,
                ErrorKind::Protocol,
                format!("internal error in volley: {what}"),
            )
        }
    };
    // An error here means the consumer went away; there is no one to tell.
    let _ = tx.send((position, outcome)).await;
    drop(permit);
}
