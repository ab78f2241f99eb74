//! Runs that stop early and are resumed: SIGINT drains the requests in flight (exit 130), a second SIGINT stops at once, a full disk stops the run (exit 1); `--resume` then finishes each with one record per input.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use volley_cli::cli::parse_fail_on;
use volley_cli::sink::{Entry, Output, Sink, SinkError};
use volley_cli::summary::Live;

use super::child::{wait_until, Child};
use super::support::{by_index, read_records, records, run_args, run_plain, Input, Testbed, FAST};

/// How long the tests below allow for things that take milliseconds.
const PATIENCE: Duration = Duration::from_secs(20);

/// `n` requests to `/delay/{ms}?i={i}`, with records to `out.jsonl` beside them.
fn delayed(testbed: &Testbed, n: usize, ms: u64) -> Input {
    Input::lines((0..n).map(|i| testbed.url(&format!("/delay/{ms}?i={i}"))))
}

/// The arguments of a run over `input` at `concurrency`, records to `out.jsonl`.
fn args(input: &Input, concurrency: &str, resume: bool) -> Vec<String> {
    let out = input.sibling("out.jsonl");
    let mut args: Vec<String> = [input.path(), "-o", out.to_str().expect("UTF-8")]
        .into_iter()
        .chain(["--concurrency", concurrency, "--body", "none"])
        .chain(FAST)
        .map(str::to_owned)
        .collect();
    if resume {
        args.push("--resume".to_owned());
    }
    args
}

/// How many times the server saw each input (by its `?i=N`).
fn fetches(testbed: &Testbed) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for seen in testbed.journal().requests() {
        let i = seen
            .query
            .as_deref()
            .and_then(|q| q.strip_prefix("i="))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a request without ?i=N: {seen:?}"));
        *counts.entry(i).or_default() += 1;
    }
    counts
}

/// Asserts that the output holds exactly one successful record per input.
fn assert_one_record_each(path: &Path, n: u64) {
    let records = read_records(path);
    let records = by_index(&records);
    assert_eq!(
        records.keys().copied().collect::<Vec<_>>(),
        (0..n).collect::<Vec<_>>(),
        "every input exactly once"
    );
    for record in records.values() {
        assert_eq!(record["ok"], true, "{record}");
    }
}

#[test]
fn sigint_drains_the_requests_in_flight_then_resume_finishes_the_rest() {
    const N: usize = 100;
    let testbed = Testbed::start();
    let input = delayed(&testbed, N, 400);
    let out = input.sibling("out.jsonl");
    let mut child = Child::spawn(args(&input, "16", false));
    let journal = testbed.journal();
    wait_until(PATIENCE, "16 requests in flight", || {
        journal.in_flight() >= 16
    });
    child.signal("INT");
    let status = child.wait(PATIENCE);
    let stderr = child.stderr();
    assert_eq!(status.code(), Some(130), "stderr: {stderr}");
    assert!(
        stderr.contains("with --resume to continue"),
        "stderr: {stderr}"
    );

    // Every request the server saw, the 16 in flight at the signal included,
    // finished and has its record; nothing else was started.
    let seen = fetches(&testbed);
    let records = read_records(&out);
    let written = by_index(&records);
    assert!(seen.len() >= 16, "{} requests seen", seen.len());
    assert!(seen.len() < N, "the run stopped reading: all {N} were sent");
    assert_eq!(
        written.keys().copied().collect::<Vec<_>>(),
        seen.keys().copied().collect::<Vec<_>>(),
        "records of exactly the requests the server saw"
    );
    assert!(seen.values().all(|&times| times == 1), "{seen:?}");
    assert!(written.values().all(|r| r["ok"] == true), "{records:?}");

    let run = run_args(args(&input, "16", true));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "resumed: {} requests already done were skipped",
            seen.len()
        )),
        "stderr: {}",
        run.stderr
    );
    assert_one_record_each(&out, N as u64);
    let seen = fetches(&testbed);
    assert_eq!(seen.len(), N);
    assert!(
        seen.values().all(|&times| times == 1),
        "a drained request was fetched again: {seen:?}"
    );
}

