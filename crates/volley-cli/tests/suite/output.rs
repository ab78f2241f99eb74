//! Where records go and what they hold: `-o`, the summary and `-q`, `--body none`, `--include-headers`, a closed stdout pipe.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser as _;
use volley_cli::cli::Args;
use volley_cli::exit::Exit;

use super::support::{by_index, read_records, records, run_args, Input, Testbed, FAST};

fn three_urls(testbed: &Testbed) -> Input {
    Input::lines((0..3).map(|i| testbed.url(&format!("/json/{i}"))))
}

#[test]
fn output_file_gets_the_records_and_stderr_the_summary() {
    let testbed = Testbed::start();
    let input = three_urls(&testbed);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    let run = run_args([input.path(), "-o", out_arg].into_iter().chain(FAST));

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout, "", "records go to the file only");
    let records = read_records(&out);
    assert_eq!(by_index(&records).len(), 3);
    assert!(
        run.stderr.contains("volley: 3 requests in") && run.stderr.contains("3 ok, 0 failed"),
        "no summary on stderr: {:?}",
        run.stderr
    );
}

#[test]
fn records_can_go_to_dev_null() {
    let testbed = Testbed::start();
    let input = three_urls(&testbed);
    let run = run_args([input.path(), "-o", "/dev/null"].into_iter().chain(FAST));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("3 ok, 0 failed"), "{}", run.stderr);
}

#[test]
fn quiet_silences_the_summary() {
    let testbed = Testbed::start();
    let input = three_urls(&testbed);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    let run = run_args([input.path(), "-q", "-o", out_arg].into_iter().chain(FAST));

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert_eq!(read_records(&out).len(), 3);
}

/// Runs the CLI in process (its library entry point) with `flags`, records to
/// a file, and returns them.
fn run_in_process(testbed: &Testbed, flags: &[&str]) -> Vec<serde_json::Value> {
    let input = three_urls(testbed);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    let argv = ["volley", input.path(), "-q", "-o", out_arg]
        .into_iter()
        .chain(FAST)
        .chain(flags.iter().copied());
    let config = Args::try_parse_from(argv)
        .expect("valid flags")
        .validate()
        .expect("valid settings");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let report = runtime
        .block_on(volley_cli::execute(config))
        .expect("the run starts");
    assert_eq!(report.exit, Exit::Success);
    assert_eq!(report.tally.total, 3);
    read_records(&out)
}

#[test]
fn body_none_keeps_the_byte_count() {
    let testbed = Testbed::start();
    let records = run_in_process(&testbed, &["--body", "none"]);
    for (i, record) in by_index(&records) {
        let object = record.as_object().expect("an object");
        assert!(
            !object.contains_key("body") && !object.contains_key("body_base64"),
            "{record}"
        );
        let size = testbed::json_item(&i.to_string()).len();
        assert_eq!(record["bytes"], size, "{record}");
    }
}

#[test]
fn include_headers_adds_the_response_headers() {
    let testbed = Testbed::start();
    let records = run_in_process(&testbed, &["--include-headers"]);
    for record in &records {
        assert_eq!(
            record["headers"]["content-type"], "application/json",
            "{record}"
        );
        assert_eq!(
            record["body"]["id"], record["index"],
            "the body is still there: {record}"
        );
    }
    let plain = run_in_process(&testbed, &[]);
    assert!(
        plain.iter().all(|r| r.get("headers").is_none()),
        "{plain:?}"
    );
}

/// Runs volley over `lines` with stdout read by a reader that takes one
/// line and goes away (`volley … | head -1`); volley must stop by itself,
/// quietly, with status 0 (STYLE.md: "a closed stdout pipe exits quietly").
///
/// With `stdin_open`, the lines come on a stdin that stays open afterwards,
/// as from a producer that has not finished (`tail -f urls | volley -`).
fn stops_quietly_when_stdout_closes(lines: &[String], flags: &[&str], stdin_open: bool) {
    const LIMIT: Duration = Duration::from_secs(20);
    let urls: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let input = Input::bytes(urls.as_bytes());
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("volley"));
    if stdin_open {
        command.arg("-").stdin(Stdio::piped());
    } else {
        command.arg(input.path()).stdin(Stdio::null());
    }
    let mut child = command
        .args(FAST)
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the volley binary starts");
    // Held, not dropped, until the end of the test: stdin stays open.
    let mut stdin = child.stdin.take();
    if let Some(stdin) = &mut stdin {
        stdin
            .write_all(urls.as_bytes())
            .expect("write the URLs to stdin");
    }
    // Drain stderr on the side so that a chatty child cannot block on it.
    let mut stderr = child.stderr.take().expect("piped");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("one line");
    drop(stdout); // closes the pipe: volley's next write fails with EPIPE
    assert_eq!(records(&first).len(), 1, "{first:?}");

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if started.elapsed() > LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        drop(stdin);
        panic!(
            "volley {flags:?} still running {LIMIT:?} after its stdout closed; stderr: {}",
            stderr.join().unwrap_or_default()
        );
    };
    drop(stdin);
    let stderr = stderr.join().expect("the stderr reader");
    assert_eq!(status.code(), Some(0), "{flags:?}; stderr: {stderr}");
    let lower = stderr.to_lowercase();
    assert!(
        !lower.contains("broken pipe") && !lower.contains("panic"),
        "{flags:?}; stderr: {stderr}"
    );
}

/// One fast request, then `n` that take 300 ms: the first record is out
/// (and read) long before the next ones are written.
fn fast_then_slow(testbed: &Testbed, n: usize) -> Vec<String> {
    let mut lines = vec![testbed.url("/json/0")];
    lines.extend((0..n).map(|_| testbed.url("/delay/300")));
    lines
}

#[test]
fn a_closed_stdout_pipe_ends_the_run_quietly() {
    let testbed = Testbed::start();
    let lines: Vec<String> = (0..2000).map(|_| testbed.url("/delay/5")).collect();
    stops_quietly_when_stdout_closes(&lines, &[], false);
}

/// Regression: in ordered mode the forwarder could be left waiting for a
/// window permit that the stopped sink would never return.
#[test]
fn a_closed_stdout_pipe_ends_an_ordered_run_quietly() {
    let testbed = Testbed::start();
    stops_quietly_when_stdout_closes(&fast_then_slow(&testbed, 2000), &["--ordered"], false);
}

/// Regression: volley waited for the input thread, blocked reading a stdin
/// that had no more lines yet, although nobody would read its output.
#[test]
fn a_closed_stdout_pipe_ends_the_run_while_stdin_stays_open() {
    let testbed = Testbed::start();
    stops_quietly_when_stdout_closes(&fast_then_slow(&testbed, 100), &[], true);
}
