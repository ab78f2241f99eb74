//! FAULTS.md row 20 and `--resume`: `kill -9` at random moments then resume (the crash test); a torn last line; damage mid-file and `--repair`; an input that changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::child::Child;
use super::support::{by_index, read_records, records, run_args, Input, Run, Testbed, FAST};

/// Inputs of the crash test.
const INPUTS: usize = 2_000;
/// Runs killed with `kill -9` before the final resume; each dies at its own
/// random moment.
const KILLS: usize = 20;
/// How long a killed run lives, in ms: the kills come this often.
const LIFETIME_MS: std::ops::RangeInclusive<u64> = 200..=800;
/// Per-request latency on the server, in ms. With 64 in flight the whole
/// batch is ~16 s of work, so the kills (~10 s in all) always hit a run
/// with work left, and the final resume has a few seconds to do.
const DELAY_MS: std::ops::RangeInclusive<u64> = 20..=700;
/// The final resume, which nobody kills, finishes well within this.
const FINAL_LIMIT: Duration = Duration::from_secs(120);

/// The base seed: `VOLLEY_CRASH_SEED` to replay a failure, else fixed.
fn crash_seed() -> u64 {
    std::env::var("VOLLEY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

/// One input of the crash test: a GET or a POST to `/delay/{ms}?i={i}`.
struct Planned {
    post: bool,
    url: String,
}

impl Planned {
    fn method(&self) -> &'static str {
        if self.post {
            "POST"
        } else {
            "GET"
        }
    }

    /// The JSON input line.
    fn line(&self, i: usize) -> String {
        if self.post {
            json!({ "url": self.url, "method": "POST", "json": { "i": i } }).to_string()
        } else {
            json!({ "url": self.url }).to_string()
        }
    }
}

/// A quarter POSTs, latencies spread over [`DELAY_MS`].
fn plan(testbed: &Testbed, seed: u64) -> Vec<Planned> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..INPUTS)
        .map(|i| Planned {
            post: rng.u8(..4) == 0,
            url: testbed.url(&format!("/delay/{}?i={i}", rng.u64(DELAY_MS))),
        })
        .collect()
}

