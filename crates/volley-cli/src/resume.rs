//! `--resume`: the output file is the journal.
//!
//! Records are appended one whole line at a time, so after a crash the file
//! is a run of complete records, perhaps followed by one torn line. Resuming
//! truncates that torn tail, refuses damage anywhere else (unless
//! `--repair`, which drops damaged lines), and collects the key of every
//! request that already has its final record, so that it is not fetched
//! again. The file is read whole before anything in it is changed, so a
//! refused resume leaves it exactly as it was.
//!
//! A request's key is its `id` when the input gives one; otherwise its input
//! index together with its method and URL, so that a changed input is
//! detected (same index, different request) rather than silently mismatched.
//! Keys are 64-bit FNV-1a hashes: fixed across machines and versions, and
//! small enough that millions of them fit in a few dozen megabytes.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::Deserialize;

/// What identifies a request across runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key(u64);

impl Key {
    /// The key of a request with these identifying fields.
    pub fn of(id: Option<&str>, index: u64, method: &str, url: &str) -> Key {
        let mut h = Fnv::new();
        match id {
            Some(id) => {
                h.write(b"id\0");
                h.write(id.as_bytes());
            }
            None => {
                h.write(b"at\0");
                h.write(&index.to_le_bytes());
                for byte in method.bytes() {
                    h.write(&[byte.to_ascii_uppercase()]);
                }
                h.write(b"\0");
                h.write(url.as_bytes());
            }
        }
        Key(h.0)
    }

    /// The raw hash (for the intent log).
    pub fn raw(self) -> u64 {
        self.0
    }

    /// A key read back from the intent log.
    pub fn from_raw(raw: u64) -> Key {
        Key(raw)
    }
}

/// 64-bit FNV-1a: a fixed, documented hash (see the module docs).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The fields of a record that identify its request.
#[derive(Deserialize)]
struct RecordKey {
    index: u64,
    id: Option<String>,
    method: String,
    url: String,
}

/// What an existing output file says is already done.
#[derive(Debug, Default)]
pub struct Done {
    keys: HashSet<Key>,
    /// Input positions whose record has no id (to detect a changed input):
    /// a bit set kept as words of 64 bits keyed by `index / 64`. Sparse on
    /// purpose: a dense bitmap would be sized by the largest index in the
    /// file, and one damaged or foreign line with an index near 2^64 would
    /// make it ask for exabytes and abort the process.
    positions: HashMap<u64, u64>,
    /// Records found.
    pub records: u64,
    /// Bytes of a torn last line that were cut off.
    pub torn_bytes: u64,
    /// Damaged lines dropped under `--repair`.
    pub dropped: u64,
}

impl Done {
    /// True when no request has a record yet: nothing is done or at a position.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.positions.is_empty()
    }

    /// True when the request with `key` already has its final record.
    pub fn contains(&self, key: Key) -> bool {
        self.keys.contains(&key)
    }

    /// Marks `key` as done (e.g. after writing an `outcome_unknown` record).
    pub fn insert(&mut self, key: Key) {
        self.keys.insert(key);
    }

    /// True when a record without id exists for input position `index`.
    pub fn has_position(&self, index: u64) -> bool {
        self.positions
            .get(&(index / 64))
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    /// The highest input position with a record without id: until the
    /// input has been read that far, it may yet turn out to have changed.
    pub fn last_position(&self) -> Option<u64> {
        let (&word, &bits) = self.positions.iter().max_by_key(|(word, _)| **word)?;
        Some(word * 64 + 63 - u64::from(bits.leading_zeros()))
    }

    fn add(&mut self, record: &RecordKey) {
        self.records += 1;
        self.keys.insert(Key::of(
            record.id.as_deref(),
            record.index,
            &record.method,
            &record.url,
        ));
        if record.id.is_none() {
            *self.positions.entry(record.index / 64).or_default() |= 1 << (record.index % 64);
        }
    }
}