#[test]
fn a_second_sigint_exits_at_once_and_resume_still_gives_one_record_each() {
    const N: usize = 24;
    const SLOW_MS: u64 = 2_000;
    let testbed = Testbed::start();
    let input = delayed(&testbed, N, SLOW_MS);
    let out = input.sibling("out.jsonl");
    let mut child = Child::spawn(args(&input, "16", false));
    let journal = testbed.journal();
    wait_until(PATIENCE, "16 requests in flight", || {
        journal.in_flight() >= 16
    });
    let in_flight_since = Instant::now();
    child.signal("INT");
    wait_until(PATIENCE, "the first signal to be taken", || {
        child
            .stderr()
            .contains("interrupted: finishing the requests in flight")
    });
    let second = Instant::now();
    child.signal("INT");
    let status = child.wait(PATIENCE);
    let stderr = child.stderr();
    assert_eq!(status.code(), Some(130), "stderr: {stderr}");
    assert!(
        second.elapsed() < Duration::from_millis(1_000)
            && in_flight_since.elapsed() < Duration::from_millis(SLOW_MS),
        "the second signal took {:?} to stop the run; stderr: {stderr}",
        second.elapsed()
    );
    assert!(stderr.contains("stopped at once"), "stderr: {stderr}");
    assert!(stderr.contains("--resume"), "stderr: {stderr}");
    // Nothing had finished, so nothing was written.
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(records(&text).len(), 0, "{text}");

    let run = run_args(args(&input, "16", true));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_one_record_each(&out, N as u64);
}

/// The number in the CLI's "writing records failed after N records".
fn records_said_written(stderr: &str) -> usize {
    let (_, rest) = stderr
        .split_once("writing records failed after ")
        .unwrap_or_else(|| panic!("no write failure reported: {stderr}"));
    rest.split_once(' ')
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in: {stderr}"))
}

/// A disk that fills up mid-run, made without privileges: the run's file
/// size limit (`ulimit -f`, RLIMIT_FSIZE) makes a write past it fail, as a
/// full disk would (EFBIG rather than ENOSPC, through the same code), and
/// SIGXFSZ is ignored so that the failure is an error, not a signal.
#[cfg(unix)]
#[test]
fn a_full_disk_stops_the_run_and_resume_completes_it() {
    const N: u64 = 1_000;
    let testbed = Testbed::start();
    let input = Input::lines((0..N).map(|i| testbed.url(&format!("/json/{i}"))));
    let out = input.sibling("out.jsonl");
    let volley = assert_cmd::cargo::cargo_bin("volley");
    let mut limited = assert_cmd::Command::new("sh");
    limited
        .arg("-c")
        // 64 blocks: 32 KiB for dash, 64 KiB for bash; room for a few
        // hundred of these records, not for all of them.
        .arg(r#"trap '' XFSZ; ulimit -f 64 && exec "$0" "$@""#)
        .arg(&volley)
        .args(args(&input, "16", false))
        .timeout(Duration::from_secs(120));
    let run = run_plain(&mut limited);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("--resume"), "stderr: {}", run.stderr);

    // The message counts exactly the whole records in the file.
    let said = records_said_written(&run.stderr);
    let text = String::from_utf8_lossy(&std::fs::read(&out).expect("read the output")).into_owned();
    let whole = &text[..text.rfind('\n').map_or(0, |at| at + 1)];
    let kept = by_index(&records(whole))
        .keys()
        .copied()
        .collect::<Vec<_>>();
    assert!(
        !kept.is_empty() && kept.len() < N as usize,
        "{} records fit: the limit did not bite mid-run",
        kept.len()
    );
    assert_eq!(said, kept.len(), "stderr: {}", run.stderr);

    // Space again: resume cuts any torn line and finishes the batch,
    // fetching none of the kept records again.
    let run = run_args(args(&input, "16", true));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_one_record_each(&out, N);
    let journal = testbed.journal();
    for i in kept {
        assert_eq!(
            journal.count(&format!("/json/{i}")),
            1,
            "/json/{i} fetched again"
        );
    }
}