/// The input a request seen by the server belongs to (its `?i=N`).
fn input_of(query: Option<&str>) -> usize {
    query
        .and_then(|q| q.strip_prefix("i="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a request without ?i=N: {query:?}"))
}

/// The whole lines of the output right after a kill, by input index (a
/// torn last line is not a record yet). Every whole line must be a valid
/// record: a kill never leaves a garbled line in the middle.
fn whole_lines(path: &Path) -> BTreeMap<u64, String> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let whole = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(&bytes[..0], |at| &bytes[..=at]);
    let text = std::str::from_utf8(whole).expect("whole lines are UTF-8");
    let mut lines = BTreeMap::new();
    for (line, record) in text.lines().zip(records(text)) {
        let index = record["index"].as_u64().expect("an index");
        assert!(
            lines.insert(index, line.to_owned()).is_none(),
            "index {index} written twice: {line}"
        );
    }
    lines
}

/// What the output held after one kill.
struct AfterKill {
    /// Whole records by index.
    lines: BTreeMap<u64, String>,
    /// How many requests the server had seen by then.
    seen: usize,
}

#[test]
fn kill_9_at_random_moments_then_resume_fetches_nothing_finished_twice() {
    let seed = crash_seed();
    let testbed = Testbed::start();
    let plan = plan(&testbed, seed);
    let input = Input::lines(plan.iter().enumerate().map(|(i, p)| p.line(i)));
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    // The same command every time, the first run included: `--resume` on
    // a missing file starts afresh.
    let args = [
        input.path(),
        "-o",
        out_arg,
        "--resume",
        "--concurrency",
        "64",
        "--body",
        "none",
        "--timeout",
        "10s",
        "--connect-timeout",
        "2s",
    ];
    let started = Instant::now();

    let mut kills: Vec<AfterKill> = Vec::new();
    for cycle in 0..KILLS {
        // Each cycle dies at a moment drawn from its own seed.
        let mut rng = fastrand::Rng::with_seed(seed.wrapping_add(1 + cycle as u64));
        let lifetime = Duration::from_millis(rng.u64(LIFETIME_MS));
        let mut child = Child::spawn(args);
        if let Some(status) = child.wait_for(lifetime) {
            panic!(
                "seed {seed}: run {cycle} ended by itself ({status}) before its kill at {lifetime:?}; \
                 the batch must outlast {KILLS} kills. stderr:\n{}",
                child.stderr()
            );
        }
        child.kill9();
        kills.push(AfterKill {
            lines: whole_lines(&out),
            seen: testbed.journal().total(),
        });
    }
    let killed_phase = started.elapsed();

    // The final resume, not killed: it must finish the batch.
    let final_started = Instant::now();
    let mut child = Child::spawn(args);
    let status = child.wait(FINAL_LIMIT);
    let final_phase = final_started.elapsed();
    let stderr = child.stderr();
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "seed {seed}: final resume {status}; stderr:\n{stderr}"
    );
    assert!(
        !Path::new(&format!("{out_arg}.intents")).exists(),
        "a run that finished cleanly leaves no intent log"
    );

    // Every input has exactly one final record (`by_index` fails on a
    // second one), and it is the record of that input.
    let records = read_records(&out);
    let records = by_index(&records);
    assert_eq!(
        records.keys().copied().collect::<Vec<_>>(),
        (0..INPUTS as u64).collect::<Vec<_>>(),
        "seed {seed}: every input exactly once"
    );
    for (&i, record) in &records {
        let planned = &plan[i as usize];
        assert_eq!(record["url"], planned.url.as_str(), "{record}");
        assert_eq!(record["method"], planned.method(), "{record}");
    }

    // A record, once whole in the output, stays as it was.
    let final_text = std::fs::read_to_string(&out).expect("read the output");
    let final_lines: BTreeSet<&str> = final_text.lines().collect();
    for (k, kill) in kills.iter().enumerate() {
        for (i, line) in &kill.lines {
            assert!(
                final_lines.contains(line.as_str()),
                "seed {seed}: the record of input {i}, whole after kill {k}, changed or vanished: {line}"
            );
        }
    }

    // What the server saw: positions in its journal, per input.
    let seen = testbed.journal().requests();
    let mut fetched: Vec<Vec<usize>> = vec![Vec::new(); INPUTS];
    for (at, request) in seen.iter().enumerate() {
        let i = input_of(request.query.as_deref());
        assert_eq!(request.method, plan[i].method(), "input {i}");
        fetched[i].push(at);
    }
    // Finished requests are not fetched again: a request whose record was
    // whole in the output at a kill is never seen by the server after it.
    for (k, kill) in kills.iter().enumerate() {
        for &i in kill.lines.keys() {
            let again: Vec<usize> = fetched[i as usize]
                .iter()
                .copied()
                .filter(|&at| at >= kill.seen)
                .collect();
            assert!(
                again.is_empty(),
                "seed {seed}: input {i} had its record before kill {k} (server at request {}), \
                 yet was fetched again at {again:?}",
                kill.seen
            );
        }
    }

    let (mut unknown_sent, mut unknown_unsent, mut posts_ok, mut gets_again) = (0, 0, 0, 0);
    for (&i, record) in &records {
        let times = fetched[i as usize].len();
        if plan[i as usize].post {
            // A POST is never sent twice: in flight at a kill with no
            // record, it becomes outcome_unknown rather than a replay.
            assert!(
                times <= 1,
                "seed {seed}: POST {i} reached the server {times} times"
            );
            if record["error"]["kind"] == "outcome_unknown" {
                assert_eq!(record["ok"], false, "{record}");
                assert_eq!(record["status"], Value::Null, "{record}");
                if times == 1 {
                    unknown_sent += 1;
                } else {
                    unknown_unsent += 1;
                }
            } else {
                assert_eq!(record["ok"], true, "seed {seed}: {record}");
                assert_eq!(record["status"], 200, "seed {seed}: {record}");
                assert_eq!(
                    times, 1,
                    "seed {seed}: POST {i} recorded as a success the server never saw: {record}"
                );
                posts_ok += 1;
            }
        } else {
            // GETs in flight at a kill are simply fetched again.
            assert_eq!(record["ok"], true, "seed {seed}: {record}");
            assert_eq!(record["status"], 200, "seed {seed}: {record}");
            assert!(
                times >= 1,
                "seed {seed}: GET {i} recorded, never fetched: {record}"
            );
            if times > 1 {
                gets_again += 1;
            }
        }
    }
    let posts = plan.iter().filter(|p| p.post).count();
    let recorded_at_last_kill = kills.last().map_or(0, |k| k.lines.len());
    eprintln!(
        "crash test, seed {seed}: {KILLS} kills in {killed_phase:.1?} ({recorded_at_last_kill} of {INPUTS} \
         records by the last), final resume {final_phase:.1?}; {} requests seen by the server; \
         {posts} POSTs: {posts_ok} ok, {unknown_sent} outcome_unknown after reaching the server, \
         {unknown_unsent} outcome_unknown that never left; {gets_again} GETs fetched again",
        seen.len()
    );
    // The test proves something only if kills hit requests in flight.
    assert!(
        unknown_sent > 0,
        "seed {seed}: no POST was in flight at any kill"
    );
    assert!(
        gets_again > 0,
        "seed {seed}: no GET was in flight at any kill"
    );
}

