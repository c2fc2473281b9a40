//! Which journeys a retention pass checks against `max_runs_per_journey`, for
//! both back-ends.
//!
//! Checking a journey's cap walks its newest `max_runs_per_journey` index
//! entries: 1.2 ms for a journey at the default 10,000 runs, even when nothing
//! is deleted (measured on SQLite). Checking every journey at every pass would
//! take a 10,000-journey daemon with full histories longer than the time
//! between passes (worked out from that figure, not measured); checking each
//! journey written since the last pass still cost one walk per run. So a
//! journey is checked once it has had a hundredth of its cap written since its
//! last check (at least one run): a walk of `cap` entries per `cap / 100` runs,
//! about 100 entries per run, and at most 1 % more runs than the cap in the
//! history between two checks. A full pass (start-up, reopen, `prune_now`)
//! checks every journey.

use std::collections::HashMap;

/// Runs written per journey since its cap was last checked.
#[derive(Debug, Default)]
pub(super) struct CapChecks {
    written: HashMap<String, u32>,
}

impl CapChecks {
    /// Notes one run of `journey` written.
    pub(super) fn written(&mut self, journey: &str) {
        match self.written.get_mut(journey) {
            Some(n) => *n = n.saturating_add(1),
            None => {
                self.written.insert(journey.to_owned(), 1);
            }
        }
    }

    /// The journeys due for a check under a cap of `cap` runs, which count as
    /// checked from now on.
    pub(super) fn due(&mut self, cap: usize) -> Vec<String> {
        let every = every(cap);
        let due: Vec<String> = self
            .written
            .iter()
            .filter(|(_, n)| **n >= every)
            .map(|(journey, _)| journey.clone())
            .collect();
        for journey in &due {
            self.written.remove(journey);
        }
        due
    }

    /// A full pass checks every journey: nothing is owed any more.
    pub(super) fn all_checked(&mut self) {
        self.written.clear();
    }

    /// A pass that failed checked nothing: `journeys` are due again.
    pub(super) fn unchecked(&mut self, journeys: Vec<String>, cap: usize) {
        let every = every(cap);
        for journey in journeys {
            let n = self.written.entry(journey).or_default();
            *n = (*n).max(every);
        }
    }
}

/// Runs written after which a journey's cap is due: a hundredth of it, at least one.
fn every(cap: usize) -> u32 {
    u32::try_from((cap / 100).max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::CapChecks;

    #[test]
    fn a_journey_is_due_after_a_hundredth_of_its_cap_and_at_least_one_run() {
        let mut checks = CapChecks::default();
        checks.written("purchase");
        assert_eq!(checks.due(100), ["purchase"], "cap 100: every run");
        assert!(checks.due(100).is_empty(), "checked: nothing written since");

        for _ in 0..99 {
            checks.written("contract");
        }
        assert!(checks.due(10_000).is_empty(), "99 of 100");
        checks.written("contract");
        assert_eq!(checks.due(10_000), ["contract"]);
        assert!(checks.due(10_000).is_empty());
    }

    #[test]
    fn a_failed_pass_leaves_its_journeys_due_and_a_full_pass_clears_all() {
        let mut checks = CapChecks::default();
        checks.written("purchase");
        let due = checks.due(1);
        checks.unchecked(due, 10_000);
        assert_eq!(checks.due(10_000), ["purchase"]);
        checks.written("contract");
        checks.all_checked();
        assert!(checks.due(1).is_empty());
    }
}
