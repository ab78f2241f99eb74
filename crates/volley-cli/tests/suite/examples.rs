//! Every example command in `volley --help`, README.md, docs/quickstart.md
//! and docs/recipes.md runs, against the testbed.
//!
//! The commands are read from the files at test time: the indented command
//! lines of the `--help` examples, and every fenced ```` ```sh ```` block of the
//! documents (one command per logical line: `\` continuations and here-documents
//! are joined). The example host (`https://api.example.com`) becomes the
//! testbed's address; the example input files (`urls.txt`, `requests.jsonl`,
//! `ids.jsonl`, `rows.csv`, `ids.csv`) are generated in a temporary directory,
//! and a document's own fenced file blocks (```` ```csv users.csv ````) are
//! written there too. Each command runs with `sh -c` in that directory, one
//! after the other (later examples may read what earlier ones wrote), with
//! the built binary's directory first on `PATH`, behind a tiny `volley` shim
//! that runs it and logs its exit status and its stdout, which a pipeline
//! would hide.
//!
//! Each must exit 0 or 1, never 2 or a crash, and so must every `volley` it
//! starts, also inside a pipeline. Everything volley writes to stdout, and
//! every `.jsonl` file of records the command writes, must pass the schema
//! check, and at least one record must be written. Other commands (`cat >
//! file`, `jq … file`) must exit 0. `cargo`, `git` and `cd` lines (installing,
//! building) are not run; `cargo run -p volley-cli -- ARGS` runs as
//! `volley ARGS`, and `volley demo` gets `--requests 200`. Without `jq` on the
//! machine, only the `| jq …` part of a pipeline is left out, and a command
//! that starts with jq is skipped; the test says so in its output.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tempfile::TempDir;

use super::support::{records, run_plain, volley, Testbed};

/// The example host in the documents, and what it becomes.
const EXAMPLE_HOSTS: [&str; 2] = ["https://api.example.com", "http://api.example.com"];

/// No example takes anywhere near this long.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// One command to run, and where it was found.
#[derive(Debug)]
struct Example {
    /// `file:line`, for messages.
    at: String,
    command: String,
}

/// A fenced block of a Markdown file: its info string and its lines, each
/// with its line number.
struct Block {
    info: String,
    lines: Vec<(usize, String)>,
}

fn fenced_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_owned(),
                    lines: Vec::new(),
                });
            }
            (Some(_), Some(rest)) if rest.trim().is_empty() => {
                blocks.extend(open.take());
            }
            (Some(block), _) => block.lines.push((i + 1, line.to_owned())),
            (None, None) => {}
        }
    }
    blocks
}

/// The here-document delimiter of a command (`cat > f <<'EOF'` → `EOF`).
fn heredoc_tag(command: &str) -> Option<String> {
    let after = command.split_once("<<")?.1;
    let tag: String = after
        .trim_start_matches('-')
        .trim_start()
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!tag.is_empty()).then_some(tag)
}

/// The commands of a shell block: comments and blank lines dropped, `\`
/// continuations joined, a here-document kept with its command.
fn shell_commands(file: &str, lines: &[(usize, String)]) -> Vec<Example> {
    let mut commands = Vec::new();
    let mut lines = lines.iter();
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut command = trimmed.to_owned();
        while command.ends_with('\\') {
            command.pop();
            match lines.next() {
                Some((_, next)) => command.push_str(next.trim()),
                None => break,
            }
        }
        if let Some(tag) = heredoc_tag(&command) {
            for (_, next) in lines.by_ref() {
                command.push('\n');
                command.push_str(next);
                if next.trim() == tag {
                    break;
                }
            }
        }
        commands.push(Example {
            at: format!("{file}:{number}"),
            command,
        });
    }
    commands
}

/// The commands and the named files (```` ```csv users.csv ````) of a
/// Markdown file.
fn markdown_examples(relative: &str) -> (Vec<Example>, Vec<(String, String)>) {
    let path = repo_root().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut commands = Vec::new();
    let mut files = Vec::new();
    for block in fenced_blocks(&text) {
        let mut words = block.info.split_whitespace();
        match (words.next(), words.next()) {
            (Some("sh"), None) => commands.extend(shell_commands(relative, &block.lines)),
            (Some(_), Some(name)) => {
                let content: String = block.lines.iter().map(|(_, l)| format!("{l}\n")).collect();
                files.push((name.to_owned(), content));
            }
            _ => {}
        }
    }
    (commands, files)
}