/// Five `/json/{i}` requests written in input order to `out.jsonl`; returns
/// the input and the output's text.
fn five_records(testbed: &Testbed) -> (Input, String) {
    let input = Input::lines((0..5).map(|i| testbed.url(&format!("/json/{i}"))));
    let run = run_on(&input, &["--ordered"]);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let text = std::fs::read_to_string(input.sibling("out.jsonl")).expect("read the output");
    assert_eq!(text.lines().count(), 5);
    (input, text)
}

/// Runs volley over `input` with records to `out.jsonl` beside it.
fn run_on(input: &Input, flags: &[&str]) -> Run {
    let out = input.sibling("out.jsonl");
    run_args(
        [input.path(), "-o", out.to_str().expect("UTF-8")]
            .into_iter()
            .chain(flags.iter().copied())
            .chain(FAST),
    )
}

/// Asserts the output holds records 0..5 once each, all fetched fine.
fn assert_five_records(input: &Input) {
    let records = read_records(&input.sibling("out.jsonl"));
    let records = by_index(&records);
    assert_eq!(records.keys().copied().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    for (i, record) in records {
        assert_eq!(record["ok"], true, "{record}");
        assert_eq!(record["body"]["id"], i, "{record}");
    }
}

/// The output's lines, each with its newline.
fn lines_of(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

#[test]
fn resume_cuts_a_torn_last_line_and_completes() {
    let testbed = Testbed::start();
    let (input, text) = five_records(&testbed);
    let lines = lines_of(&text);
    // Three whole records, then half of the fourth: what a crash mid-write leaves.
    let half = &lines[3][..lines[3].len() / 2];
    let torn = format!("{}{half}", lines[..3].concat());
    let out = input.sibling("out.jsonl");
    std::fs::write(&out, &torn).expect("write the torn output");

    let run = run_on(&input, &["--ordered", "--resume"]);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("cut a torn last line ({} bytes)", half.len())),
        "stderr: {}",
        run.stderr
    );
    assert_five_records(&input);
    let after = std::fs::read_to_string(&out).expect("read the output");
    assert!(
        after.starts_with(&lines[..3].concat()),
        "whole records kept as they were"
    );
    // The three whole records were not fetched again; the torn one and the
    // missing one were.
    let journal = testbed.journal();
    for (i, times) in [(0, 1), (1, 1), (2, 1), (3, 2), (4, 2)] {
        assert_eq!(journal.count(&format!("/json/{i}")), times, "/json/{i}");
    }
}

/// The five records with line 2 (index 1) overwritten by NUL bytes, as a
/// crash on some file systems leaves a block that was never written.
fn with_nuls_on_line_2(text: &str) -> Vec<u8> {
    let lines = lines_of(text);
    let mut bytes = lines[0].as_bytes().to_vec();
    bytes.extend(std::iter::repeat_n(0u8, lines[1].len() - 1));
    bytes.push(b'\n');
    bytes.extend(lines[2..].concat().as_bytes());
    bytes
}

