//! What a person sees and keeps: the progress bar on a real pseudo-terminal
//! (and its absence on pipes, with `-q`, its lack of colour with `NO_COLOR`),
//! the summary against the records, `--failures`, `--save-dir`, `--proxy`
//! and the proxy environment, `completions` and `man`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

use super::support::{
    by_index, read_records, run, run_args, run_plain, volley, Input, Testbed, FAST,
};

/// No pseudo-terminal run here takes anywhere near this long.
const PTY_LIMIT: Duration = Duration::from_secs(120);

/// What a run on a pseudo-terminal printed there, and how it ended.
struct PtyRun {
    /// Everything written to the terminal (stdout and stderr together), as sent.
    raw: String,
    /// The exit status; `None` when it ended by a signal.
    code: Option<i32>,
}

/// Runs the binary with stdin, stdout and stderr on a new pseudo-terminal
/// (80 columns, as `expectrl` opens it), reads the terminal until the child
/// has exited and closed it, and returns what was written there.
///
/// `TERM` is set so that the run does not depend on the environment the
/// tests run in; `NO_COLOR` is only there when `env` says so.
fn run_on_pty(args: &[&str], env: &[(&str, &str)]) -> PtyRun {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("volley"));
    command
        .args(args)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS");
    for (name, value) in env {
        command.env(name, value);
    }
    let session = expectrl::Session::spawn(command).expect("spawn volley on a pseudo-terminal");
    let pid = session.get_process().pid();
    let (done_tx, done_rx) = mpsc::channel();
    // The reader owns the session: a read blocks until output comes or the
    // terminal closes (EIO on Linux once the child and its copies of the
    // terminal are gone), so it runs beside the deadline below.
    std::thread::spawn(move || {
        let mut session = session;
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match session.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break, // EIO: the other side of the terminal is closed
            }
        }
        let status = session.get_process().wait();
        let _ = done_tx.send((raw, status));
    });
    let Ok((raw, status)) = done_rx.recv_timeout(PTY_LIMIT) else {
        // Ours, by its id: the child started above.
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("volley {args:?} on a pseudo-terminal still running after {PTY_LIMIT:?}");
    };
    let code = match status.expect("wait for volley") {
        expectrl::process::unix::WaitStatus::Exited(_, code) => Some(code),
        _ => None,
    };
    PtyRun {
        raw: String::from_utf8_lossy(&raw).into_owned(),
        code,
    }
}

/// Just enough of a VT100 terminal to replay what the progress bar and the
/// summary write (text, CR, LF, backspace, cursor up/down/left/right/column,
/// erase in line and in display, auto-wrap at the right margin), so a test
/// can read the screen as a person would see it once the run is over.
/// Everything else (colours, cursor visibility, other escapes) moves
/// nothing and is ignored.
struct Screen {
    width: usize,
    /// Every line since the start; scrolled-off lines are kept.
    lines: Vec<Vec<char>>,
    /// Whether each line continues the one before (auto-wrapped there).
    wrapped: Vec<bool>,
    row: usize,
    col: usize,
    /// The last column was written: the next character wraps first.
    pending_wrap: bool,
}

impl Screen {
    fn new(width: usize) -> Screen {
        Screen {
            width,
            lines: vec![Vec::new()],
            wrapped: vec![false],
            row: 0,
            col: 0,
            pending_wrap: false,
        }
    }

