//! Ctrl-C and SIGTERM.
//!
//! The first signal starts a graceful stop: no more input is read, requests
//! that have not started are left for `--resume`, requests in flight finish
//! (within `--grace`) and are recorded, and the run exits 130. A second
//! signal exits 130 at once; the output then ends in whole records, perhaps
//! plus one torn line, which `--resume` repairs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use volley::CancellationToken;

/// Whether a signal has stopped the run. Dropping it stops listening.
pub struct Interrupted {
    fired: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Interrupted {
    /// True once a signal has arrived.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens for SIGINT and SIGTERM; the first cancels `stop`.
pub fn listen(stop: CancellationToken) -> Interrupted {
    let fired = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&fired);
    let task = tokio::spawn(async move {
        if next_signal().await.is_err() {
            return; // no signal handling here; the default action stays
        }
        flag.store(true, Ordering::SeqCst);
        eprintln!(
            "volley: interrupted: finishing the requests in flight (Ctrl-C again to stop at once)"
        );
        stop.cancel();
        if next_signal().await.is_ok() {
            eprintln!("volley: stopped at once; run the same command with --resume to continue");
            std::process::exit(crate::exit::Exit::Interrupted.code());
        }
    });
    Interrupted { fired, task }
}

#[cfg(unix)]
async fn next_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn next_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
