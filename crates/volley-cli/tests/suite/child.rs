//! The binary as a child process that a test signals or kills mid-run
//! (`kill -9`, SIGINT), with its stderr kept in a file so that a chatty
//! child never blocks on a full pipe and the test can read it while the
//! child runs.
//!
//! Only the pid of a child started here is ever signalled, and a `Child`
//! that is dropped while its process still runs kills and reaps it, so a
//! failing test leaves nothing behind.

use std::ffi::OsStr;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How often the polling helpers look again.
const POLL: Duration = Duration::from_millis(10);

/// A running `volley` (or a shell that execs it).
pub struct Child {
    child: std::process::Child,
    /// Holds the stderr file; removed with the `Child`.
    dir: TempDir,
}

impl Child {
    /// Starts the `volley` binary with `args`, stdin and stdout closed
    /// (records go to `-o FILE` in these tests), stderr to a file.
    pub fn spawn<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Child {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("volley"));
        command.args(args);
        Child::start(command)
    }

    /// Starts `command` with stdin and stdout closed and stderr to a file.
    pub fn start(mut command: Command) -> Child {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let stderr = File::create(dir.path().join("stderr")).expect("create the stderr file");
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the child starts");
        Child { child, dir }
    }

    fn stderr_path(&self) -> PathBuf {
        self.dir.path().join("stderr")
    }

    /// What the child has written to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.stderr_path()).unwrap_or_default()).into_owned()
    }

    /// Sends the signal `name` (`INT`, `TERM`) with `kill(1)`, to this
    /// child's pid only.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -{name} {} failed", self.child.id());
    }

    /// `kill -9` (what `std` sends on Unix) and reaps the process.
    pub fn kill9(&mut self) -> ExitStatus {
        // An error means it has already exited; `wait` tells how.
        let _ = self.child.kill();
        self.child.wait().expect("wait for the killed child")
    }

    /// Waits up to `limit` for the child to exit by itself.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if started.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(POLL.min(limit.saturating_sub(started.elapsed())));
        }
    }

    /// Waits up to `limit` for the child to exit; fails the test (with its
    /// stderr) if it does not.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        match self.wait_for(limit) {
            Some(status) => status,
            None => {
                self.kill9();
                panic!(
                    "volley still running after {limit:?}; stderr:\n{}",
                    self.stderr()
                );
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `done` until it holds; fails the test with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}