    /// The screen after `raw` was written to a fresh terminal.
    fn replay(width: usize, raw: &str) -> Screen {
        let mut screen = Screen::new(width);
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            match c {
                '\x1b' => {
                    if chars.next() == Some('[') {
                        let mut params = String::new();
                        for c in chars.by_ref() {
                            if ('\x40'..='\x7e').contains(&c) {
                                screen.csi(&params, c);
                                break;
                            }
                            params.push(c);
                        }
                    }
                    // Two-character escapes (save/restore cursor, …) do not
                    // occur in volley's output and are skipped.
                }
                '\r' => {
                    screen.col = 0;
                    screen.pending_wrap = false;
                }
                '\n' => screen.line_feed(),
                '\x08' => {
                    screen.col = screen.col.saturating_sub(1);
                    screen.pending_wrap = false;
                }
                c if c.is_control() => {}
                c => screen.put(c),
            }
        }
        screen
    }

    fn line_feed(&mut self) {
        self.row += 1;
        self.pending_wrap = false;
        if self.lines.len() <= self.row {
            self.lines.resize(self.row + 1, Vec::new());
            self.wrapped.resize(self.row + 1, false);
        }
    }

    fn put(&mut self, c: char) {
        if self.pending_wrap {
            self.line_feed();
            self.col = 0;
            self.wrapped[self.row] = true;
        }
        let line = &mut self.lines[self.row];
        if line.len() <= self.col {
            line.resize(self.col + 1, ' ');
        }
        line[self.col] = c;
        if self.col + 1 >= self.width {
            self.pending_wrap = true;
        } else {
            self.col += 1;
        }
    }

    /// A control sequence `ESC [ params final`.
    fn csi(&mut self, params: &str, end: char) {
        let n: usize = params
            .trim_start_matches('?')
            .split(';')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let moves = n.max(1);
        match end {
            'A' => self.row = self.row.saturating_sub(moves),
            'B' => {
                for _ in 0..moves {
                    self.line_feed();
                }
            }
            'C' => self.col = (self.col + moves).min(self.width - 1),
            'D' => self.col = self.col.saturating_sub(moves),
            'G' => self.col = (moves - 1).min(self.width - 1),
            'K' => {
                let line = &mut self.lines[self.row];
                match n {
                    0 => line.truncate(self.col),
                    1 => line
                        .iter_mut()
                        .take(self.col + 1)
                        .for_each(|cell| *cell = ' '),
                    _ => line.clear(),
                }
            }
            'J' => match n {
                0 => {
                    self.lines[self.row].truncate(self.col);
                    self.lines.truncate(self.row + 1);
                    self.wrapped.truncate(self.row + 1);
                }
                _ => self.lines.iter_mut().for_each(Vec::clear),
            },
            _ => return, // SGR ('m'), modes ('h', 'l'): nothing moves
        }
        self.pending_wrap = false;
    }

    /// The lines that hold text, right-trimmed, in order; a line that was
    /// wrapped at the margin is given whole, as a terminal copies it.
    fn text_lines(&self) -> Vec<String> {
        let mut text: Vec<String> = Vec::new();
        for (line, &wrapped) in self.lines.iter().zip(&self.wrapped) {
            let line: String = line.iter().collect();
            match text.last_mut() {
                Some(last) if wrapped => last.push_str(&line),
                _ => text.push(line),
            }
        }
        text.iter_mut()
            .for_each(|line| line.truncate(line.trim_end().len()));
        text.retain(|line| !line.is_empty());
        text
    }
}

#[test]
fn screen_replays_cursor_movement_and_erasure() {
    let screen = Screen::replay(
        10,
        "bar 1/2\r\x1b[2Kbar 2/2\r\n2nd\x1b[1A\r\x1b[J\x1b[33mdone\x1b[0m\r\n0123456789ab",
    );
    assert_eq!(screen.text_lines(), ["done", "0123456789ab"]);
}

/// `n` URLs that each take 20 ms, in a file.
fn slow_urls(testbed: &Testbed, n: usize) -> Input {
    Input::lines((0..n).map(|_| testbed.url("/delay/20")))
}

/// The width `expectrl` gives its terminals.
const PTY_COLUMNS: usize = 80;

#[test]
fn progress_bar_updates_on_a_terminal_and_gives_way_to_the_summary() {
    let testbed = Testbed::start();
    let input = slow_urls(&testbed, 2000);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    let mut args = vec![input.path(), "-o", out_arg, "-c", "20"];
    args.extend(FAST);
    let run = run_on_pty(&args, &[]);

    assert_eq!(run.code, Some(0), "terminal output: {:?}", run.raw);
    assert_eq!(read_records(&out).len(), 2000);
    // Drawn and redrawn: every redraw writes the whole bar line again.
    let draws = run.raw.matches("in flight").count();
    assert!(draws >= 2, "the bar was drawn {draws} times: {:?}", run.raw);
    assert!(
        run.raw.matches("/2000").count() >= 2,
        "the bar never showed the total of 2000: {:?}",
        run.raw
    );

    let screen = Screen::replay(PTY_COLUMNS, &run.raw).text_lines();
    assert!(
        screen.iter().all(|line| !line.contains("in flight")),
        "a bar line is left on the screen: {screen:#?}"
    );
    // Only the summary is left, from its first line to its last.
    assert!(
        screen[0].starts_with("volley: 2000 requests in"),
        "{screen:#?}"
    );
    assert!(
        screen
            .last()
            .is_some_and(|line| line.starts_with("volley: retries ")
                && line.contains("retry budget exhausted")),
        "the screen does not end with the summary: {screen:#?}"
    );
    assert!(
        screen.len() >= 4 && screen.iter().all(|line| line.starts_with("volley: ")),
        "the screen is not just the summary: {screen:#?}"
    );
}

