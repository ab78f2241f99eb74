//! The tally of a run's records and the summary printed from it.
//!
//! Every record written is counted here, so the summary and the exit status
//! are computed from exactly what the output holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use volley::{ErrorKind, Outcome};

use crate::cli::FailOn;

/// Counts over the records written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records written.
    pub total: u64,
    /// Records with `ok: true`.
    pub ok: u64,
    /// Records that make the exit status 1 under `--fail-on`.
    pub failing: u64,
    /// Records per error kind.
    pub by_kind: BTreeMap<ErrorKind, u64>,
    /// Records per status class (`2xx`, …), and `none` for no response.
    pub by_class: BTreeMap<String, u64>,
    /// Attempts beyond the first, summed.
    pub retries: u64,
    /// Body bytes received, summed.
    pub bytes: u64,
}

impl Tally {
    /// Counts one record.
    pub fn add(&mut self, outcome: &Outcome, fail_on: &FailOn) {
        self.total += 1;
        self.ok += u64::from(outcome.ok);
        self.retries += u64::from(outcome.attempts.saturating_sub(1));
        self.bytes += outcome.bytes;
        let class = outcome
            .status
            .map_or_else(|| "none".to_owned(), |s| format!("{}xx", s / 100));
        *self.by_class.entry(class).or_default() += 1;
        if let Some(kind) = outcome.error_kind() {
            *self.by_kind.entry(kind).or_default() += 1;
            let counts = match kind {
                ErrorKind::HttpStatus => true,
                _ => fail_on.errors,
            };
            self.failing += u64::from(counts);
        }
    }

    /// One paragraph for stderr; `stats` are the engine's counters.
    pub fn render(&self, elapsed: Duration, insecure: bool, stats: &volley::Stats) -> String {
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.total as f64 / secs
        } else {
            0.0
        };
        let mut out = format!(
            "volley: {} requests in {:.2}s ({:.0}/s): {} ok, {} failed",
            self.total,
            secs,
            rate,
            self.ok,
            self.total - self.ok
        );
        if !self.by_kind.is_empty() {
            let kinds: Vec<String> = self
                .by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let _ = write!(out, " ({})", kinds.join(", "));
        }
        let classes: Vec<String> = self
            .by_class
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        let _ = write!(
            out,
            "\nvolley: statuses: {}; {} body bytes",
            classes.join(", "),
            self.bytes
        );
        let _ = write!(
            out,
            "\nvolley: retries {}; host pauses (Retry-After) {}; throttle decreases {}; \
             retry budget exhausted {}",
            stats.retries,
            stats.host_pauses,
            stats.throttle_decreases,
            stats.retry_budget_exhausted
        );
        if insecure {
            out.push_str("\nvolley: WARNING: TLS certificates were NOT verified (--insecure)");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use volley::RequestSpec;

    #[test]
    fn counts_follow_fail_on() {
        let spec = RequestSpec::get("http://a.test/");
        let mut ok = Outcome::failed(&spec, ErrorKind::Reset, "x");
        ok.error = None;
        ok.ok = true;
        ok.status = Some(200);
        ok.attempts = 3;
        let mut not_found = ok.clone();
        not_found.ok = false;
        not_found.status = Some(404);
        not_found.error = Some(volley::ErrorInfo {
            kind: ErrorKind::HttpStatus,
            message: "HTTP 404".into(),
        });
        let reset = Outcome::failed(&spec, ErrorKind::Reset, "cut");

        let strict = crate::cli::parse_fail_on("error,4xx,5xx").expect("valid");
        let mut t = Tally::default();
        for o in [&ok, &not_found, &reset] {
            t.add(o, &strict);
        }
        assert_eq!((t.total, t.ok, t.failing, t.retries), (3, 1, 2, 4));
        assert_eq!(t.by_class["2xx"], 1);
        assert_eq!(t.by_class["none"], 1);
        assert_eq!(t.by_kind[&ErrorKind::Reset], 1);

        let lax = crate::cli::parse_fail_on("5xx").expect("valid");
        let mut t = Tally::default();
        t.add(&reset, &lax);
        assert_eq!(
            t.failing, 0,
            "transport errors do not count without `error`"
        );
        let text = t.render(Duration::from_secs(1), true, &volley::Stats::default());
        assert!(
            text.contains("1 requests") && text.contains("NOT verified"),
            "{text}"
        );
    }
}