/// The command lines of the examples in `volley --help`: indented by two
/// spaces (their explanations by six), between "Examples:" and "Exit status:".
fn help_examples() -> Vec<Example> {
    // 80 columns: an example must not be wrapped in a common terminal.
    let run = run_plain(volley().arg("--help").env("COLUMNS", "80"));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let section = run
        .stdout
        .split_once("Examples:\n")
        .and_then(|(_, rest)| rest.split_once("\nExit status:"))
        .map(|(examples, _)| examples)
        .unwrap_or_else(|| panic!("no Examples section in --help:\n{}", run.stdout));
    let mut examples = Vec::new();
    let mut lines = section.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let is_command = line.starts_with("  ") && !line[2..].starts_with(' ');
        if !is_command {
            continue; // an explanation, indented further
        }
        let mut command = line.trim().to_owned();
        while command.ends_with('\\') {
            command.pop();
            match lines.next() {
                Some((_, next)) => command.push_str(next.trim()),
                None => break,
            }
        }
        examples.push(Example {
            at: format!("volley --help, example line {}", i + 1),
            command,
        });
    }
    for example in &examples {
        assert!(
            example.command.split_whitespace().any(|w| w == "volley"),
            "{}: {:?} does not run volley: was an example wrapped at 80 columns?",
            example.at,
            example.command
        );
    }
    examples
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A command split at the top level (outside quotes) into segments and the
/// operators between them: `|`, `||`, `&&`, `;`.
fn top_level(command: &str) -> Vec<(String, &'static str)> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let (mut single, mut double) = (false, false);
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        let op = match c {
            '\'' if !double => {
                single = !single;
                None
            }
            '"' if !single => {
                double = !double;
                None
            }
            _ if single || double => None,
            '|' if chars.peek() == Some(&'|') => Some("||"),
            '|' => Some("|"),
            '&' if chars.peek() == Some(&'&') => Some("&&"),
            ';' => Some(";"),
            _ => None,
        };
        match op {
            Some(op) => {
                if op.len() == 2 {
                    chars.next();
                }
                parts.push((std::mem::take(&mut current), op));
            }
            None => current.push(c),
        }
    }
    parts.push((current, ""));
    parts
}

fn first_word(segment: &str) -> &str {
    segment.split_whitespace().next().unwrap_or_default()
}

/// The command without its jq stages (for a machine without jq): in each
/// pipeline, a `jq` stage and the stages after it are left out. `None` when
/// a pipeline starts with jq and so cannot run at all.
fn without_jq(command: &str) -> Option<String> {
    let mut kept: Vec<(String, &str)> = Vec::new();
    let (mut dropping, mut starts_pipeline) = (false, true);
    for (segment, op) in top_level(command) {
        if first_word(&segment) == "jq" {
            if starts_pipeline {
                return None;
            }
            dropping = true;
        }
        let ends_pipeline = op != "|";
        if !dropping {
            kept.push((segment.trim().to_owned(), op));
        } else if ends_pipeline {
            // The kept stage before the dropped ones now ends the pipeline.
            if let Some(last) = kept.last_mut() {
                last.1 = op;
            }
        }
        if ends_pipeline {
            dropping = false;
        }
        starts_pipeline = ends_pipeline;
    }
    let words: Vec<String> = kept
        .into_iter()
        .map(|(segment, op)| match op {
            "" => segment,
            op => format!("{segment} {op}"),
        })
        .collect();
    Some(words.join(" "))
}

/// A directory to run examples in, with the fixtures and the volley shim.
struct Bench {
    testbed: Testbed,
    /// Holds `work/` (the examples' current directory) and `shim/`.
    _root: TempDir,
    work: PathBuf,
    /// The shims, first on `PATH`.
    shim: PathBuf,
    status_log: PathBuf,
    stdout_log: PathBuf,
    path: OsString,
    jq: bool,
}