#[test]
fn no_progress_text_without_a_terminal() {
    let testbed = Testbed::start();
    let input = slow_urls(&testbed, 300);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    let run = run(volley()
        .args([input.path(), "-o", out_arg, "-c", "20"])
        .args(FAST)
        .env("TERM", "xterm-256color"));

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        !run.stderr.contains("in flight") && !run.stderr.contains('\x1b'),
        "progress text on a pipe: {:?}",
        run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[0].starts_with("volley: 300 requests in")
            && lines.iter().all(|line| line.starts_with("volley: ")),
        "stderr is not just the summary: {:?}",
        run.stderr
    );
}

#[test]
fn quiet_on_a_terminal_shows_neither_bar_nor_summary() {
    let testbed = Testbed::start();
    let input = slow_urls(&testbed, 500);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    let mut args = vec![input.path(), "-o", out_arg, "-c", "20", "--quiet"];
    args.extend(FAST);
    let run = run_on_pty(&args, &[]);

    assert_eq!(run.code, Some(0), "terminal output: {:?}", run.raw);
    assert_eq!(read_records(&out).len(), 500);
    assert_eq!(run.raw.trim(), "", "-q printed on the terminal");
}

#[test]
fn no_color_on_a_terminal_means_no_colour_sequences() {
    let testbed = Testbed::start();
    let input = slow_urls(&testbed, 500);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    // A 404 and a refused connection, so that error counts are drawn too.
    let refused = format!("http://{}/x", testbed::closed_port());
    let extra = Input::lines([testbed.url("/status/404"), refused]);
    let mut args = vec![input.path(), extra.path(), "-o", out_arg, "-c", "20"];
    args.extend(FAST);
    let run = run_on_pty(&args, &[("NO_COLOR", "1")]);

    assert_eq!(run.code, Some(1), "terminal output: {:?}", run.raw);
    assert!(run.raw.contains("in flight"), "no bar: {:?}", run.raw);
    // SGR: ESC [ digits and semicolons, then `m`. Cursor movement is fine.
    let mut rest = run.raw.as_str();
    while let Some(at) = rest.find("\x1b[") {
        rest = &rest[at + 2..];
        let params = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(rest.len());
        assert!(
            !rest[params..].starts_with('m'),
            "a colour sequence with NO_COLOR=1: {:?}",
            &rest[..(params + 1).min(rest.len())]
        );
    }
}

/// Counts as the records say, in the shape of `--summary-json`.
fn counts_from(records: &[Value]) -> Value {
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_class: BTreeMap<String, u64> = BTreeMap::new();
    let (mut ok, mut retries, mut bytes) = (0, 0, 0);
    for record in records {
        ok += u64::from(record["ok"] == true);
        retries += record["attempts"]
            .as_u64()
            .expect("attempts")
            .saturating_sub(1);
        bytes += record["bytes"].as_u64().expect("bytes");
        if let Some(kind) = record["error"]["kind"].as_str() {
            *by_kind.entry(kind.to_owned()).or_default() += 1;
        }
        let class = record["status"]
            .as_u64()
            .map_or_else(|| "none".to_owned(), |s| format!("{}xx", s / 100));
        *by_class.entry(class).or_default() += 1;
    }
    let requests = records.len() as u64;
    json!({
        "requests": requests,
        "ok": ok,
        "failed": requests - ok,
        "by_error_kind": by_kind,
        "by_status_class": by_class,
        "retries": retries,
        "bytes": bytes,
    })
}

