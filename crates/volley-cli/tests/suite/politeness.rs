//! `--rate`, `--host-rate`, `--burst`, `--no-adaptive`, `--max-retry-after`
//! and the summary's politeness counters: each flag measured by what the
//! server saw and what the run wrote (FAULTS.md rows 7, 8 and 23 through the
//! command line).

use std::time::{Duration, Instant};

use serde_json::Value;
use testbed::{Options, Seen};

use super::support::{by_index, message, run_on, Input, Testbed};

/// Two listeners: two "hosts" as far as per-host limits go.
fn two_hosts() -> Testbed {
    Testbed::start_with(Options {
        listeners: 2,
        ..Options::default()
    })
}

/// The requests the server saw on listener `listener`, in arrival order.
fn arrivals_on(testbed: &Testbed, listener: usize) -> Vec<Seen> {
    let port = testbed.addrs()[listener].port();
    testbed
        .journal()
        .requests()
        .into_iter()
        .filter(|s| s.port == port)
        .collect()
}

/// How many of `seen` arrived in `[from, from + window)`.
fn count_within(seen: &[Seen], from: Instant, window: Duration) -> usize {
    seen.iter()
        .filter(|s| s.at >= from && s.at.duration_since(from) < window)
        .count()
}

/// The engine's counters from the summary on stderr.
#[derive(Debug, PartialEq, Eq)]
struct Counters {
    retries: u64,
    host_pauses: u64,
    throttle_decreases: u64,
    budget_exhausted: u64,
}

/// Reads the summary line `volley: retries N; host pauses (Retry-After) N;
/// throttle decreases N; retry budget exhausted N`.
fn counters(stderr: &str) -> Counters {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("volley: retries "))
        .unwrap_or_else(|| panic!("no counters in the summary: {stderr}"));
    let number = |label: &str| -> u64 {
        let rest = line
            .split_once(label)
            .unwrap_or_else(|| panic!("no {label:?} in {line:?}"))
            .1;
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number after {label:?} in {line:?}"))
    };
    Counters {
        retries: number("retries"),
        host_pauses: number("host pauses (Retry-After)"),
        throttle_decreases: number("throttle decreases"),
        budget_exhausted: number("retry budget exhausted"),
    }
}

/// Retries as the records tell them: attempts beyond the first, summed.
fn retries_in(records: &[Value]) -> u64 {
    records
        .iter()
        .map(|r| r["attempts"].as_u64().expect("attempts") - 1)
        .sum()
}

#[test]
fn host_rate_holds_each_host_to_its_own_rate() {
    let testbed = two_hosts();
    // 80 per host, alternating: a second more than the 3 s window needs.
    let input = Input::lines((0..160).map(|i| testbed.url_on(i % 2, &format!("/json/{i}"))));
    let run = run_on(&input, &["--host-rate", "20/s"]);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.records.len(), 160);
    assert!(run
        .records
        .iter()
        .all(|r| r["ok"] == true && r["attempts"] == 1));

    // Each host at its own 20/s: 60 ± 3 in the 3 s from its first request,
    // so both together got twice what one shared limit would allow.
    for listener in 0..2 {
        let seen = arrivals_on(&testbed, listener);
        assert_eq!(seen.len(), 80);
        let in_3s = count_within(&seen, seen[0].at, Duration::from_secs(3));
        assert!(
            (57..=63).contains(&in_3s),
            "host {listener}: {in_3s} requests in 3 s at --host-rate 20/s"
        );
    }
}

#[test]
fn rate_holds_the_whole_run_across_hosts() {
    let testbed = two_hosts();
    let input = Input::lines((0..260).map(|i| testbed.url_on(i % 2, &format!("/json/{i}"))));
    let run = run_on(&input, &["--rate", "100/s"]);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.records.len(), 260);

    let seen = testbed.journal().requests();
    assert_eq!(seen.len(), 260);
    let in_2s = count_within(&seen, seen[0].at, Duration::from_secs(2));
    assert!(
        (190..=210).contains(&in_2s),
        "{in_2s} requests in 2 s at --rate 100/s over both hosts"
    );
}

#[test]
fn burst_lets_that_many_through_at_once_then_the_rate() {
    let testbed = Testbed::start();
    let input = Input::lines((0..5).map(|i| testbed.url(&format!("/json/{i}"))));
    let run = run_on(&input, &["--host-rate", "1/s", "--burst", "4"]);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.records.len(), 5);

    let seen = testbed.journal().requests();
    assert_eq!(seen.len(), 5);
    let since_first = |s: &Seen| s.at.duration_since(seen[0].at);
    // Without the burst the fourth would come 3 s after the first.
    assert!(
        since_first(&seen[3]) < Duration::from_secs(1),
        "the burst of 4 took {:?}",
        since_first(&seen[3])
    );
    // The fifth starts a full second after the first. Measured at the
    // server, the first's arrival also carries its new connection's setup,
    // which the fifth (on a pooled connection) does not: allow for that.
    assert!(
        since_first(&seen[4]) >= Duration::from_millis(900),
        "the fifth came {:?} after the first, at 1/s",
        since_first(&seen[4])
    );
}

