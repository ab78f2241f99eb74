//! Any bytes as an input file: split into lines in bounded memory, each
//! line parsed into a request spec or an `invalid_request` record. Nothing
//! may panic, and every request line gets the next index.

#![no_main]

use std::io::{BufReader, Cursor};

use libfuzzer_sys::fuzz_target;
use volley_cli::input::lines::LineReader;
use volley_cli::input::{Defaults, Item, LineParser, Location};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the line-length limit and the read buffer size,
    // so that long lines and lines split across reads are both reached.
    let Some((&knob, bytes)) = data.split_first() else {
        return;
    };
    let max_len = usize::from(knob) * 4;
    let read_buffer = usize::from(knob % 16) + 1;
    let mut reader = LineReader::new(
        BufReader::with_capacity(read_buffer, Cursor::new(bytes)),
        max_len,
    );
    let mut parser = LineParser::new(Defaults::default(), max_len);
    let mut next_index = 0;
    while let Ok(Some((number, line))) = reader.next_line() {
        let at = Location {
            source: "fuzz",
            line: number,
        };
        if let Some(item) = parser.parse(at, line) {
            assert_eq!(item.index(), next_index, "request lines are numbered in order");
            next_index += 1;
            if let Item::Spec(spec) = &item {
                assert!(spec.validate().is_ok(), "a spec the engine refuses: {spec:?}");
            }
        }
    }
});
