//! The subcommands and built-in output: `volley demo`, `completions`, `man`,
//! `--help`, `--version`.

use std::io::Read as _;
use std::process::{Command, Stdio};

use super::support::{by_index, read_records, run_args, run_plain, volley, Input};

#[test]
fn demo_writes_one_valid_record_per_request() {
    let dir = Input::lines(Vec::<String>::new());
    let out = dir.sibling("demo.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    let run = run_args(["demo", "--requests", "300", "-o", out_arg]);

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout, "");
    let records = read_records(&out);
    assert_eq!(records.len(), 300);
    assert_eq!(
        by_index(&records).keys().copied().collect::<Vec<_>>(),
        (0..300).collect::<Vec<_>>()
    );
    assert!(
        run.stderr.contains(out_arg),
        "stderr does not name {out_arg}: {}",
        run.stderr
    );
}

#[test]
fn help_shows_the_examples() {
    let run = run_plain(volley().arg("--help"));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    for words in [
        "Examples:",
        "volley urls.txt -o out.jsonl",
        "--per-host",
        "Exit status:",
    ] {
        assert!(
            run.stdout.contains(words),
            "--help lacks {words:?}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn version_prints_the_version() {
    let run = run_plain(volley().arg("--version"));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(
        run.stdout,
        format!("volley {}\n", env!("CARGO_PKG_VERSION"))
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
