//! The scheduler: turns an input of any length into concurrent requests in
//! bounded memory.
//!
//! A driver task reads specs while fewer than `read_ahead` are held (queued
//! or running), so memory stays flat whatever the input size. Each spec is
//! checked and given its host's key, then either started at once as a task
//! that runs the request (waiting for its host's slot, then a global slot;
//! see [`hosts`]) and sends its outcome down a channel to the consumer, or,
//! when its host already has as many tasks as it can use, queued behind
//! them. When a task ends, or waits out a backoff before retrying, the next
//! spec queued for its host starts.
//!
//! So a host that is saturated, paused or slow holds only its own queue:
//! requests to other hosts inside the window go ahead of it. And a spec
//! costs a task (and its memory) only once its host can nearly take it.

pub mod hosts;

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use foldhash::HashMap;
use futures_util::{FutureExt as _, Stream, StreamExt as _};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, Plan};
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
    tokio::spawn(drive(client, input, tx, stop));
    // Polled in place: `unfold` would build a future, and move the receiver
    // and the outcome through it, for every outcome.
    let mut rx = rx;
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A spec waiting for its host to have room for one more task.
struct Queued {
    position: usize,
    spec: RequestSpec,
    plan: Plan,
}

/// One host's tasks and the specs queued behind them.
#[derive(Default)]
struct HostQueue {
    /// Tasks started and not yet ended.
    tasks: usize,
    /// Of those, the ones not waiting out a backoff: the count held to
    /// [`tasks_per_host`], so that requests sleeping before a retry do not
    /// keep the host's other requests from starting.
    active: usize,
    waiting: VecDeque<Queued>,
}

/// What a task tells the driver about its host: it started (`true`) or
/// stopped (`false`) waiting out a backoff.
type Backoff = (Arc<str>, bool);

/// How many tasks may be active for one host: its slots, and a quarter more,
/// so that the next request is already waiting when a slot frees.
fn tasks_per_host(per_host: usize) -> usize {
    per_host.saturating_add(per_host / 4 + 1)
}

/// The driver's state: the tasks, and the specs read but not yet started.
struct Driver {
    client: Client,
    tx: mpsc::Sender<Positioned>,
    /// Given to every task; see [`Backoff`]. Unbounded, but each task sends
    /// at most two messages per retry.
    backoffs: mpsc::UnboundedSender<Backoff>,
    backoff_rx: mpsc::UnboundedReceiver<Backoff>,
    stop: CancellationToken,
    /// Each task ends with its host's key (`None` for an invalid spec).
    tasks: JoinSet<Option<Arc<str>>>,
    /// Hosts with tasks running; a host leaves when its last task ends.
    hosts: HashMap<Arc<str>, HostQueue>,
    /// See [`tasks_per_host`].
    tasks_per_host: usize,
    /// Specs read and not yet finished: queued or running.
    held: usize,
}

impl Driver {
    /// Takes a spec just read: starts it, or queues it behind its host's tasks.
    fn take(&mut self, position: usize, spec: RequestSpec) {
        self.held += 1;
        let plan = self.client.plan(&spec);
        let Ok(plan) = plan else {
            self.start(position, spec, plan);
            return;
        };
        let queue = self.hosts.entry(Arc::clone(&plan.host)).or_default();
        if queue.active < self.tasks_per_host {
            queue.active += 1;
            queue.tasks += 1;
            self.start(position, spec, Ok(plan));
        } else {
            queue.waiting.push_back(Queued {
                position,
                spec,
                plan,
            });
        }
    }

    fn start(&mut self, position: usize, spec: RequestSpec, plan: Result<Plan, String>) {
        // Boxed: the task then holds a pointer, not the whole request's
        // state, which the runtime would otherwise copy at every stage of
        // the task's life.
        self.tasks.spawn(Box::pin(run_one(
            self.client.clone(),
            spec,
            plan,
            position,
            self.tx.clone(),
            self.backoffs.clone(),
            self.stop.clone(),
        )));
    }

    /// A task ended: the next spec queued for its host takes its place.
    fn finished(&mut self, host: Option<Arc<str>>) {
        self.held -= 1;
        let Some(host) = host else { return };
        // A task's last "backoff over" may still be in the channel; it was
        // sent before the task ended, so it is there to be read now.
        while let Ok((other, sleeping)) = self.backoff_rx.try_recv() {
            self.backoff(&other, sleeping);
        }
        let queue = self
            .hosts
            .get_mut(&host)
            .expect("a host with a running task has a queue");
        queue.tasks -= 1;
        queue.active -= 1;
        self.start_queued(&host);
    }

