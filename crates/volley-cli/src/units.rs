//! Human units on the command line: durations (`500ms`, `1.5s`, `2m`) and
//! sizes (`16MiB`, `1MB`, `512k`).
//!
//! Both functions have the shape clap wants for a `value_parser`
//! (`fn(&str) -> Result<T, String>`), so a bad value is refused while the
//! arguments are parsed, with exit status 2 and before any request is sent.
//! They only read the text: whether zero makes sense for a given flag (a
//! zero timeout, a zero body cap) is for the configuration to decide.

use std::time::Duration;

/// Parses a duration: a number with a unit (`500ms`, `30s`, `2m`, `1h`,
/// `1.5s`, `1h30m`), or a bare number meaning seconds (`10`, `0.25`).
///
/// Units are those of the `humantime` crate: `ns`, `us`, `ms`, `s`, `m` or
/// `min`, `h`, `d` and their long forms. Note that `m` is minutes.
///
/// # Errors
///
/// A message naming the value and showing the accepted forms, for an empty,
/// negative or unreadable value, or one too large to represent.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty duration: expected e.g. 500ms, 30s, 2m or 1h".to_owned());
    }
    if text.starts_with('-') {
        return Err(format!("invalid duration {s:?}: must not be negative"));
    }
    // A bare number is seconds. Checking the characters ourselves (rather
    // than asking `f64::from_str`) keeps out `inf`, `NaN` and `1e3`.
    let is_bare_number = text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().any(|b| b.is_ascii_digit());
    let parsed = if is_bare_number {
        humantime::parse_duration(&format!("{text}s"))
    } else {
        humantime::parse_duration(text)
    };
    parsed.map_err(|e| {
        format!("invalid duration {s:?} ({e}): expected a number with a unit, e.g. 500ms, 30s, 1.5s, 2m or 1h")
    })
}

