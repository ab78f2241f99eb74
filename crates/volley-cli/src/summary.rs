//! The tally of a run's records and the summary made from it.
//!
//! Every record written is counted here, so the summary, `--summary-json`
//! and the exit status are computed from exactly what the output holds.
//! Latencies go into an HDR histogram (fixed memory, ~0.1% precision);
//! hosts are tallied up to a cap so that a run over millions of hosts keeps
//! a bounded table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use foldhash::HashMap;
use hdrhistogram::Histogram;
use serde::Serialize;
use volley::{ErrorKind, Outcome};

use crate::cli::FailOn;

/// Hosts tallied one by one; later ones are counted together.
const MAX_HOSTS: usize = 10_000;
/// Hosts listed in the summary's "slowest" and "most failing".
const TOP_HOSTS: usize = 5;

/// Counts over the records written.
#[derive(Clone, Debug)]
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
    /// Attempts beyond the first, summed over the records.
    pub retries: u64,
    /// Body bytes received, summed.
    pub bytes: u64,
    /// Latency of sent requests, in microseconds.
    latency: Histogram<u64>,
    /// At most [`MAX_HOSTS`], in the order first seen.
    hosts: Vec<HostTally>,
    /// The index in `hosts` of each `host:port`.
    host_at: HashMap<String, usize>,
    /// Records of hosts beyond [`MAX_HOSTS`].
    other_hosts: u64,
    /// Where each URL authority seen is counted (`user@Host:port` and
    /// `host:port` count as one host): an index into `hosts`, or `None` for
    /// [`Tally::other_hosts`]. A URL is parsed once per authority rather
    /// than once per record.
    authorities: HashMap<String, Option<usize>>,
}

#[derive(Clone, Debug)]
struct HostTally {
    /// `host:port`.
    host: String,
    requests: u64,
    failed: u64,
    total_ms: f64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            total: 0,
            ok: 0,
            failing: 0,
            by_kind: BTreeMap::new(),
            by_class: BTreeMap::new(),
            retries: 0,
            bytes: 0,
            // 1 µs to one hour, 3 significant digits.
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("static histogram bounds are valid"),
            hosts: Vec::new(),
            host_at: HashMap::default(),
            other_hosts: 0,
            authorities: HashMap::default(),
        }
    }
}

/// Counters the progress bar reads while the sink writes.
#[derive(Debug, Default)]
pub struct Live {
    /// Records written so far.
    pub written: AtomicU64,
    /// Records written so far that are not `ok`.
    pub failed: AtomicU64,
}

impl Tally {
    /// Counts one record.
    pub fn add(&mut self, outcome: &Outcome, fail_on: &FailOn) {
        self.total += 1;
        self.ok += u64::from(outcome.ok);
        self.retries += u64::from(outcome.attempts.saturating_sub(1));
        self.bytes += outcome.bytes;
        const CLASSES: [&str; 10] = [
            "0xx", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx",
        ];
        let class = outcome
            .status
            .map_or("none", |s| CLASSES[usize::from(s / 100).min(9)]);
        match self.by_class.get_mut(class) {
            Some(count) => *count += 1,
            None => {
                self.by_class.insert(class.to_owned(), 1);
            }
        }
        if let Some(kind) = outcome.error_kind() {
            *self.by_kind.entry(kind).or_default() += 1;
            let counts = match kind {
                ErrorKind::HttpStatus => true,
                _ => fail_on.errors,
            };
            self.failing += u64::from(counts);
        }
        if outcome.attempts == 0 {
            return; // never sent: no latency, no host
        }
        let micros = (outcome.elapsed_ms * 1000.0).round().max(1.0) as u64;
        self.latency.saturating_record(micros);
        match self.host_of(&outcome.url) {
            Some(at) => {
                let tally = &mut self.hosts[at];
                tally.requests += 1;
                tally.failed += u64::from(!outcome.ok);
                tally.total_ms += outcome.elapsed_ms;
            }
            None => self.other_hosts += 1,
        }
    }

    /// The summary of the run so far.
    pub fn summary(&self, elapsed: Duration, insecure: bool, engine: volley::Stats) -> Summary {
        let secs = elapsed.as_secs_f64();
        let ms = |q: f64| self.latency.value_at_quantile(q) as f64 / 1000.0;
        let latency = (!self.latency.is_empty()).then(|| Latency {
            p50: ms(0.50),
            p90: ms(0.90),
            p99: ms(0.99),
            max: self.latency.max() as f64 / 1000.0,
        });
        let mut hosts: Vec<HostLine> = self
            .hosts
            .iter()
            .map(|t| HostLine {
                host: t.host.clone(),
                requests: t.requests,
                failed: t.failed,
                mean_ms: t.total_ms / t.requests as f64,
            })
            .collect();
        hosts.sort_by(|a, b| b.mean_ms.total_cmp(&a.mean_ms).then(a.host.cmp(&b.host)));
        let slowest_hosts = hosts.iter().take(TOP_HOSTS).cloned().collect();
        hosts.retain(|h| h.failed > 0);
        hosts.sort_by(|a, b| b.failed.cmp(&a.failed).then(a.host.cmp(&b.host)));
        hosts.truncate(TOP_HOSTS);
        Summary {
            requests: self.total,
            ok: self.ok,
            failed: self.total - self.ok,
            failing: self.failing,
            by_error_kind: self
                .by_kind
                .iter()
                .map(|(k, n)| (k.as_str().to_owned(), *n))
                .collect(),
            by_status_class: self.by_class.clone(),
            retries: self.retries,
            bytes: self.bytes,
            elapsed_s: secs,
            requests_per_s: if secs > 0.0 {
                self.total as f64 / secs
            } else {
                0.0
            },
            latency_ms: latency,
            slowest_hosts,
            failing_hosts: hosts,
            other_hosts: self.other_hosts,
            engine,
            insecure,
        }
    }
}

