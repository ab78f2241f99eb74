//! Shared helpers: a testbed, input files, running the binary, and the schema check every record goes through.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

pub use testbed::Testbed;

/// Flags that keep a run fast when timeouts do not matter to the test: a
/// hung request fails in seconds rather than the default 30 s. The connect
/// timeout outlasts Linux's first SYN resend (1 s), so a SYN a busy test
/// machine drops delays a connection rather than failing it.
pub const FAST: [&str; 4] = ["--timeout", "5s", "--connect-timeout", "3s"];

/// No run of the binary in this suite takes anywhere near this long; one
/// that does is killed, and its exit status (none) fails the test.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The committed record schema, read from the file at the repository root.
fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/record.v1.json")
}

/// The schema's validator, built once for the whole binary.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = schema_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let schema: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        jsonschema::draft202012::new(&schema)
            .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", path.display()))
    })
}

/// Fails the test unless `record` conforms to `schema/record.v1.json`.
///
/// Every record any test reads goes through here (via [`records`]).
pub fn check(record: &Value) {
    let errors: Vec<String> = validator()
        .iter_errors(record)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "record violates the schema: {errors:?}\n{record}"
    );
}

/// Parses JSON-lines output into records, checking each against the schema.
/// Every line must be one whole record.
pub fn records(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("output line is not JSON ({e}): {line:?}"));
            check(&record);
            record
        })
        .collect()
}

/// The records in the file at `path`.
pub fn read_records(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    records(&text)
}

/// A record's `index`.
pub fn index(record: &Value) -> u64 {
    record["index"]
        .as_u64()
        .unwrap_or_else(|| panic!("no index: {record}"))
}

/// Records by index; fails if an index appears twice.
pub fn by_index(records: &[Value]) -> BTreeMap<u64, &Value> {
    let mut map = BTreeMap::new();
    for record in records {
        if let Some(earlier) = map.insert(index(record), record) {
            panic!(
                "index {} written twice:\n{earlier}\n{record}",
                index(record)
            );
        }
    }
    map
}

/// The `error.message` of a record, or "" when it has none.
pub fn message(record: &Value) -> &str {
    record["error"]["message"].as_str().unwrap_or_default()
}

/// A temporary input file; the directory goes when the value is dropped.
pub struct Input {
    dir: TempDir,
    path: PathBuf,
}

impl Input {
    /// An input file holding `content` as is.
    pub fn bytes(content: &[u8]) -> Input {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("input.txt");
        std::fs::write(&path, content).expect("write the input file");
        Input { dir, path }
    }

    /// An input file of `lines`, each ended by a newline.
    pub fn lines<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> Input {
        let mut content = String::new();
        for line in lines {
            content.push_str(line.as_ref());
            content.push('\n');
        }
        Input::bytes(content.as_bytes())
    }

    /// The file's path, as text for arguments and messages.
    pub fn path(&self) -> &str {
        self.path.to_str().expect("temporary paths are UTF-8")
    }

    /// A path for an output file beside the input (not created).
    pub fn sibling(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The `volley` binary, with a time limit.
pub fn volley() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("volley").expect("cargo builds the volley binary");
    cmd.timeout(RUN_LIMIT);
    cmd
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit status; `None` when killed (the time limit passed).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// stdout as records, each checked against the schema.
    pub records: Vec<Value>,
}

/// Runs `cmd` to completion and reads its stdout as records.
pub fn run(cmd: &mut assert_cmd::Command) -> Run {
    let mut run = run_plain(cmd);
    run.records = records(&run.stdout);
    run
}

/// Runs the binary with `args` (stdin empty) and reads its stdout as records.
pub fn run_args<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Run {
    run(volley().args(args))
}

/// Runs `volley INPUT FLAGS… FAST…`.
pub fn run_on(input: &Input, flags: &[&str]) -> Run {
    run_args(
        [input.path()]
            .into_iter()
            .chain(flags.iter().copied())
            .chain(FAST),
    )
}

/// Runs `cmd` to completion, for output that is not records (`--help`):
/// `records` stays empty.
pub fn run_plain(cmd: &mut assert_cmd::Command) -> Run {
    let output = cmd.output().expect("the volley binary starts");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        records: Vec::new(),
    }
}
