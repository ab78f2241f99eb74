//! `StatusPolicy`: which HTTP statuses a run counts as failures.
//!
//! A response with such a status is recorded with `ok: false` and an
//! `http_status` error; any other response is `ok: true`.

use std::ops::RangeInclusive;

/// The set of statuses counted as failures. Default: 400–599.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusPolicy {
    failing: Vec<RangeInclusive<u16>>,
}

impl Default for StatusPolicy {
    fn default() -> Self {
        StatusPolicy {
            failing: vec![400..=599],
        }
    }
}

impl StatusPolicy {
    /// No status is a failure: every response is `ok`.
    pub fn none() -> Self {
        StatusPolicy {
            failing: Vec::new(),
        }
    }

    /// Counts the statuses in `range` as failures too.
    #[must_use]
    pub fn with(mut self, range: RangeInclusive<u16>) -> Self {
        self.failing.push(range);
        self
    }

    /// True when `status` is a failure under this policy.
    pub fn is_failure(&self, status: u16) -> bool {
        self.failing.iter().any(|r| r.contains(&status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fails_4xx_and_5xx_only() {
        let p = StatusPolicy::default();
        assert!(!p.is_failure(200) && !p.is_failure(304) && !p.is_failure(399));
        assert!(p.is_failure(400) && p.is_failure(404) && p.is_failure(599));
    }

    #[test]
    fn custom_sets() {
        let p = StatusPolicy::none().with(500..=599).with(404..=404);
        assert!(p.is_failure(404) && p.is_failure(503));
        assert!(!p.is_failure(403));
        assert!(!StatusPolicy::none().is_failure(500));
    }
}
