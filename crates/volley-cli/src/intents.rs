//! The intent log: a durable note, written *before* a non-idempotent request
//! (POST, PATCH… without `Idempotency-Key`) is handed to the engine, that it
//! may be sent.
//!
//! It lives beside the output, in `<output>.intents`. On `--resume`, an
//! intent with no final record in the output means the request may or may
//! not have reached the server before the run died: it is recorded as
//! `outcome_unknown` instead of being sent a second time (unless
//! `--replay-unknown`). The engine asks for the intent just before a
//! request's first attempt (see `volley::IntentHook`), so requests that were
//! only queued when the run died are simply sent on resume. Intents are
//! written in batches with one `fsync` per batch, and the log is removed
//! when a run finishes cleanly. The file is created with the first intent,
//! so a run of GETs leaves none behind, even when it is interrupted.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc as std_mpsc, Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::oneshot;
use volley::{CancellationToken, ErrorKind, IntentFuture, IntentHook, Outcome, RequestSpec};

use crate::resume::{sibling, Done, Key};

/// One intent line.
#[derive(Debug, Serialize, Deserialize)]
struct Intent {
    key: u64,
    index: u64,
    id: Option<String>,
    method: String,
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    meta: Option<Map<String, Value>>,
}

/// The path of the intent log for `output`.
pub fn path_for(output: &Path) -> PathBuf {
    sibling(output, ".intents")
}

/// The intent log of a run, as the engine's [`IntentHook`]: each request
/// that needs an intent sends its line to a writer thread and waits; the
/// thread writes everything waiting, syncs once, and answers them all
/// (group commit), so a thousand concurrent POSTs cost a few `fsync`s, not a
/// thousand.
#[derive(Debug)]
pub struct IntentLog {
    lines: std_mpsc::Sender<(Vec<u8>, oneshot::Sender<bool>)>,
    failure: Arc<Mutex<Option<String>>>,
}

impl IntentLog {
    /// The log beside `output`, and its writer thread. The file is opened
    /// (created, for appending) when the first intent arrives. On a failure
    /// to open or write it the thread cancels `stop`: no request that needs
    /// an intent is sent after that.
    pub fn open(output: &Path, stop: CancellationToken) -> IntentLog {
        let path = path_for(output);
        let (lines, waiting) = std_mpsc::channel::<(Vec<u8>, oneshot::Sender<bool>)>();
        let failure = Arc::new(Mutex::new(None));
        let failed = Arc::clone(&failure);
        std::thread::spawn(move || {
            let mut file: Option<File> = None;
            let mut batch = Vec::new();
            let mut buffer = Vec::new();
            // Ends when every sender (the log and its clones in the engine) is gone.
            while let Ok(first) = waiting.recv() {
                batch.push(first);
                batch.extend(waiting.try_iter());
                buffer.clear();
                for (line, _) in &batch {
                    buffer.extend_from_slice(line);
                }
                let written = match &mut file {
                    Some(file) => Ok(file),
                    None => OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .map(|opened| file.insert(opened))
                        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
                }
                .and_then(|file| file.write_all(&buffer).and_then(|()| file.sync_data()));
                if let Err(e) = &written {
                    *failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                    stop.cancel();
                }
                for (_, ack) in batch.drain(..) {
                    let _ = ack.send(written.is_ok());
                }
            }
        });
        IntentLog { lines, failure }
    }

    /// Why writing the log failed, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl IntentHook for IntentLog {
    fn record<'a>(&'a self, spec: &'a RequestSpec) -> IntentFuture<'a> {
        let intent = Intent {
            key: Key::of(
                spec.id.as_deref(),
                spec.index,
                spec.method_name(),
                &spec.url,
            )
            .raw(),
            index: spec.index,
            id: spec.id.clone(),
            method: spec.method_name().to_ascii_uppercase(),
            url: spec.url.clone(),
            meta: spec.meta.clone(),
        };
        let (ack, acked) = oneshot::channel();
        let sent = serde_json::to_vec(&intent).ok().and_then(|mut line| {
            line.push(b'\n');
            self.lines.send((line, ack)).ok()
        });
        Box::pin(async move { sent.is_some() && acked.await.unwrap_or(false) })
    }
}

/// The `outcome_unknown` records owed for intents in `output`'s log that
/// have no final record in `done`; their keys are added to `done` so the
/// requests are not sent again. A torn last intent line is ignored: its
/// request was never handed over.
///
/// # Errors
///
/// When the log exists but cannot be read.
pub fn unresolved(output: &Path, done: &mut Done) -> io::Result<Vec<Outcome>> {
    let file = match File::open(path_for(output)) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut owed = Vec::new();
    for line in BufReader::new(file).lines() {
        let Ok(intent) = serde_json::from_str::<Intent>(&line?) else {
            continue;
        };
        let key = Key::from_raw(intent.key);
        if done.contains(key) {
            continue;
        }
        done.insert(key);
        let spec = RequestSpec {
            index: intent.index,
            id: intent.id,
            method: intent.method,
            url: intent.url,
            meta: intent.meta,
            ..RequestSpec::default()
        };
        owed.push(Outcome::failed(
            &spec,
            ErrorKind::OutcomeUnknown,
            "a previous run died while this non-idempotent request was in flight; \
             it was not sent again (use --replay-unknown to send it)",
        ));
    }
    Ok(owed)
}

/// Removes the log after a clean finish (nothing is owed any more).
pub fn remove(output: &Path) {
    let _ = std::fs::remove_file(path_for(output));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_log_that_cannot_be_created_refuses_intents_and_stops_the_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = dir.path().join("missing-dir").join("out.jsonl");
        let stop = CancellationToken::new();
        let log = IntentLog::open(&output, stop.clone());
        let post = RequestSpec::new("POST", "http://a.test/x");
        assert!(!log.record(&post).await, "not recorded, so not to be sent");
        assert!(stop.is_cancelled());
        let failure = log.failure().expect("the failure is kept");
        assert!(failure.contains("missing-dir"), "{failure}");
    }

    #[tokio::test]
    async fn intents_without_records_become_outcome_unknown() {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = dir.path().join("out.jsonl");
        let post = RequestSpec::new("POST", "http://a.test/x").with_index(3);
        let done_post = RequestSpec::new("POST", "http://a.test/y").with_index(4);
        let key = |s: &RequestSpec| Key::of(s.id.as_deref(), s.index, &s.method, &s.url);
        let log = IntentLog::open(&output, CancellationToken::new());
        assert!(
            !path_for(&output).exists(),
            "no file before the first intent"
        );
        assert!(log.record(&post).await && log.record(&done_post).await);
        drop(log);
        // A torn last line, as a crash mid-write leaves it.
        std::fs::OpenOptions::new()
            .append(true)
            .open(path_for(&output))
            .and_then(|mut f| f.write_all(b"{\"key\":1,\"ind"))
            .expect("append torn line");

        let mut done = Done::default();
        done.insert(key(&done_post));
        let owed = unresolved(&output, &mut done).expect("read log");
        assert_eq!(owed.len(), 1);
        assert_eq!(owed[0].index, 3);
        assert_eq!(owed[0].error_kind(), Some(ErrorKind::OutcomeUnknown));
        assert!(done.contains(key(&post)), "no longer to be sent");
        remove(&output);
        assert!(unresolved(&output, &mut Done::default())
            .expect("gone")
            .is_empty());
    }
}