#[test]
fn summary_json_counts_what_the_records_hold() {
    let testbed = Testbed::start();
    let refused = format!("http://{}/refused", testbed::closed_port());
    let input = Input::lines([
        testbed.url("/json/1"),
        testbed.url("/status/404"),
        testbed.url("/flaky/summary/1/503"),
        refused,
        "not a url".to_owned(),
        testbed.url("/bytes/1000"),
    ]);
    let out = input.sibling("out.jsonl");
    let summary_path = input.sibling("summary.json");
    let run = run_args(
        [
            input.path(),
            "-o",
            out.to_str().expect("UTF-8"),
            "--summary-json",
            summary_path.to_str().expect("UTF-8"),
        ]
        .into_iter()
        .chain(FAST),
    );
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let records = read_records(&out);
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(&summary_path).expect("--summary-json wrote its file"),
    )
    .expect("the summary is JSON");

    let counts = counts_from(&records);
    for field in [
        "requests",
        "ok",
        "failed",
        "by_error_kind",
        "by_status_class",
        "retries",
        "bytes",
    ] {
        assert_eq!(
            summary[field], counts[field],
            "{field}: summary {summary:#}\nrecords {records:#?}"
        );
    }
    // And the batch is what it was built to be, so the equalities above
    // compare real numbers.
    assert_eq!(
        counts["by_error_kind"],
        json!({"connect": 1, "http_status": 1, "invalid_request": 1}),
        "{records:#?}"
    );
    assert_eq!(counts["ok"], 3, "{records:#?}");
    assert!(counts["retries"].as_u64() >= Some(1), "{records:#?}");
    assert_eq!(
        summary["engine"]["retries"], counts["retries"],
        "the engine's retries are the records' extra attempts: {summary:#}"
    );

    let latency = &summary["latency_ms"];
    let ms = |q: &str| {
        latency[q]
            .as_f64()
            .unwrap_or_else(|| panic!("no latency_ms.{q}: {summary:#}"))
    };
    assert!(
        ms("p50") <= ms("p90") && ms("p90") <= ms("p99") && ms("p99") <= ms("max"),
        "{latency}"
    );
    let slowest = records
        .iter()
        .filter(|r| r["attempts"].as_u64() > Some(0))
        .filter_map(|r| r["elapsed_ms"].as_f64())
        .fold(0.0, f64::max);
    assert!(
        (ms("max") - slowest).abs() <= slowest * 0.01 + 0.01,
        "max {} but the slowest record took {slowest} ms",
        ms("max")
    );
}

/// The parts of a request the server saw that a re-run must repeat.
fn seen_key(seen: &testbed::Seen) -> (String, String, Option<String>, usize, Option<String>) {
    (
        seen.method.clone(),
        seen.path.clone(),
        seen.query.clone(),
        seen.body_len,
        seen.header("x-token").map(str::to_owned),
    )
}

