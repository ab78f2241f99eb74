//! The ids seen so far in one run's input, so that a repeated id becomes an
//! invalid record rather than two records that resume could not tell apart.
//! Shared by the line parser and the template rows.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Hashes of the ids seen so far. 8 bytes an id (plus the table's overhead)
/// whatever the ids' length, so millions of ids stay small. Two different
/// ids share a 64-bit hash with a chance of about n²/2⁶⁵: one in 30 million
/// for a million ids, which would make one line wrongly "duplicate" — an
/// accepted price for bounded memory.
#[derive(Debug, Default)]
pub struct SeenIds(HashSet<u64>);

impl SeenIds {
    /// Records `id` as used; false when it was used before.
    pub fn first_use(&mut self, id: &str) -> bool {
        // `DefaultHasher::new()` has fixed keys, so the hash is the same for
        // the whole run (and across runs, though nothing relies on that).
        let mut hasher = DefaultHasher::new();
        id.hash(&mut hasher);
        self.0.insert(hasher.finish())
    }

    /// The message of the record for a repeated `id`.
    pub fn duplicate_message(id: &str) -> String {
        format!("duplicate id {id:?}: an id may appear only once in the input")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_new_once() {
        let mut seen = SeenIds::default();
        assert!(seen.first_use("a"));
        assert!(seen.first_use("b"));
        assert!(!seen.first_use("a"));
        assert!(seen.first_use(""));
        assert!(!seen.first_use(""));
    }
}