/// Runs the volley under test (its directory is next on PATH) and logs its
/// exit status, which a pipeline hides (the shell reports the last stage's),
/// and a copy of what it writes to stdout, which a pipeline may consume.
/// `tee` keeps the output streaming, so `| head` still stops volley early.
const SHIM: &str = r#"#!/bin/sh
status_file=$(mktemp "$VOLLEY_STATUS_LOG.XXXXXX")
{ "$VOLLEY_BIN" "$@"; echo $? > "$status_file"; } | tee -a "$VOLLEY_STDOUT_LOG"
status=$(cat "$status_file")
rm -f "$status_file"
echo "$status" >> "$VOLLEY_STATUS_LOG"
exit "$status"
"#;

/// Writes an executable shell script.
fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("make {} executable: {e}", path.display()));
}

impl Bench {
    fn new() -> Bench {
        let root = tempfile::tempdir().expect("a temporary directory");
        let work = root.path().join("work");
        let shim = root.path().join("shim");
        std::fs::create_dir_all(&work).expect("create work/");
        std::fs::create_dir_all(&shim).expect("create shim/");
        write_script(&shim.join("volley"), SHIM);
        let binary = assert_cmd::cargo::cargo_bin("volley");
        let bin_dir = binary.parent().expect("the binary is in a directory");
        let mut dirs = vec![shim.clone(), bin_dir.to_owned()];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let path = std::env::join_paths(dirs).expect("PATH entries without separators");
        let jq = std::process::Command::new("sh")
            .args(["-c", "command -v jq"])
            .output()
            .is_ok_and(|o| o.status.success());
        Bench {
            testbed: Testbed::start(),
            status_log: root.path().join("statuses"),
            stdout_log: root.path().join("stdout"),
            _root: root,
            work,
            shim,
            path,
            jq,
        }
    }

    /// As on a machine without jq: a `jq` that is not there (a stub that
    /// fails, first on PATH, so that a jq stage left in by mistake shows).
    fn without_jq(mut self) -> Bench {
        write_script(
            &self.shim.join("jq"),
            "#!/bin/sh\necho 'jq: not installed (test stub)' >&2\nexit 127\n",
        );
        self.jq = false;
        self
    }

    /// `http://127.0.0.1:PORT`, the example host's stand-in.
    fn base(&self) -> String {
        format!("http://{}", self.testbed.addr())
    }

    /// The example host replaced by the testbed.
    fn localise(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for host in EXAMPLE_HOSTS {
            text = text.replace(host, &self.base());
        }
        text
    }

    /// The input files the examples name, on the testbed; then `files`, the
    /// document's own, over them.
    fn write_fixtures(&self, files: &[(String, String)]) {
        let url = |path: &str| self.testbed.url(path);
        let urls = [
            url("/json/1"),
            url("/json/2"),
            url("/text/3"),
            url("/status/404"),
            url("/flaky/examples-urls/1/503"),
            url("/delay/50"),
            url("/bytes/64"),
        ];
        let requests = [
            serde_json::json!({"url": url("/json/1"), "id": "u1", "team": "a"}),
            serde_json::json!({"url": url("/echo/orders"), "method": "POST",
                "headers": {"Idempotency-Key": "o1"}, "json": {"sku": "A-1"}, "id": "o1"}),
            serde_json::json!({"url": url("/status/404"), "id": "missing"}),
            serde_json::json!({"url": url("/flaky/examples-requests/1/503"), "id": "flaky"}),
            serde_json::json!({"url": url("/text/5"), "method": "PUT", "body": "hello"}),
        ];
        let ids = (1..=5).map(
            |n| serde_json::json!({"url": url(&format!("/json/{n}")), "id": format!("user-{n}")}),
        );
        let lines = |items: Vec<String>| items.iter().map(|l| format!("{l}\n")).collect::<String>();
        let mut fixtures = vec![
            ("urls.txt".to_owned(), lines(urls.to_vec())),
            (
                "requests.jsonl".to_owned(),
                lines(requests.iter().map(Value::to_string).collect()),
            ),
            (
                "ids.jsonl".to_owned(),
                lines(ids.map(|v| v.to_string()).collect()),
            ),
            (
                "rows.csv".to_owned(),
                "id,lang\n1,en\n2,fr\n3,de\n".to_owned(),
            ),
            ("ids.csv".to_owned(), "id\n1\n2\n3\n".to_owned()),
        ];
        fixtures.extend(
            files
                .iter()
                .map(|(name, content)| (name.clone(), self.localise(content))),
        );
        for (name, content) in fixtures {
            std::fs::write(self.work.join(&name), content)
                .unwrap_or_else(|e| panic!("write fixture {name}: {e}"));
        }
    }