#[test]
fn failures_file_runs_again_exactly_the_failed_requests() {
    let testbed = Testbed::start();
    let refused = format!("http://{}/refused", testbed::closed_port());
    // `/echo` answers 200, which `--fail-on …,200` counts as a failure: so
    // these requests fail and their records show what the server received.
    let lines = [
        json!({"url": testbed.url("/echo/a?x=1"), "method": "POST", "headers": {"X-Token": "t1"},
               "body": "hello body", "id": "a", "batch": 7, "tags": ["x"]})
        .to_string(),
        json!({"url": testbed.url("/echo/b"), "method": "PUT", "json": {"k": [1, 2]},
               "id": "b", "owner": "ops"})
        .to_string(),
        testbed.url("/echo/c"),
        testbed.url("/status/404"),
        json!({"url": testbed.url("/status/500"), "method": "DELETE", "id": "d"}).to_string(),
        refused,
        "not a url".to_owned(),
        testbed.url("/status/201"),
        json!({"url": testbed.url("/status/202"), "id": "fine"}).to_string(),
    ];
    let input = Input::lines(&lines);
    let failures = input.sibling("failures.jsonl");
    let failures_arg = failures.to_str().expect("UTF-8");
    let flags = ["--retries", "0", "--fail-on", "error,4xx,5xx,200"];
    let first = run_args(
        [input.path(), "--failures", failures_arg]
            .into_iter()
            .chain(flags)
            .chain(FAST),
    );
    assert_eq!(first.code, Some(1), "stderr: {}", first.stderr);
    let failed: Vec<&Value> = first
        .records
        .iter()
        .filter(|r| r["ok"] == false && r["error"]["kind"] != "invalid_request")
        .collect();
    assert_eq!(failed.len(), 6, "{:#?}", first.records);
    let seen_first: Vec<_> = testbed
        .journal()
        .requests()
        .iter()
        .filter(|s| !s.path.starts_with("/status/20"))
        .map(seen_key)
        .collect();

    // The failures file: one input line per failed request, nothing else.
    let text = std::fs::read_to_string(&failures).expect("--failures wrote its file");
    let spec_lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let mut urls_in_file: Vec<&str> = spec_lines
        .iter()
        .filter_map(|l| l["url"].as_str())
        .collect();
    let mut urls_failed: Vec<&str> = failed.iter().filter_map(|r| r["url"].as_str()).collect();
    urls_in_file.sort_unstable();
    urls_failed.sort_unstable();
    assert_eq!(urls_in_file, urls_failed, "{text}");
    let a = spec_lines
        .iter()
        .find(|l| l["id"] == "a")
        .expect("request a is in the file");
    assert_eq!(
        (&a["batch"], &a["tags"], &a["body"]),
        (&json!(7), &json!(["x"]), &json!("hello body")),
        "{a}"
    );

    // Running the file sends exactly those requests again.
    let before = testbed.journal().total();
    let rerun = run_args([failures_arg].into_iter().chain(flags).chain(FAST));
    assert_eq!(rerun.code, Some(1), "stderr: {}", rerun.stderr);
    assert_eq!(rerun.records.len(), failed.len(), "{:#?}", rerun.records);
    let seen_again: Vec<_> = testbed.journal().requests()[before..]
        .iter()
        .map(seen_key)
        .collect();
    let sorted = |mut v: Vec<_>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(seen_again),
        sorted(seen_first),
        "the re-run sent other requests than the failed ones"
    );

    // And each record of the re-run matches the first one's: id, meta, and
    // for `/echo`, everything the server received (method, path, query,
    // headers, body).
    let key = |r: &Value| (r["id"].clone(), r["url"].clone(), r["method"].clone());
    let firsts: BTreeMap<String, &Value> = failed
        .iter()
        .map(|r| (format!("{:?}", key(r)), *r))
        .collect();
    for again in &rerun.records {
        let first = firsts.get(&format!("{:?}", key(again))).unwrap_or_else(|| {
            panic!("the re-run made a request the first run did not fail: {again}")
        });
        assert_eq!(again.get("meta"), first.get("meta"), "{again}\n{first}");
        assert_eq!(again["error"]["kind"], first["error"]["kind"], "{again}");
        if again["url"].as_str().is_some_and(|u| u.contains("/echo/")) {
            assert_eq!(again["body"], first["body"], "what /echo received differs");
        }
    }
    let b = rerun
        .records
        .iter()
        .find(|r| r["id"] == "b")
        .expect("request b ran again");
    assert_eq!(b["meta"], json!({"owner": "ops"}), "{b}");
    assert_eq!(b["body"]["body"], r#"{"k":[1,2]}"#, "{b}");
    assert_eq!(
        b["body"]["headers"]["content-type"], "application/json",
        "{b}"
    );
}

#[test]
fn save_dir_keeps_each_body_as_served() {
    let testbed = Testbed::start();
    let input = Input::lines([
        json!({"url": testbed.url("/bytes/1000"), "id": "blob"}).to_string(),
        json!({"url": testbed.url("/json/7"), "id": "user-7"}).to_string(),
        testbed.url("/bytes/5"),
        testbed.url("/json/3"),
        testbed.url("/text/hello"),
        json!({"url": testbed.url("/json/9"), "id": "x/y"}).to_string(),
    ]);
    let dir = input.sibling("bodies");
    let run = run_args(
        [input.path(), "--save-dir", dir.to_str().expect("UTF-8")]
            .into_iter()
            .chain(FAST),
    );
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let pattern = |n: u64| (0..n).map(testbed::pattern_byte).collect::<Vec<u8>>();
    let expected: [(&str, Vec<u8>); 6] = [
        ("blob.bin", pattern(1000)),
        ("user-7.json", testbed::json_item("7").into_bytes()),
        ("2.bin", pattern(5)),
        ("3.json", testbed::json_item("3").into_bytes()),
        ("4.txt", testbed::text_line("hello").into_bytes()),
        ("x_y-5.json", testbed::json_item("9").into_bytes()),
    ];
    let records = by_index(&run.records);
    assert_eq!(records.len(), expected.len());
    for ((index, record), (name, bytes)) in records.into_iter().zip(expected) {
        let object = record.as_object().expect("a record is an object");
        assert!(
            !object.contains_key("body") && !object.contains_key("body_base64"),
            "a saved body is not in the record too: {record}"
        );
        let path = Path::new(
            record["body_path"]
                .as_str()
                .unwrap_or_else(|| panic!("record {index} has no body_path: {record}")),
        );
        assert_eq!(path, dir.join(name), "{record}");
        let saved = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            saved == bytes,
            "{} differs from what was served",
            path.display()
        );
        assert_eq!(record["bytes"], bytes.len(), "{record}");
    }
}