/// FAULTS rows 7 and 23 in the summary: one host pauses for a
/// `Retry-After`, another always answers 503 and runs out of retry budget
/// and is throttled. The counters agree with the records and the server.
#[test]
fn summary_counts_pauses_retries_throttling_and_the_budget() {
    let testbed = two_hosts();
    let mut urls = vec![testbed.url_on(0, "/retry-after/summary/1/1")];
    urls.extend((0..100).map(|_| testbed.url_on(1, "/status/503")));
    let input = Input::lines(urls);
    let run = run_on(&input, &[]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    assert_eq!(run.records.len(), 101);
    let records = by_index(&run.records);
    assert_eq!(records[&0]["ok"], true, "{}", records[&0]);
    assert_eq!(records[&0]["attempts"], 2, "{}", records[&0]);
    for i in 1..=100 {
        let record = records[&i];
        assert_eq!(record["status"], 503, "{record}");
        assert_eq!(record["error"]["kind"], "http_status", "{record}");
    }

    let seen_503 = arrivals_on(&testbed, 1).len() as u64;
    assert!(
        (100..=130).contains(&seen_503),
        "{seen_503} requests to a host that always fails: over the retry budget"
    );
    let counted = counters(&run.stderr);
    assert_eq!(counted.retries, retries_in(&run.records), "{counted:?}");
    assert_eq!(
        counted.retries,
        testbed.journal().total() as u64 - 101,
        "{counted:?}"
    );
    assert_eq!(counted.host_pauses, 1, "{counted:?}");
    assert!(counted.throttle_decreases >= 1, "{counted:?}");
    assert!(counted.budget_exhausted >= 1, "{counted:?}");
}

/// FAULTS row 23 with `--no-adaptive`: no throttling, but the retry budget
/// still bounds the load on a host that always answers 503.
#[test]
fn no_adaptive_turns_off_throttling_but_not_the_budget() {
    let testbed = Testbed::start();
    let input = Input::lines((0..100).map(|_| testbed.url("/status/503")));
    let run = run_on(&input, &["--no-adaptive"]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    assert_eq!(run.records.len(), 100);
    assert!(run.records.iter().all(|r| r["status"] == 503));

    let seen = testbed.journal().total() as u64;
    assert!((100..=130).contains(&seen), "{seen} requests");
    let counted = counters(&run.stderr);
    assert_eq!(counted.throttle_decreases, 0, "{counted:?}");
    assert!(counted.budget_exhausted >= 1, "{counted:?}");
    assert_eq!(counted.retries, seen - 100, "{counted:?}");
}

/// FAULTS row 8 through the command line: a `Retry-After` over
/// `--max-retry-after` fails the request at once (one attempt, no sleep);
/// one at the cap is honoured for the whole wait.
#[test]
fn max_retry_after_fails_over_the_cap_and_waits_at_it() {
    let testbed = Testbed::start();
    let over = "/retry-after/over/1/2";
    let at_cap = "/retry-after/at-cap/1/1";
    let input = Input::lines([testbed.url(over), testbed.url(at_cap)]);
    let run = run_on(&input, &["--max-retry-after", "1s"]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let records = by_index(&run.records);

    let failed = records[&0];
    assert_eq!(failed["ok"], false, "{failed}");
    assert_eq!(failed["status"], 429, "{failed}");
    assert_eq!(failed["error"]["kind"], "http_status", "{failed}");
    assert_eq!(failed["attempts"], 1, "{failed}");
    assert!(message(failed).contains("over the 1s cap"), "{failed}");
    let elapsed = failed["elapsed_ms"].as_f64().expect("elapsed_ms");
    assert!(elapsed < 1500.0, "slept for the 2 s asked: {failed}");
    assert_eq!(testbed.journal().count(over), 1);

    let waited = records[&1];
    assert_eq!(waited["ok"], true, "{waited}");
    assert_eq!(waited["attempts"], 2, "{waited}");
    let seen: Vec<Seen> = testbed
        .journal()
        .requests()
        .into_iter()
        .filter(|s| s.path == at_cap)
        .collect();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");

    let counted = counters(&run.stderr);
    assert_eq!(
        (counted.retries, counted.host_pauses),
        (1, 1),
        "{counted:?}"
    );
}

/// Without the flag the cap is 120 s: `Retry-After: 121` fails at once.
#[test]
fn default_max_retry_after_is_120s() {
    let testbed = Testbed::start();
    let input = Input::lines([testbed.url("/retry-after/default-cap/1/121")]);
    let run = run_on(&input, &[]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let record = &run.records[0];
    assert_eq!(record["status"], 429, "{record}");
    assert_eq!(record["error"]["kind"], "http_status", "{record}");
    assert_eq!(record["attempts"], 1, "{record}");
    assert!(
        message(record).contains("121s is over the 120s cap"),
        "{record}"
    );
    assert_eq!(testbed.journal().total(), 1);
}

#[test]
fn bad_rate_flags_exit_2_before_anything_is_sent() {
    let cases: [(&[&str], &str); 5] = [
        (&["--rate", "5/day"], "5/day"),
        (&["--host-rate", "0/s"], "0/s"),
        (&["--host-rate", "fast"], "fast"),
        (&["--host-rate", "10/s", "--burst", "0"], "--burst"),
        (&["--max-retry-after", "soon"], "soon"),
    ];
    for (flags, says) in cases {
        let testbed = Testbed::start();
        let input = Input::lines([testbed.url("/json/1")]);
        let run = run_on(&input, flags);
        assert_eq!(run.code, Some(2), "{flags:?}: stderr: {}", run.stderr);
        assert!(
            run.stderr.contains(says),
            "{flags:?}: stderr: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{flags:?}");
        assert_eq!(
            testbed.journal().total(),
            0,
            "{flags:?}: a request was sent"
        );
    }
}