    /// Size and modification time of every file in `work/`.
    fn snapshot(&self) -> BTreeMap<PathBuf, (u64, Option<SystemTime>)> {
        std::fs::read_dir(&self.work)
            .expect("list work/")
            .filter_map(Result::ok)
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                meta.is_file()
                    .then(|| (e.path(), (meta.len(), meta.modified().ok())))
            })
            .collect()
    }

    /// Runs every example in order; panics with all the problems found.
    fn run_all(&self, examples: &[Example]) {
        assert!(!examples.is_empty(), "no examples found");
        let problems: Vec<String> = examples
            .iter()
            .filter_map(|example| self.run(example).err())
            .collect();
        assert!(
            problems.is_empty(),
            "{} example(s) failed:\n\n{}",
            problems.len(),
            problems.join("\n\n")
        );
    }

    /// Runs one example; says what it did on stdout, and returns a
    /// description of what went wrong, if anything.
    fn run(&self, example: &Example) -> Result<(), String> {
        let Example { at, command } = example;
        let Some(command) = self.prepare(command) else {
            println!("{at}: skipped (not run by the tests): {command}");
            return Ok(());
        };
        let command = if self.jq || !command.contains("jq") {
            command
        } else {
            match without_jq(&command) {
                Some(stripped) => {
                    println!("{at}: jq not found: running without its `| jq …` part: {stripped}");
                    stripped
                }
                None => {
                    println!("{at}: jq not found: skipped: {command}");
                    return Ok(());
                }
            }
        };
        let runs_volley = command.split_whitespace().any(|w| w == "volley");
        println!("{at}: running: {command}");
        let _ = std::fs::remove_file(&self.status_log);
        let _ = std::fs::remove_file(&self.stdout_log);
        let before = self.snapshot();
        let run = run_plain(
            assert_cmd::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .current_dir(&self.work)
                .env("PATH", &self.path)
                .env("VOLLEY_BIN", assert_cmd::cargo::cargo_bin("volley"))
                .env("VOLLEY_STATUS_LOG", &self.status_log)
                .env("VOLLEY_STDOUT_LOG", &self.stdout_log)
                .env("TMPDIR", &self.work)
                .env("API_TOKEN", "test-token")
                .env_remove("COLUMNS")
                .env_remove("HTTP_PROXY")
                .env_remove("http_proxy")
                .env_remove("ALL_PROXY")
                .env_remove("all_proxy")
                .timeout(COMMAND_LIMIT),
        );
        let statuses: Vec<i32> = std::fs::read_to_string(&self.status_log)
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().parse().expect("the shim logs numbers"))
            .collect();
        let fail = |why: String| {
            Err(format!(
                "{at}: {why}\n  command: {command}\n  exit: {:?}, volley exits: {statuses:?}\n  stderr: {}",
                run.code,
                run.stderr.trim()
            ))
        };

        // Records: what volley wrote to stdout (all of it records, unless it
        // was asked for something else), and every .jsonl file of records
        // the command wrote.
        let informational = top_level(&command).iter().any(|(segment, _)| {
            let mut words = segment.split_whitespace();
            words.next() == Some("volley")
                && words.next().is_some_and(|w| {
                    ["--version", "-V", "--help", "-h", "completions", "man"].contains(&w)
                })
        });
        let volley_stdout = std::fs::read_to_string(&self.stdout_log).unwrap_or_default();
        let mut count = 0;
        if !informational {
            count += records(&volley_stdout).len();
        }
        let after = self.snapshot();
        for (path, stamp) in &after {
            let changed = before.get(path) != Some(stamp);
            if !changed || path.extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let first = text.lines().next().unwrap_or_default();
            if serde_json::from_str::<Value>(first).is_ok_and(|v| looks_like_record(&v)) {
                count += records(&text).len();
            }
        }
        println!(
            "{at}: exit {:?}, volley exits {statuses:?}, {count} records",
            run.code
        );

        if run.stderr.contains("panicked") {
            return fail("volley panicked".into());
        }
        if !runs_volley {
            return match run.code {
                Some(0) => Ok(()),
                _ => fail("a helper command failed".into()),
            };
        }
        if statuses.is_empty() {
            return fail("no volley ran".into());
        }
        if statuses.iter().any(|s| !matches!(s, 0 | 1)) || !matches!(run.code, Some(0 | 1)) {
            return fail("exit status other than 0 or 1".into());
        }
        let other_shards = command.contains("--shard") && run.stderr.contains("other shards");
        if informational {
            return match run.code {
                Some(0) => Ok(()),
                _ => fail("an informational command failed".into()),
            };
        }
        if count == 0 && !other_shards {
            return fail("no records written".into());
        }
        Ok(())
    }

    /// The command as the tests run it: hosts replaced, `cargo run` as
    /// `volley`, a smaller demo; `None` for what is not run (installing,
    /// building, changing directory).
    fn prepare(&self, command: &str) -> Option<String> {
        let mut command = self.localise(command);
        assert!(
            !command.contains("example.com") && !command.contains("example.org"),
            "an example host the tests do not know: {command}"
        );
        if let Some(args) = command
            .strip_prefix("cargo run")
            .and_then(|rest| rest.split_once("-p volley-cli -- "))
            .map(|(_, args)| args.to_owned())
        {
            command = format!("volley {args}");
        }
        if matches!(first_word(&command), "cargo" | "git" | "cd") {
            return None;
        }
        let demo = top_level(&command).iter().any(|(segment, _)| {
            let words: Vec<&str> = segment.split_whitespace().collect();
            words.starts_with(&["volley", "demo"]) && !words.contains(&"--requests")
        });
        if demo {
            command = command.replace("volley demo", "volley demo --requests 200");
        }
        Some(command)
    }
}