#[test]
fn save_dir_with_body_is_a_usage_error() {
    let testbed = Testbed::start();
    let input = Input::lines([testbed.url("/json/1")]);
    let dir = input.sibling("bodies");
    let run = run_args([
        input.path(),
        "--save-dir",
        dir.to_str().expect("UTF-8"),
        "--body",
        "none",
    ]);
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("--body"), "{}", run.stderr);
    assert_eq!(testbed.journal().total(), 0, "a usage error sends nothing");
}

/// The proxy settings a test must not inherit from its environment.
const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// `volley` with no proxy settings from the environment.
fn volley_without_proxy_env() -> assert_cmd::Command {
    let mut cmd = volley();
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// A URL on a name that never resolves (RFC 6761): only a proxy can answer it.
const UNRESOLVABLE: &str = "http://api.invalid/echo/proxied?q=1";

/// The testbed acts as the proxy: it takes the absolute-form request target
/// (`GET http://api.invalid/echo/proxied?q=1 HTTP/1.1`) a client sends to an
/// HTTP proxy and answers it as its own path.
fn assert_proxied(testbed: &Testbed, record: &Value) {
    assert_eq!(record["ok"], true, "{record}");
    assert_eq!(record["url"], UNRESOLVABLE, "{record}");
    assert_eq!(record["body"]["path"], "/echo/proxied", "{record}");
    assert_eq!(record["body"]["headers"]["host"], "api.invalid", "{record}");
    let seen = testbed.journal().requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(
        (
            seen[0].path.as_str(),
            seen[0].query.as_deref(),
            seen[0].header("host")
        ),
        ("/echo/proxied", Some("q=1"), Some("api.invalid"))
    );
}

#[test]
fn proxy_flag_sends_every_request_through_the_proxy() {
    let proxy = Testbed::start();
    let input = Input::lines([UNRESOLVABLE]);
    let run = run(volley_without_proxy_env()
        .args([input.path(), "--proxy", &proxy.url("")])
        .args(FAST));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_proxied(&proxy, &run.records[0]);
}

#[test]
fn http_proxy_from_the_environment_and_no_proxy() {
    let proxy = Testbed::start();
    let input = Input::lines([UNRESOLVABLE]);
    let through = run(volley_without_proxy_env()
        .arg(input.path())
        .args(FAST)
        .env("HTTP_PROXY", proxy.url("")));
    assert_eq!(through.code, Some(0), "stderr: {}", through.stderr);
    assert_proxied(&proxy, &through.records[0]);

    let bypassed = run(volley_without_proxy_env()
        .arg(input.path())
        .args(FAST)
        .env("HTTP_PROXY", proxy.url(""))
        .env("NO_PROXY", "api.invalid"));
    assert_eq!(bypassed.code, Some(1), "stderr: {}", bypassed.stderr);
    let record = &bypassed.records[0];
    assert_eq!(record["error"]["kind"], "dns", "{record}");
    assert_eq!(
        proxy.journal().total(),
        1,
        "NO_PROXY: the proxy saw nothing more"
    );
}

#[test]
fn completions_for_every_shell_and_the_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = run_plain(volley().args(["completions", shell]));
        assert_eq!(run.code, Some(0), "{shell}: {}", run.stderr);
        assert!(
            run.stdout.contains("--concurrency"),
            "{shell} completions do not know --concurrency"
        );
    }
    let run = run_plain(volley().arg("man"));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.lines().any(|line| line.starts_with(".TH ")),
        "not a roff man page: {}",
        &run.stdout[..run.stdout.len().min(300)]
    );
}

/// `volley completions bash | head -1`, at its worst: the reader is gone
/// before the first byte, so every write fails with a broken pipe.
#[test]
fn completions_and_man_page_survive_a_closed_pipe() {
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["man"],
    ] {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("volley"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the volley binary starts");
        drop(child.stdout.take()); // the reader went away
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("piped")
            .read_to_string(&mut stderr)
            .expect("read stderr");
        let status = child.wait().expect("wait for volley");
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panic") && !stderr.to_lowercase().contains("broken pipe"),
            "{args:?}: {stderr}"
        );
    }
    // And through a real shell pipe, as a person types it.
    let run = run_plain(
        assert_cmd::Command::new("sh")
            .arg("-c")
            .arg("\"$0\" man | head -1; \"$0\" completions fish | head -1")
            .arg(assert_cmd::cargo::cargo_bin("volley")),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    assert!(!run.stderr.contains("panic"), "{}", run.stderr);
}
