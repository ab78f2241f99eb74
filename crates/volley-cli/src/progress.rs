//! The progress bar on stderr: records done (of the total, when the input is
//! a file), requests per second, requests in flight, errors, retries, ETA.
//!
//! Shown only while stderr is a terminal and `--quiet` is not given; plain
//! (no colour) so that it reads the same with `NO_COLOR`. A background task
//! redraws it a few times a second from counters that the sink and the
//! engine keep anyway, so the hot path does no drawing.

use std::io::BufRead as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::summary::Live;

/// A running progress bar; [`Progress::finish`] clears it.
pub struct Progress {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

const WITH_TOTAL: &str = "{elapsed_precise} [{wide_bar}] {pos}/{len} ETA {eta} · {msg}";
const WITHOUT_TOTAL: &str = "{spinner} {elapsed_precise} {pos} done · {msg}";

impl Progress {
    /// Starts drawing on stderr. `total` is 0 until known.
    pub fn start(live: Arc<Live>, client: volley::Client, total: Arc<AtomicU64>) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
        bar.set_style(style(WITHOUT_TOTAL));
        let drawn = bar.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(125));
            let mut has_total = false;
            loop {
                tick.tick().await;
                let known = total.load(Ordering::Relaxed);
                if known > 0 && !has_total {
                    drawn.set_length(known);
                    drawn.set_style(style(WITH_TOTAL));
                    has_total = true;
                }
                let written = live.written.load(Ordering::Relaxed);
                drawn.set_position(written);
                let stats = client.stats();
                let secs = drawn.elapsed().as_secs_f64();
                let rate = if secs > 0.0 {
                    written as f64 / secs
                } else {
                    0.0
                };
                drawn.set_message(format!(
                    "{rate:.0}/s · {} in flight · {} errors · {} retries",
                    stats.in_flight,
                    live.failed.load(Ordering::Relaxed),
                    stats.retries
                ));
            }
        });
        Progress { bar, task }
    }

    /// Stops drawing and clears the bar, leaving the line for the summary.
    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Counts the request lines of input files (not stdin) on a background
/// thread, less one header line when `header` (CSV values), and stores the
/// total when done; it stays 0 (unknown) if any input is stdin. Quoted CSV
/// fields spanning lines make it an estimate.
pub fn count_in_background(inputs: &[String], header: bool, total: Arc<AtomicU64>) {
    if inputs.iter().any(|name| name == "-") {
        return;
    }
    let inputs = inputs.to_vec();
    std::thread::spawn(move || {
        let mut count = 0u64;
        for name in &inputs {
            let Ok(file) = std::fs::File::open(name) else {
                return;
            };
            for line in std::io::BufReader::new(file).split(b'\n') {
                let Ok(line) = line else { return };
                let text = line.trim_ascii();
                count += u64::from(!text.is_empty() && !text.starts_with(b"#"));
            }
        }
        total.store(count.saturating_sub(u64::from(header)), Ordering::Relaxed);
    });
}