impl Tally {
    /// Where `url`'s host is counted: its index in `hosts`, or `None` once
    /// [`MAX_HOSTS`] others are. The URL is parsed once per authority (up to
    /// a bound).
    fn host_of(&mut self, url: &str) -> Option<usize> {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        // A byte scan: `find` with a set of chars decodes the text char by
        // char, and this runs once per record.
        let end = rest
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        if let Some(&at) = self.authorities.get(authority) {
            return at;
        }
        let host = parse_host_of(url);
        let at = match self.host_at.get(&host) {
            Some(&at) => Some(at),
            None if self.hosts.len() < MAX_HOSTS => {
                self.host_at.insert(host.clone(), self.hosts.len());
                self.hosts.push(HostTally {
                    host,
                    requests: 0,
                    failed: 0,
                    total_ms: 0.0,
                });
                Some(self.hosts.len() - 1)
            }
            None => None,
        };
        if self.authorities.len() < 4 * MAX_HOSTS {
            self.authorities.insert(authority.to_owned(), at);
        }
        at
    }
}

/// `host:port` of a URL, or the URL itself when it does not parse.
fn parse_host_of(url: &str) -> String {
    match volley::parse_url(url) {
        Ok(u) => format!(
            "{}:{}",
            u.host_str().unwrap_or(""),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => url.to_owned(),
    }
}

/// The end-of-run summary; printed to stderr and written by `--summary-json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Records written.
    pub requests: u64,
    /// Records with `ok: true`.
    pub ok: u64,
    /// Records with `ok: false`.
    pub failed: u64,
    /// Records that count as failures for the exit status.
    pub failing: u64,
    /// Records per error kind.
    pub by_error_kind: BTreeMap<String, u64>,
    /// Records per status class; `none` when no response arrived.
    pub by_status_class: BTreeMap<String, u64>,
    /// Attempts beyond the first.
    pub retries: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Wall time of the run.
    pub elapsed_s: f64,
    /// Records per second.
    pub requests_per_s: f64,
    /// Latency percentiles of the requests sent.
    pub latency_ms: Option<Latency>,
    /// Hosts with the highest mean latency.
    pub slowest_hosts: Vec<HostLine>,
    /// Hosts with the most failed requests.
    pub failing_hosts: Vec<HostLine>,
    /// Records of hosts beyond the per-host table's cap.
    pub other_hosts: u64,
    /// The engine's counters: retries, host pauses, throttling, budget.
    pub engine: volley::Stats,
    /// TLS verification was off.
    pub insecure: bool,
}

/// Latency percentiles, in milliseconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

/// One host in a summary list.
#[derive(Clone, Debug, Serialize)]
pub struct HostLine {
    /// `host:port`.
    pub host: String,
    /// Requests sent to it.
    pub requests: u64,
    /// Of which failed.
    pub failed: u64,
    /// Mean latency.
    pub mean_ms: f64,
}

impl Summary {
    /// A few lines for stderr.
    pub fn render(&self) -> String {
        let mut out = format!(
            "volley: {} requests in {:.2}s ({:.0}/s): {} ok, {} failed",
            self.requests, self.elapsed_s, self.requests_per_s, self.ok, self.failed
        );
        if !self.by_error_kind.is_empty() {
            let kinds: Vec<String> = self
                .by_error_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let _ = write!(out, " ({})", kinds.join(", "));
        }
        // With no request at all (an empty input), there is nothing to list.
        if self.requests > 0 {
            let classes: Vec<String> = self
                .by_status_class
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            let _ = write!(
                out,
                "\nvolley: statuses: {}; {} body bytes",
                classes.join(", "),
                self.bytes
            );
        }
        if let Some(l) = self.latency_ms {
            let _ = write!(
                out,
                "\nvolley: latency ms: p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}",
                l.p50, l.p90, l.p99, l.max
            );
        }
        let e = &self.engine;
        let _ = write!(
            out,
            "\nvolley: retries {}; host pauses (Retry-After) {}; throttle decreases {}; retry budget exhausted {}",
            e.retries, e.host_pauses, e.throttle_decreases, e.retry_budget_exhausted
        );
        if self.slowest_hosts.len() > 1 {
            let list: Vec<String> = self
                .slowest_hosts
                .iter()
                .map(|h| format!("{} {:.1}ms", h.host, h.mean_ms))
                .collect();
            let _ = write!(out, "\nvolley: slowest hosts (mean): {}", list.join(", "));
        }
        if !self.failing_hosts.is_empty() {
            let list: Vec<String> = self
                .failing_hosts
                .iter()
                .map(|h| format!("{} {}/{}", h.host, h.failed, h.requests))
                .collect();
            let _ = write!(out, "\nvolley: most failing hosts: {}", list.join(", "));
        }
        if self.insecure {
            out.push_str("\nvolley: WARNING: TLS certificates were NOT verified (--insecure)");
        }
        out
    }
}

