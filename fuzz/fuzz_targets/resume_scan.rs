//! Any bytes as an output file to `--resume`: `resume::scan` must not
//! panic; without repair it either keeps the whole lines (cutting only a
//! torn tail) or refuses and leaves the file as it was; with repair it
//! leaves only records.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use volley_cli::resume;

/// A JSON object with the fields resume identifies a request by.
fn is_record(line: &[u8]) -> bool {
    let Ok(Value::Object(record)) = serde_json::from_slice::<Value>(line) else {
        return false;
    };
    record.get("index").is_some_and(Value::is_u64)
        && record.get("id").is_none_or(|id| id.is_null() || id.is_string())
        && record.get("method").is_some_and(Value::is_string)
        && record.get("url").is_some_and(Value::is_string)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let repair = flags & 1 == 1;
    // One file per fuzzing process, rewritten for every input.
    let path = std::env::temp_dir().join(format!("volley-fuzz-scan-{}.jsonl", std::process::id()));
    std::fs::write(&path, bytes).expect("write the scratch file");
    let scanned = resume::scan(&path, repair);
    let after = std::fs::read(&path).expect("read the scratch file");
    let whole = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(&bytes[..0], |at| &bytes[..=at]);
    match scanned {
        Err(_) => {
            assert!(!repair, "--repair failed");
            assert_eq!(after, bytes, "a refused resume changed the file");
        }
        Ok(done) => {
            let lines = after.split_inclusive(|b| *b == b'\n').count() as u64;
            assert_eq!(done.records, lines);
            assert!(after.is_empty() || after.ends_with(b"\n"), "a torn tail was kept");
            if !repair {
                assert_eq!(after, whole, "only the torn tail is cut");
            }
            for line in after.split_inclusive(|b| *b == b'\n') {
                assert!(is_record(line), "not a record: {:?}", String::from_utf8_lossy(line));
            }
        }
    }
    let _ = std::fs::remove_file(&path);
});
