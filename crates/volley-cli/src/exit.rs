//! Exit statuses (DESIGN.md, "Exit status"), in one place.

/// How a run ended, as the process exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every request succeeded.
    Success = 0,
    /// The run finished and some requests failed (see `--fail-on`).
    Failures = 1,
    /// Usage or input error before any request.
    Usage = 2,
    /// Interrupted: in-flight requests drained and written.
    Interrupted = 130,
}

impl Exit {
    /// The numeric status.
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}
