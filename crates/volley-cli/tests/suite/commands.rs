//! The subcommand and built-in output: `volley demo`, `--help`, `--version`.

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
