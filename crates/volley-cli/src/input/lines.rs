//! Splitting a byte stream into lines in bounded memory.
//!
//! `BufRead::read_line` would grow its buffer to the size of the longest
//! line, so one 10 GB line without a newline would be read whole into
//! memory. [`LineReader`] instead copies at most the limit (plus one byte
//! for a `\r`) of a line, counts and drops the rest as it streams past, and
//! reports the line as [`Line::TooLong`], so the caller can write one
//! invalid record for it and carry on with the next line.
//!
//! Lines end in `\n` or `\r\n`; a last line without a newline counts, and an
//! empty input has no lines. Bytes are not decoded here: whether a line is
//! UTF-8 is the parser's question, so that it can answer with a record.

use std::io::{self, BufRead};

/// One line as read, without its line ending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The whole line, at most the limit long.
    Complete(&'a [u8]),
    /// A line over the limit: its first `limit` bytes, and its full length.
    TooLong {
        /// The start of the line, for the record's `url` field.
        prefix: &'a [u8],
        /// The length of the whole line in bytes, without its line ending.
        len: u64,
    },
}

/// Reads lines of at most `max_len` bytes from a [`BufRead`], in bounded memory.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    /// The current line, at most `max_len + 1` bytes; reused between lines
    /// so that millions of lines cost no allocation each.
    buf: Vec<u8>,
    max_len: usize,
    /// 1-based number of the line last returned; 0 before the first.
    number: u64,
    /// The line last returned took the last buffered byte: the next one
    /// needs a read of the underlying input, which may wait.
    drained: bool,
}

impl<R: BufRead> LineReader<R> {
    /// A reader of `inner` that reports lines longer than `max_len` bytes
    /// (not counting the line ending) as [`Line::TooLong`].
    pub fn new(inner: R, max_len: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::new(),
            max_len,
            number: 0,
            drained: true,
        }
    }

    /// True when the next line needs a read of the underlying input (which,
    /// on a pipe, may wait for the writer), false while bytes are buffered.
    pub fn drained(&self) -> bool {
        self.drained
    }

    /// The 1-based number of the line last returned by [`next_line`](Self::next_line).
    pub fn line_number(&self) -> u64 {
        self.number
    }

    /// The next line with its 1-based number, or `None` at the end of the input.
    ///
    /// # Errors
    ///
    /// A read error of the underlying reader (`Interrupted` is retried).
    /// The part of the line read before the error is lost.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        // One byte over the limit is kept so that a line of exactly `max_len`
        // bytes followed by `\r\n` is not mistaken for a long one: the `\r`
        // is only known to be part of the ending once the `\n` arrives.
        let keep = self.max_len.saturating_add(1);
        let mut len: u64 = 0;
        let mut last_byte = None;
        let mut saw_bytes = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if !saw_bytes {
                    return Ok(None);
                }
                break; // the last line had no newline: it still counts
            }
            saw_bytes = true;
            let (piece, consumed, ended) = match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => (&chunk[..at], at + 1, true),
                None => (chunk, chunk.len(), false),
            };
            len += piece.len() as u64;
            if let Some(&b) = piece.last() {
                last_byte = Some(b);
            }
            let room = keep.saturating_sub(self.buf.len());
            let take = &piece[..piece.len().min(room)];
            grow_within(&mut self.buf, take.len(), keep);
            self.buf.extend_from_slice(take);
            self.drained = consumed == chunk.len();
            self.inner.consume(consumed);
            if ended {
                break;
            }
        }
        self.number += 1;
        if last_byte == Some(b'\r') {
            len -= 1;
            // The `\r` is in `buf` only when the whole line fit.
            if self.buf.len() as u64 == len + 1 {
                self.buf.pop();
            }
        }
        if len > self.max_len as u64 {
            let prefix_len = self.buf.len().min(self.max_len);
            let prefix = &self.buf[..prefix_len];
            Ok(Some((self.number, Line::TooLong { prefix, len })))
        } else {
            Ok(Some((self.number, Line::Complete(&self.buf))))
        }
    }
}

/// Makes room for `extra` more bytes in `buf` without letting its capacity
/// pass `cap`: `Vec`'s own growth doubles, which could allocate up to twice
/// the limit for a long line.
fn grow_within(buf: &mut Vec<u8>, extra: usize, cap: usize) {
    let needed = buf.len() + extra;
    if needed > buf.capacity() {
        let target = needed.max(buf.capacity().saturating_mul(2)).min(cap);
        buf.reserve_exact(target.max(needed) - buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor};

    /// All lines of `input`, with a small read buffer so that lines span
    /// several `fill_buf` calls.
    fn read_all(input: &[u8], max_len: usize) -> Vec<(u64, String)> {
        let mut reader = LineReader::new(BufReader::with_capacity(3, Cursor::new(input)), max_len);
        let mut out = Vec::new();
        while let Some((number, line)) = reader.next_line().expect("in-memory read") {
            let shown = match line {
                Line::Complete(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                Line::TooLong { prefix, len } => {
                    format!("TOO LONG {len}: {}", String::from_utf8_lossy(prefix))
                }
            };
            out.push((number, shown));
        }
        out
    }

    fn numbered(lines: &[&str]) -> Vec<(u64, String)> {
        (1..).zip(lines.iter().map(|s| (*s).to_owned())).collect()
    }

    #[test]
    fn splits_on_lf_and_crlf_and_keeps_a_last_line_without_newline() {
        let cases: [(&[u8], &[&str]); 7] = [
            (b"", &[]),
            (b"\n", &[""]),
            (b"a\nb\n", &["a", "b"]),
            (b"a\r\nb\r\n", &["a", "b"]),
            (b"a\nb", &["a", "b"]),
            (b"a\r\n\r\nlast\r", &["a", "", "last"]),
            (b"x\ry\n", &["x\ry"]),
        ];
        for (input, want) in cases {
            assert_eq!(read_all(input, 100), numbered(want), "{input:?}");
        }
    }

    #[test]
    fn the_limit_counts_the_line_without_its_ending() {
        let input = b"12345\r\n123456\n12345\n123456\r\n1234567";
        assert_eq!(
            read_all(input, 5),
            numbered(&[
                "12345",
                "TOO LONG 6: 12345",
                "12345",
                "TOO LONG 6: 12345",
                "TOO LONG 7: 12345",
            ])
        );
    }

    #[test]
    fn a_huge_line_is_skipped_in_bounded_memory() {
        // FAULTS.md row 19: a 10 MB line. The buffer never grows past the
        // limit (plus the byte kept for a `\r`), and the next line is intact.
        let mut input = vec![b'x'; 10_000_000];
        input.extend_from_slice(b"\r\nnext\n");
        let max_len = 1 << 20;
        let mut reader = LineReader::new(Cursor::new(input), max_len);
        let first = reader.next_line().expect("read");
        assert!(matches!(
            first,
            Some((1, Line::TooLong { prefix, len: 10_000_000 })) if prefix.len() == max_len
        ));
        assert!(
            reader.buf.capacity() <= max_len + 1,
            "{}",
            reader.buf.capacity()
        );
        assert_eq!(
            reader.next_line().expect("read"),
            Some((2, Line::Complete(b"next")))
        );
        assert_eq!(reader.line_number(), 2);
        assert_eq!(reader.next_line().expect("read"), None);
    }
}