    /// A task of `host` began (`sleeping`) or ended a backoff: while it
    /// sleeps, another spec of the host may start.
    fn backoff(&mut self, host: &Arc<str>, sleeping: bool) {
        let Some(queue) = self.hosts.get_mut(host) else {
            return; // cannot happen: the task that sent this is alive
        };
        if sleeping {
            queue.active -= 1;
            self.start_queued(host);
        } else {
            queue.active += 1;
        }
    }

    /// Starts the specs queued for `host` while it has room, and forgets
    /// the host once nothing of it is left.
    fn start_queued(&mut self, host: &Arc<str>) {
        loop {
            let Some(queue) = self.hosts.get_mut(host) else {
                return;
            };
            if queue.active >= self.tasks_per_host {
                return;
            }
            let Some(next) = queue.waiting.pop_front() else {
                if queue.tasks == 0 {
                    self.hosts.remove(host);
                }
                return;
            };
            queue.active += 1;
            queue.tasks += 1;
            self.start(next.position, next.spec, Ok(next.plan));
        }
    }

    /// Stopping: specs still queued never began, so they end with no outcome.
    fn drop_queued(&mut self) {
        for queue in self.hosts.values_mut() {
            self.held -= queue.waiting.len();
            queue.waiting.clear();
        }
    }
}

/// Reads input while the window has room and runs the specs (see the module
/// docs). Ends when the input is exhausted and every task has finished, or as
/// soon as the consumer goes away (dropping the tasks' `JoinSet` aborts them).
async fn drive<S>(
    client: Client,
    input: S,
    tx: mpsc::Sender<Positioned>,
    stop: Option<CancellationToken>,
) where
    S: Stream<Item = RequestSpec> + Send + 'static,
{
    let mut input = std::pin::pin!(input);
    let read_ahead = client.config().read_ahead;
    let tasks_per_host = tasks_per_host(client.config().per_host);
    let (backoffs, backoff_rx) = mpsc::unbounded_channel();
    let mut driver = Driver {
        client,
        tx,
        backoffs,
        backoff_rx,
        // A stop that can never fire stands in for "no stop signal".
        stop: stop.unwrap_or_default(),
        tasks: JoinSet::new(),
        hosts: HashMap::default(),
        tasks_per_host,
        held: 0,
    };
    let mut position = 0usize;
    let mut reading = true;
    while reading || !driver.tasks.is_empty() {
        tokio::select! {
            // Ended tasks first: their slots go to queued specs before more
            // input is read.
            biased;
            // The consumer dropped the stream: nothing more should be read or sent.
            _ = driver.tx.closed() => return,
            ended = driver.tasks.join_next(), if !driver.tasks.is_empty() => {
                let mut ended = ended;
                while let Some(result) = ended {
                    match result {
                        Ok(host) => driver.finished(host),
                        // `run_one` catches the engine's panics; one here is
                        // a bug in the scheduler itself.
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        Err(_) => unreachable!("tasks are aborted only with the JoinSet"),
                    }
                    ended = driver.tasks.try_join_next();
                }
            }
            Some((host, sleeping)) = driver.backoff_rx.recv() => driver.backoff(&host, sleeping),
            // Stopping: read no more input; what was started finishes.
            () = driver.stop.cancelled(), if reading => {
                reading = false;
                driver.drop_queued();
            }
            spec = input.next(), if reading && driver.held < read_ahead => match spec {
                Some(spec) => {
                    driver.take(position, spec);
                    position += 1;
                }
                None => reading = false,
            },
        }
    }
}

/// Runs one request and hands its outcome to the consumer; returns its
/// host's key (see [`Driver::finished`]).
async fn run_one(
    client: Client,
    spec: RequestSpec,
    plan: Result<Plan, String>,
    position: usize,
    tx: mpsc::Sender<Positioned>,
    backoffs: mpsc::UnboundedSender<Backoff>,
    stop: CancellationToken,
) -> Option<Arc<str>> {
    let host = plan.as_ref().ok().map(|plan| Arc::clone(&plan.host));
    let tell = |sleeping: bool| {
        if let Some(host) = &host {
            // An error means the driver is gone, and this task with it.
            let _ = backoffs.send((Arc::clone(host), sleeping));
        }
    };
    let finished = {
        // A panic inside the engine is a bug, but it must not cost this
        // request its record: it becomes a record that says so.
        let fetch = client.fetch_planned(&spec, plan, Some(&stop), Some(&tell));
        let fetch = AssertUnwindSafe(fetch).catch_unwind();
        tokio::select! {
            // The consumer went away: stop at once, without waiting for the
            // driver to abort this task (it may not be scheduled for a while,
            // and requests waiting for a slot would start meanwhile).
            () = tx.closed() => return host,
            finished = fetch => finished,
        }
    };
    let outcome = match finished {
        Ok(Some(outcome)) => client.attach(outcome, spec),
        // Stopped before its first attempt: no outcome, as asked.
        Ok(None) => return host,
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
    host
}