fn looks_like_record(value: &Value) -> bool {
    ["index", "attempts", "ok", "url"]
        .iter()
        .all(|field| value.get(field).is_some())
}

#[test]
fn command_splitting() {
    let lines: Vec<(usize, String)> = [
        "# a comment",
        "volley a \\",
        "   -o b",
        "",
        "cat > f <<'EOF'",
        "x | y",
        "EOF",
        "echo done",
    ]
    .iter()
    .enumerate()
    .map(|(i, l)| (i + 1, (*l).to_owned()))
    .collect();
    let commands: Vec<String> = shell_commands("t", &lines)
        .into_iter()
        .map(|e| e.command)
        .collect();
    assert_eq!(
        commands,
        ["volley a -o b", "cat > f <<'EOF'\nx | y\nEOF", "echo done"]
    );
    assert_eq!(
        without_jq("volley u -q | jq -c 'select(.ok | not)' > x.jsonl").as_deref(),
        Some("volley u -q")
    );
    assert_eq!(
        without_jq("cat u | volley - | jq . | head -1; echo ok").as_deref(),
        Some("cat u | volley - ; echo ok")
    );
    assert_eq!(without_jq("jq -c . f | volley -"), None);
}

#[test]
fn help_examples_run() {
    let examples = help_examples();
    assert!(
        examples.len() >= 8,
        "only {} examples found in --help: {examples:#?}",
        examples.len()
    );
    let bench = Bench::new();
    bench.write_fixtures(&[]);
    bench.run_all(&examples);
}

/// Runs the examples of one Markdown document.
fn document_examples_run(relative: &str) {
    let (examples, files) = markdown_examples(relative);
    let bench = Bench::new();
    bench.write_fixtures(&files);
    bench.run_all(&examples);
}

/// Where jq is missing, the examples still run, without their jq parts.
#[test]
fn examples_run_without_jq() {
    let bench = Bench::new().without_jq();
    bench.write_fixtures(&[]);
    bench.run_all(&help_examples());
    for relative in ["README.md", "docs/recipes.md"] {
        let (examples, files) = markdown_examples(relative);
        let bench = Bench::new().without_jq();
        bench.write_fixtures(&files);
        bench.run_all(&examples);
    }
}

#[test]
fn readme_examples_run() {
    document_examples_run("README.md");
}

#[test]
fn quickstart_examples_run() {
    document_examples_run("docs/quickstart.md");
}

#[test]
fn recipes_examples_run() {
    document_examples_run("docs/recipes.md");
}
