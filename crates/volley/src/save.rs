//! Bodies saved to files ([`ClientBuilder::save_bodies`](crate::ClientBuilder::save_bodies)):
//! where each one goes.
//!
//! A body is written to its file as it arrives (see `body::read`), so it is
//! never held whole in memory and is still in the CPU's cache when it is
//! written. The file is named after the request: its id made safe for a file
//! name (with the index added when that changed it, so two ids never share
//! a file), or its index, and an extension from the response's content type.

use std::path::{Path, PathBuf};

/// The file for the body of request `index` (with `id`, if any) in `dir`.
pub(crate) fn path(
    dir: &Path,
    id: Option<&str>,
    index: u64,
    content_type: Option<&str>,
) -> PathBuf {
    dir.join(format!("{}.{}", stem(id, index), extension(content_type)))
}

fn stem(id: Option<&str>, index: u64) -> String {
    let Some(id) = id else {
        return index.to_string();
    };
    let safe: String = id
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe == id && !safe.starts_with('.') {
        safe
    } else {
        format!("{safe}-{index}")
    }
}

fn extension(content_type: Option<&str>) -> &'static str {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.as_str() {
        "application/json" => "json",
        e if e.ends_with("+json") => "json",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/csv" => "csv",
        "application/xml" | "text/xml" => "xml",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_distinct() {
        let name = |id, index, ct| {
            path(Path::new("d"), id, index, ct)
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
                .expect("a file name")
        };
        assert_eq!(
            name(Some("user-42"), 7, Some("application/json; charset=utf-8")),
            "user-42.json"
        );
        assert_eq!(name(Some("a/b"), 7, Some("text/plain")), "a_b-7.txt");
        assert_eq!(name(Some("a_b"), 8, None), "a_b.bin");
        assert_eq!(name(Some(".."), 9, None), "..-9.bin");
        assert_eq!(name(None, 3, Some("image/png")), "3.png");
        assert_eq!(name(None, 4, Some("application/problem+json")), "4.json");
    }
}