/// Reads `path` for `--resume`: repairs a torn tail, refuses (or with
/// `repair` drops) damaged lines, and returns what is done. A missing file
/// is an empty journal.
///
/// # Errors
///
/// Damage without `repair`, or an I/O error; the message says which line.
pub fn scan(path: &Path, repair: bool) -> anyhow::Result<Done> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Done::default()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot open {} to resume", path.display()))
        }
    };
    let mut done = Done::default();
    // Read first, change later: only the whole lines are read (a torn last
    // line is not a record), and the tail is cut once the lines before it
    // have been found clean or `repair` allows dropping the damaged ones.
    let len = file.metadata()?.len();
    let whole =
        whole_length(&mut file, len).with_context(|| format!("cannot read {}", path.display()))?;
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(256 * 1024, (&mut file).take(whole));
    let mut line = Vec::new();
    let mut damaged = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number += 1;
        match read_record(&line) {
            Ok(record) => done.add(&record),
            Err(what) if !repair => bail!(
                "{} line {number} is damaged ({what}); the file is not a clean volley output. \
                 Run with --repair to drop damaged lines, or write to a new file",
                path.display(),
            ),
            Err(_) => damaged.push(number),
        }
    }
    drop(reader);
    if whole < len {
        file.set_len(whole)
            .and_then(|()| file.sync_data())
            .with_context(|| format!("cannot cut the torn last line of {}", path.display()))?;
        done.torn_bytes = len - whole;
    }
    if !damaged.is_empty() {
        drop_lines(path, &damaged)?;
        done.dropped = damaged.len() as u64;
    }
    Ok(done)
}

/// The identifying fields of one output line, or briefly what is wrong
/// with it.
fn read_record(line: &[u8]) -> Result<RecordKey, String> {
    let nuls = line.iter().filter(|b| **b == 0).count();
    if nuls > 0 {
        return Err(format!("{nuls} NUL bytes"));
    }
    // serde also reads a struct from a JSON array (`[0, null, "GET", "u"]`),
    // but a record is always an object.
    if line.trim_ascii_start().first() != Some(&b'{') {
        return Err("not a record: not a JSON object".to_owned());
    }
    serde_json::from_slice(line).map_err(|e| format!("not a record: {e}"))
}

/// The length of the file `len` bytes long up to and including its last
/// newline: what is left once a torn last line is cut. Changes nothing.
fn whole_length(file: &mut File, len: u64) -> io::Result<u64> {
    // Walk back from the end in blocks until a newline is found.
    let mut end = len;
    let mut block = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let chunk = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(at) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(start + at as u64 + 1);
        }
        end = start;
    }
    // No newline at all: the whole file is one torn line.
    Ok(0)
}