/// An output that takes `room` bytes, then fails every write with
/// "No space left on device", like a file on a disk that fills up.
struct FullDisk {
    file: std::fs::File,
    room: usize,
}

impl io::Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "No space left on device",
            ));
        }
        let n = self.file.write(&buf[..buf.len().min(self.room)])?;
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Output for FullDisk {}

/// The sink through its library API: on a full disk it stops with the
/// error, and says exactly how many records reached the file whole (what
/// the CLI reports as written).
#[test]
fn the_sink_stops_on_a_full_disk_and_counts_only_whole_records() {
    const N: u64 = 2_000;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("out.jsonl");
    let disk = FullDisk {
        file: std::fs::File::create(&path).expect("create the output"),
        room: 50_000,
    };
    let (tx, rx) = tokio::sync::mpsc::channel(N as usize);
    for i in 0..N {
        let spec = volley::RequestSpec::get(format!("http://127.0.0.1:1/json/{i}")).with_index(i);
        let record = volley::Outcome::failed(&spec, volley::ErrorKind::Connect, "refused");
        tx.try_send(Entry::Record(record))
            .expect("room for every record");
    }
    drop(tx);
    let fail_on = parse_fail_on("error,4xx,5xx").expect("the default --fail-on");
    let sink = Sink::new(
        Box::new(disk),
        false,
        fail_on,
        None,
        Arc::new(Live::default()),
    );
    let written = sink.run(Vec::new(), rx);
    let tally = &written.tally;
    let error = match &written.error {
        Some(SinkError::Io(error)) => error,
        Some(SinkError::ClosedPipe) => panic!("a full disk is not a closed pipe"),
        None => panic!("{} records fit in 50,000 bytes", tally.total),
    };
    assert_eq!(error.kind(), io::ErrorKind::StorageFull, "{error}");

    let bytes = std::fs::read(&path).expect("read the output");
    assert_eq!(bytes.len(), 50_000, "the disk was filled");
    let whole = &bytes[..bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |at| at + 1)];
    let kept = records(std::str::from_utf8(whole).expect("UTF-8"));
    assert!(!kept.is_empty() && (kept.len() as u64) < N);
    assert_eq!(
        written.whole,
        kept.len() as u64,
        "records said written that never reached the file whole (of {} handed over)",
        tally.total
    );
}

/// `--save-dir` on a full disk: a record whose body could not be saved
/// stops the sink like a record that cannot be written; it is not written
/// without its body, so `--resume` fetches it again.
#[test]
fn the_sink_stops_at_a_body_that_could_not_be_saved() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("out.jsonl");
    let output = std::fs::File::create(&path).expect("create the output");
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let record = |i: u64| {
        let spec = volley::RequestSpec::get(format!("http://127.0.0.1:1/json/{i}")).with_index(i);
        let mut record = volley::Outcome::failed(&spec, volley::ErrorKind::Connect, "refused");
        record.error = None;
        (record.ok, record.status) = (true, Some(200));
        record
    };
    let mut lost = record(1);
    lost.save_error = Some("cannot save the body: No space left on device".to_owned());
    tx.try_send(Entry::Records(vec![record(0), lost, record(2)]))
        .expect("room");
    drop(tx);
    let fail_on = parse_fail_on("error,4xx,5xx").expect("the default --fail-on");
    let sink = Sink::new(
        Box::new(output),
        false,
        fail_on,
        None,
        Arc::new(Live::default()),
    );
    let written = sink.run(Vec::new(), rx);
    match &written.error {
        Some(SinkError::Io(error)) => assert!(error.to_string().contains("No space"), "{error}"),
        other => panic!("the sink went on: {other:?}"),
    }
    let kept = records(&std::fs::read_to_string(&path).expect("read the output"));
    assert_eq!(
        kept.len(),
        1,
        "only the record before the lost body: {kept:?}"
    );
    assert_eq!(written.whole, 1);
}