#[test]
fn damage_mid_file_is_refused_then_dropped_with_repair() {
    let testbed = Testbed::start();
    let (input, text) = five_records(&testbed);
    let out = input.sibling("out.jsonl");
    let damaged = with_nuls_on_line_2(&text);
    std::fs::write(&out, &damaged).expect("write the damaged output");

    let run = run_on(&input, &["--resume"]);
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    for words in ["line 2", "NUL bytes", "--repair"] {
        assert!(
            run.stderr.contains(words),
            "stderr lacks {words:?}: {}",
            run.stderr
        );
    }
    assert_eq!(
        std::fs::read(&out).expect("read"),
        damaged,
        "the file is untouched"
    );
    assert_eq!(testbed.journal().total(), 5, "nothing was sent");

    let run = run_on(&input, &["--resume", "--repair"]);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("dropped 1 damaged lines"),
        "stderr: {}",
        run.stderr
    );
    assert_five_records(&input);
    let journal = testbed.journal();
    for (i, times) in [(0, 1), (1, 2), (2, 1), (3, 1), (4, 1)] {
        assert_eq!(journal.count(&format!("/json/{i}")), times, "/json/{i}");
    }
}

/// Regression: a refused resume used to cut a torn last line before it
/// found the damage, so the file it said it had left alone was changed.
#[test]
fn a_refused_resume_leaves_a_torn_tail_alone_too() {
    let testbed = Testbed::start();
    let (input, text) = five_records(&testbed);
    let out = input.sibling("out.jsonl");
    let mut damaged = with_nuls_on_line_2(&text);
    damaged.extend_from_slice(br#"{"index":5,"id":nu"#);
    std::fs::write(&out, &damaged).expect("write the damaged output");

    let run = run_on(&input, &["--resume"]);
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("line 2"), "stderr: {}", run.stderr);
    assert_eq!(
        std::fs::read(&out).expect("read"),
        damaged,
        "the file is untouched"
    );
}

#[test]
fn resume_with_a_changed_input_is_refused() {
    let testbed = Testbed::start();
    let (input, text) = five_records(&testbed);
    let out = input.sibling("out.jsonl");
    // The same file name, with another URL at index 1 (no ids): the
    // records no longer say what the input asks for.
    let changed = Input::lines((0..5).map(|i| {
        let n = if i == 1 { 9 } else { i };
        testbed.url(&format!("/json/{n}"))
    }));
    std::fs::copy(changed.path(), input.path()).expect("change the input");

    let run = run_on(&input, &["--resume"]);
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    for words in ["input item 1", "the input changed"] {
        assert!(
            run.stderr.contains(words),
            "stderr lacks {words:?}: {}",
            run.stderr
        );
    }
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        text,
        "the file is untouched"
    );
    assert_eq!(testbed.journal().total(), 5, "nothing was sent");
}

/// The first run ended with item 1 unfinished (in flight when it was
/// killed) and the other 199 recorded; the input then changed at item 150,
/// batches after item 1. The change is found only at item 150, but item 1
/// must not be sent before it: the refusal leaves the output and the server
/// untouched.
#[test]
fn a_changed_input_is_refused_before_anything_is_sent() {
    let testbed = Testbed::start();
    let input = Input::lines((0..200).map(|i| testbed.url(&format!("/json/{i}"))));
    let first = run_on(&input, &[]);
    assert_eq!(first.code, Some(0), "stderr: {}", first.stderr);
    let out = input.sibling("out.jsonl");
    let unfinished: String = std::fs::read_to_string(&out)
        .expect("read the output")
        .lines()
        .filter(|line| !line.contains(r#""index":1,"#))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(unfinished.lines().count(), 199);
    std::fs::write(&out, &unfinished).expect("write the output");
    let changed = Input::lines((0..200).map(|i| {
        let n = if i == 150 { 9_999 } else { i };
        testbed.url(&format!("/json/{n}"))
    }));
    std::fs::copy(changed.path(), input.path()).expect("change the input");

    let run = run_on(&input, &["--resume"]);
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("input item 150"),
        "stderr: {}",
        run.stderr
    );
    let now = std::fs::read_to_string(&out).expect("read");
    assert!(
        now == unfinished,
        "the file changed: {} lines, was 199",
        now.lines().count()
    );
    assert_eq!(
        testbed.journal().total(),
        200,
        "item 1 was not sent: only the first run's requests"
    );
}