/// Rewrites `path` without the given (1-based, ascending) line numbers,
/// through a temporary file renamed over it.
fn drop_lines(path: &Path, damaged: &[u64]) -> anyhow::Result<()> {
    let tmp = sibling(path, ".repair-tmp");
    {
        let input = BufReader::new(File::open(path)?);
        let mut out = io::BufWriter::new(File::create(&tmp)?);
        let mut skip = damaged.iter().peekable();
        for (number, line) in input.split(b'\n').enumerate() {
            let line = line?;
            if skip.peek() == Some(&&(number as u64 + 1)) {
                skip.next();
                continue;
            }
            out.write_all(&line)?;
            out.write_all(b"\n")?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// `path` with `suffix` added to its file name.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str =
        r#"{"index":0,"id":null,"method":"GET","url":"http://a.test/0","status":200,"ok":true}"#;
    const B: &str =
        r#"{"index":1,"id":"b","method":"POST","url":"http://a.test/1","status":201,"ok":true}"#;

    #[test]
    fn last_position_is_the_highest_index_without_id() {
        let mut done = Done::default();
        assert_eq!(done.last_position(), None);
        let record = |index: u64, id: Option<&str>| RecordKey {
            index,
            id: id.map(str::to_owned),
            method: "GET".to_owned(),
            url: format!("http://a.test/{index}"),
        };
        done.add(&record(9_000, Some("with an id")));
        assert_eq!(done.last_position(), None, "ids say nothing of positions");
        for index in [5, 0, 200, 63, 64, 191] {
            done.add(&record(index, None));
        }
        assert_eq!(done.last_position(), Some(200));
        done.add(&record(u64::MAX, None));
        assert_eq!(done.last_position(), Some(u64::MAX));
    }

    fn file_with(content: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, content).expect("write fixture");
        (dir, path)
    }

    #[test]
    fn keys_use_the_id_or_the_position() {
        assert_eq!(
            Key::of(Some("x"), 1, "GET", "u"),
            Key::of(Some("x"), 9, "POST", "v")
        );
        assert_ne!(Key::of(None, 1, "GET", "u"), Key::of(None, 2, "GET", "u"));
        assert_ne!(Key::of(None, 1, "GET", "u"), Key::of(None, 1, "POST", "u"));
        assert_eq!(Key::of(None, 1, "get", "u"), Key::of(None, 1, "GET", "u"));
        assert_ne!(
            Key::of(Some("1"), 1, "GET", "u"),
            Key::of(None, 1, "GET", "u")
        );
    }

    #[test]
    fn clean_file_yields_its_keys() {
        let (_dir, path) = file_with(format!("{A}\n{B}\n").as_bytes());
        let done = scan(&path, false).expect("clean");
        assert_eq!((done.records, done.torn_bytes, done.dropped), (2, 0, 0));
        assert!(done.contains(Key::of(None, 0, "GET", "http://a.test/0")));
        assert!(done.contains(Key::of(Some("b"), 0, "", "")));
        assert!(done.has_position(0) && !done.has_position(1));
    }

    #[test]
    fn torn_tail_is_cut() {
        let torn = format!("{A}\n{B}\n{{\"index\":2,\"id\":nu");
        let (_dir, path) = file_with(torn.as_bytes());
        let done = scan(&path, false).expect("torn tail is repaired");
        assert_eq!((done.records, done.torn_bytes), (2, 18));
        let after = std::fs::read_to_string(&path).expect("read back");
        assert_eq!(after, format!("{A}\n{B}\n"));
    }

    #[test]
    fn a_file_that_is_only_a_torn_line_becomes_empty() {
        let (_dir, path) = file_with(b"{\"index\":0,");
        let done = scan(&path, false).expect("repaired");
        assert_eq!((done.records, done.torn_bytes), (0, 11));
        assert_eq!(std::fs::metadata(&path).expect("stat").len(), 0);
    }

    #[test]
    fn damage_mid_file_is_refused_then_repaired_on_request() {
        let nuls = String::from_utf8(vec![0; 40]).expect("NULs are UTF-8");
        let damaged = format!("{A}\n{nuls}\n{B}\n");
        let (_dir, path) = file_with(damaged.as_bytes());
        let err = scan(&path, false)
            .expect_err("damage is refused")
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("40 NUL bytes") && err.contains("--repair"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).expect("untouched"), damaged);

        let done = scan(&path, true).expect("repaired");
        assert_eq!((done.records, done.dropped), (2, 1));
        assert_eq!(
            std::fs::read_to_string(&path).expect("read back"),
            format!("{A}\n{B}\n")
        );
    }

    #[test]
    fn a_refused_resume_leaves_the_torn_tail_too() {
        let nuls = String::from_utf8(vec![0; 8]).expect("NULs are UTF-8");
        let damaged = format!("{A}\n{nuls}\n{B}\n{{\"index\":2,");
        let (_dir, path) = file_with(damaged.as_bytes());
        scan(&path, false).expect_err("damage is refused");
        assert_eq!(std::fs::read_to_string(&path).expect("untouched"), damaged);

        let done = scan(&path, true).expect("repaired");
        assert_eq!((done.records, done.dropped, done.torn_bytes), (2, 1, 11));
        assert_eq!(
            std::fs::read_to_string(&path).expect("read back"),
            format!("{A}\n{B}\n")
        );
    }

    #[test]
    fn a_huge_index_costs_no_more_than_a_small_one() {
        // A dense bitmap would ask for 2^61 bytes here and abort.
        let line = format!(
            r#"{{"index":{},"id":null,"method":"GET","url":"u"}}"#,
            u64::MAX
        );
        let (_dir, path) = file_with(format!("{line}\n").as_bytes());
        let done = scan(&path, false).expect("a record");
        assert!(done.has_position(u64::MAX) && !done.has_position(u64::MAX - 1));
        assert!(!done.has_position(0));
    }

    #[test]
    fn a_json_array_is_not_a_record() {
        let (_dir, path) = file_with(format!("{A}\n[0,null,\"GET\",\"u\"]\n").as_bytes());
        let err = scan(&path, false).expect_err("refused").to_string();
        assert!(
            err.contains("line 2") && err.contains("not a JSON object"),
            "{err}"
        );
        let done = scan(&path, true).expect("repaired");
        assert_eq!((done.records, done.dropped), (1, 1));
    }

    #[test]
    fn missing_file_is_an_empty_journal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let done = scan(&dir.path().join("none.jsonl"), false).expect("nothing to resume");
        assert_eq!(done.records, 0);
    }
}