/// Parses a size in bytes: a number with an optional unit, case-insensitive,
/// with or without a space between them.
///
/// Decimal units count in powers of 1000 and binary units in powers of 1024,
/// as the SI and IEC standards say, and as `curl` and `dd` disagree about:
///
/// | unit | bytes |
/// |---|---|
/// | none, `b` | 1 |
/// | `k`, `kb` | 1000 |
/// | `ki`, `kib` | 1024 |
/// | `m`, `mb` / `mi`, `mib` | 1000² / 1024² |
/// | `g`, `gb` / `gi`, `gib` | 1000³ / 1024³ |
/// | `t`, `tb` / `ti`, `tib` | 1000⁴ / 1024⁴ |
///
/// A fraction is allowed when the result is a whole number of bytes
/// (`1.5KiB` = 1536, `0.5MB` = 500000; `1.5b` is refused).
///
/// # Errors
///
/// A message naming the value, for an empty, negative or unreadable value,
/// an unknown unit, a fraction of a byte, or a size over `u64::MAX`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty size: expected e.g. 100, 512KiB, 16MiB or 1GB".to_owned());
    }
    if text.starts_with('-') {
        return Err(format!("invalid size {s:?}: must not be negative"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_bytes = unit_bytes(unit.trim()).ok_or_else(|| {
        format!(
            "invalid size {s:?}: unknown unit {:?} (use b, k, KiB, MB, MiB, GB, GiB, TB or TiB)",
            unit.trim()
        )
    })?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(format!(
            "invalid size {s:?}: expected a number with an optional unit, e.g. 100, 512KiB, 16MiB or 1GB"
        ));
    }
    let too_large = || {
        format!(
            "invalid size {s:?}: too large (the maximum is {} bytes)",
            u64::MAX
        )
    };

    // Exact integer arithmetic in u128: `1.1GB` is exactly 1_100_000_000
    // bytes, which an f64 product would only approximate. 0.1 is 1/10, so
    // the fraction's digits are scaled by the unit and divided by 10^digits.
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let mut bytes = whole.checked_mul(unit_bytes).ok_or_else(too_large)?;
    if !fraction.is_empty() {
        // More than 30 fraction digits cannot matter for a u64 and would
        // overflow 10^digits; they must be zeros to give whole bytes anyway.
        let significant = fraction.trim_end_matches('0');
        if significant.len() > 30 {
            return Err(format!("invalid size {s:?}: not a whole number of bytes"));
        }
        let numerator: u128 = if significant.is_empty() {
            0
        } else {
            significant.parse().map_err(|_| too_large())?
        };
        // At most 30 digits (checked above), so the cast cannot truncate.
        let denominator = 10u128.pow(significant.len() as u32);
        let scaled = numerator.checked_mul(unit_bytes).ok_or_else(too_large)?;
        if scaled % denominator != 0 {
            return Err(format!("invalid size {s:?}: not a whole number of bytes"));
        }
        bytes = bytes
            .checked_add(scaled / denominator)
            .ok_or_else(too_large)?;
    }
    u64::try_from(bytes).map_err(|_| too_large())
}

/// How many bytes one `unit` is, or `None` for an unknown unit.
fn unit_bytes(unit: &str) -> Option<u128> {
    let (power, binary) = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => (0, false),
        "k" | "kb" => (1, false),
        "ki" | "kib" => (1, true),
        "m" | "mb" => (2, false),
        "mi" | "mib" => (2, true),
        "g" | "gb" => (3, false),
        "gi" | "gib" => (3, true),
        "t" | "tb" => (4, false),
        "ti" | "tib" => (4, true),
        _ => return None,
    };
    let base: u128 = if binary { 1024 } else { 1000 };
    Some(base.pow(power))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_that_parse() {
        let cases = [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1.5s", Duration::from_millis(1500)),
            ("1h30m", Duration::from_secs(5400)),
            ("2min", Duration::from_secs(120)),
            ("250us", Duration::from_micros(250)),
            ("10", Duration::from_secs(10)),
            ("0.25", Duration::from_millis(250)),
            (" 5s ", Duration::from_secs(5)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn durations_that_are_refused() {
        let cases = [
            ("", "empty duration: expected e.g. 500ms, 30s, 2m or 1h"),
            ("  ", "empty duration: expected e.g. 500ms, 30s, 2m or 1h"),
            ("-1s", "invalid duration \"-1s\": must not be negative"),
            ("-5", "invalid duration \"-5\": must not be negative"),
            (
                "abc",
                "invalid duration \"abc\" (expected number at 0): expected a number with a unit, e.g. 500ms, 30s, 1.5s, 2m or 1h",
            ),
            ("inf", "invalid duration \"inf\""),
            ("1e3", "invalid duration \"1e3\""),
            ("5 parsecs", "invalid duration \"5 parsecs\""),
            ("1.", "invalid duration \"1.\""),
            ("99999999999999999999h", "invalid duration"),
        ];
        for (text, want) in cases {
            let err = parse_duration(text).expect_err(text);
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn sizes_that_parse() {
        let cases = [
            ("100", 100),
            ("100b", 100),
            ("0", 0),
            ("1k", 1000),
            ("1K", 1000),
            ("1kb", 1000),
            ("1Ki", 1024),
            ("512KiB", 512 * 1024),
            ("512kib", 512 * 1024),
            ("1MB", 1_000_000),
            ("16MiB", 16 << 20),
            ("16 MiB", 16 << 20),
            ("1GiB", 1 << 30),
            ("1gb", 1_000_000_000),
            ("2TiB", 2 << 40),
            ("1.5KiB", 1536),
            ("0.5MB", 500_000),
            (".5k", 500),
            ("1.1GB", 1_100_000_000),
            ("1.000b", 1),
            ("18446744073709551615", u64::MAX),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn sizes_that_are_refused() {
        let cases = [
            ("", "empty size: expected e.g. 100, 512KiB, 16MiB or 1GB"),
            ("-1MB", "invalid size \"-1MB\": must not be negative"),
            (
                "abc",
                "invalid size \"abc\": unknown unit \"abc\" (use b, k, KiB, MB, MiB, GB, GiB, TB or TiB)",
            ),
            (
                "16MiBs",
                "invalid size \"16MiBs\": unknown unit \"MiBs\" (use b, k, KiB, MB, MiB, GB, GiB, TB or TiB)",
            ),
            (
                "MiB",
                "invalid size \"MiB\": expected a number with an optional unit, e.g. 100, 512KiB, 16MiB or 1GB",
            ),
            (
                "1.2.3k",
                "invalid size \"1.2.3k\": expected a number with an optional unit, e.g. 100, 512KiB, 16MiB or 1GB",
            ),
            ("1.5b", "invalid size \"1.5b\": not a whole number of bytes"),
            (
                "18446744073709551616",
                "invalid size \"18446744073709551616\": too large (the maximum is 18446744073709551615 bytes)",
            ),
            (
                "17000000TiB",
                "invalid size \"17000000TiB\": too large (the maximum is 18446744073709551615 bytes)",
            ),
            (
                "99999999999999999999999999999999999999999",
                "invalid size \"99999999999999999999999999999999999999999\": too large (the maximum is 18446744073709551615 bytes)",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text), Err(want.to_owned()), "{text:?}");
        }
    }
}
