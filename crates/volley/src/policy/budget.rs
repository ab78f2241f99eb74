//! The per-host retry budget: retries may add at most ~20% to a host's load.
//!
//! Every first attempt deposits 0.2 of a retry; every retry withdraws one.
//! The balance starts at a small floor (so a handful of early failures are
//! retried) and is capped (so a long healthy spell cannot save up a retry
//! storm). When the balance is spent, failures are final at once. This is
//! the "retry budget" of Finagle and gRPC, and what keeps a host that only
//! answers 503 from being hit four times per request.

/// A host's retry budget, counted in fifths of a retry so that the
/// arithmetic is exact.
#[derive(Clone, Debug)]
pub(crate) struct RetryBudget {
    fifths: u32,
}

/// One retry costs five fifths; each first attempt deposits one (20%).
const RETRY: u32 = 5;
/// Retries allowed before any deposit: 10.
const FLOOR: u32 = 10 * RETRY;
/// The most retries that can be saved up: 50.
const CAP: u32 = 50 * RETRY;

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget { fifths: FLOOR }
    }
}

impl RetryBudget {
    /// A first attempt was made.
    pub(crate) fn deposit(&mut self) {
        self.fifths = (self.fifths + 1).min(CAP);
    }

    /// Asks for one retry; `false` means the budget is spent.
    pub(crate) fn withdraw(&mut self) -> bool {
        match self.fifths.checked_sub(RETRY) {
            Some(left) => {
                self.fifths = left;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stay_near_a_fifth_of_first_attempts() {
        let mut budget = RetryBudget::default();
        let mut retries = 0;
        for _ in 0..1_000 {
            budget.deposit();
            // A host that always fails: every request asks for 3 retries.
            for _ in 0..3 {
                retries += u32::from(budget.withdraw());
            }
        }
        assert_eq!(retries, 210, "floor 10 + 20% of 1000");
    }

    #[test]
    fn savings_are_capped() {
        let mut budget = RetryBudget::default();
        for _ in 0..100_000 {
            budget.deposit();
        }
        let burst = (0..1_000).filter(|_| budget.withdraw()).count();
        assert_eq!(burst, 50);
    }
}