/// Bumps the live counters for one written record.
pub fn count_live(live: &Live, outcome: &Outcome) {
    live.written.fetch_add(1, Ordering::Relaxed);
    if !outcome.ok {
        live.failed.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use volley::RequestSpec;

    fn record(
        url: &str,
        status: Option<u16>,
        kind: Option<ErrorKind>,
        attempts: u32,
        ms: f64,
    ) -> Outcome {
        let mut o = Outcome::failed(&RequestSpec::get(url), ErrorKind::Reset, "x");
        o.status = status;
        o.attempts = attempts;
        o.elapsed_ms = ms;
        o.error = kind.map(|kind| volley::ErrorInfo {
            kind,
            message: String::new(),
        });
        o.ok = kind.is_none();
        o
    }

    #[test]
    fn counts_follow_fail_on() {
        let ok = record("http://a.test/", Some(200), None, 3, 10.0);
        let not_found = record(
            "http://a.test/x",
            Some(404),
            Some(ErrorKind::HttpStatus),
            1,
            20.0,
        );
        let reset = record("http://b.test:81/", None, Some(ErrorKind::Reset), 4, 30.0);
        let invalid = record("ftp://x", None, Some(ErrorKind::InvalidRequest), 0, 0.0);

        let strict = crate::cli::parse_fail_on("error,4xx,5xx").expect("valid");
        let mut t = Tally::default();
        for o in [&ok, &not_found, &reset, &invalid] {
            t.add(o, &strict);
        }
        assert_eq!((t.total, t.ok, t.failing, t.retries), (4, 1, 3, 5));
        assert_eq!(t.by_class["2xx"], 1);
        assert_eq!(t.by_class["none"], 2);
        assert_eq!(t.by_kind[&ErrorKind::Reset], 1);

        let s = t.summary(Duration::from_secs(2), true, volley::Stats::default());
        assert_eq!((s.requests, s.ok, s.failed), (4, 1, 3));
        assert_eq!(s.requests_per_s, 2.0);
        let l = s.latency_ms.expect("three sent");
        assert!(
            (9.9..=10.1).contains(&l.p50) || (19.9..=20.1).contains(&l.p50),
            "{l:?}"
        );
        assert!((29.9..=30.1).contains(&l.max), "{l:?}");
        assert_eq!(s.slowest_hosts[0].host, "b.test:81");
        assert_eq!(
            s.failing_hosts[0].host, "a.test:80",
            "1 failure each: a.test sorts first"
        );
        let text = s.render();
        assert!(
            text.contains("4 requests") && text.contains("NOT verified") && text.contains("p99"),
            "{text}"
        );

        let lax = crate::cli::parse_fail_on("5xx").expect("valid");
        let mut t = Tally::default();
        t.add(&reset, &lax);
        assert_eq!(
            t.failing, 0,
            "transport errors do not count without `error`"
        );
    }

    #[test]
    fn an_empty_run_lists_no_statuses() {
        let fail_on = crate::cli::parse_fail_on("error").expect("valid");
        let t = Tally::default();
        let text = t
            .summary(Duration::from_millis(5), true, volley::Stats::default())
            .render();
        assert!(text.starts_with("volley: 0 requests"), "{text}");
        assert!(!text.contains("statuses"), "{text}");

        let mut t = Tally::default();
        t.add(&record("http://a.test/", Some(200), None, 1, 1.0), &fail_on);
        let text = t
            .summary(Duration::from_millis(5), true, volley::Stats::default())
            .render();
        assert!(text.contains("statuses: 2xx 1;"), "{text}");
    }

    #[test]
    fn host_table_is_capped() {
        let fail_on = crate::cli::parse_fail_on("error").expect("valid");
        let mut t = Tally::default();
        for i in 0..MAX_HOSTS + 5 {
            t.add(
                &record(&format!("http://h{i}.test/"), Some(200), None, 1, 1.0),
                &fail_on,
            );
        }
        assert_eq!(t.hosts.len(), MAX_HOSTS);
        assert_eq!(t.other_hosts, 5);
    }
}
