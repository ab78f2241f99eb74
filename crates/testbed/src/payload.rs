//! Deterministic response bodies: the JSON object of `/json/{n}`, the text
//! line of `/text/{n}`, the binary pattern of `/bytes` and `/big`, and the
//! ~2 KB document that `/encoded/{enc}` compresses.
//!
//! Everything is a pure function of its input, so a test can recompute what
//! the server sent and compare byte for byte.

use std::sync::OnceLock;

use bytes::Bytes;

/// Size of the binary pattern block, and of each write when streaming it.
pub(crate) const BLOCK: usize = 64 * 1024;

/// The byte at offset `i` of every binary body.
///
/// Offset 0 is `0xFF`, which never occurs in UTF-8, so even a one-byte body
/// is not valid text. The sequence repeats every 256 bytes, which divides
/// the 64 KiB block streamed by `/big`, so every body is the same sequence:
/// byte `i` of any `/bytes`, `/big`, `/big-chunked` or `/trickle` body is
/// `pattern_byte(i)`.
pub fn pattern_byte(i: u64) -> u8 {
    // Truncation to the low byte is the point: the pattern has period 256.
    (i as u8).wrapping_mul(167).wrapping_add(0xFF)
}

/// One [`BLOCK`] of the pattern, built once per process.
pub(crate) fn block() -> &'static Bytes {
    static BLOCK_BYTES: OnceLock<Bytes> = OnceLock::new();
    BLOCK_BYTES.get_or_init(|| (0..BLOCK as u64).map(pattern_byte).collect())
}

/// FNV-1a, to derive stable pseudo-random fields from an id.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `n` as a JSON value: a number when it is a canonical non-negative integer
/// (`"42"` → `42`), else a string (`"abc"` → `"abc"`, `"007"` → `"007"`).
fn id_json(n: &str) -> String {
    match n.parse::<u64>() {
        Ok(v) if v.to_string() == n => v.to_string(),
        _ => serde_json::Value::from(n).to_string(),
    }
}

/// The `/json/{n}` body: a ~200-byte object containing `"id": n`.
pub fn json_item(n: &str) -> String {
    let h = fnv(n);
    let name = serde_json::Value::from(format!("item {n}"));
    let login = ["ada", "grace", "linus", "barbara", "ken", "margaret"][(h % 6) as usize];
    format!(
        concat!(
            r#"{{"id": {id}, "name": {name}, "active": {active}, "score": {score}.{tenth}, "#,
            r#""email": "{login}@example.com", "tags": ["api", "sample"], "#,
            r#""owner": {{"login": "{login}", "id": {owner}}}, "#,
            r#""created_at": "2024-{month:02}-{day:02}T12:{minute:02}:00Z"}}"#
        ),
        id = id_json(n),
        name = name,
        active = h % 3 != 0,
        score = (h >> 8) % 100,
        tenth = (h >> 16) % 10,
        login = login,
        owner = (h >> 24) % 10_000,
        month = (h >> 32) % 12 + 1,
        day = (h >> 40) % 28 + 1,
        minute = (h >> 48) % 60,
    )
}

/// The `/text/{n}` body: one line mentioning `n`.
pub fn text_line(n: &str) -> String {
    format!("text {n}: the quick brown fox jumps over the lazy dog\n")
}

/// The document behind `/encoded/{enc}`: a ~2 KB JSON array of items.
pub fn encoded_document() -> String {
    let items: Vec<String> = (1..=10).map(|i| json_item(&i.to_string())).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_item_is_valid_and_carries_the_id() {
        for (n, id) in [
            ("42", serde_json::json!(42)),
            ("abc", serde_json::json!("abc")),
            ("007", serde_json::json!("007")),
            ("a\"b", serde_json::json!("a\"b")),
        ] {
            let body = json_item(n);
            let v: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
            assert_eq!(v["id"], id);
            assert!((150..300).contains(&body.len()), "{} bytes", body.len());
        }
        assert!(json_item("42").contains(r#""id": 42"#));
    }

    #[test]
    fn binary_pattern_is_not_utf8_and_repeats_per_block() {
        assert!(std::str::from_utf8(&block()[..1]).is_err());
        assert!(std::str::from_utf8(block()).is_err());
        assert_eq!(block()[0], pattern_byte(BLOCK as u64));
    }

    #[test]
    fn encoded_document_is_about_two_kilobytes_of_json() {
        let doc = encoded_document();
        assert!((1500..3000).contains(&doc.len()), "{} bytes", doc.len());
        let v: serde_json::Value = serde_json::from_str(&doc).expect("valid JSON");
        assert_eq!(v.as_array().map(Vec::len), Some(10));
    }
}
