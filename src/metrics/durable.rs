//! Series of work that outlives a run: cleanups still owed and the ones given
//! up (`journeyd_cleanup_pending`, `journeyd_cleanup_abandoned_total`), and
//! obligations of durable steps (`journeyd_obligations{state}`,
//! `journeyd_obligations_finished_total{state}`,
//! `journeyd_obligation_oldest_pending_seconds{backend}`).

use super::Metrics;
use crate::runner::StepOutcome;
use crate::store::ObligationState;

impl Metrics {
    /// Sets how many cleanups are pending.
    pub fn set_cleanup_pending(&self, n: u64) {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.families.durable.cleanup_pending.set(n);
    }

    /// Counts a cleanup abandoned after the retention limit.
    pub fn cleanup_abandoned(&self, journey: &str) {
        self.families
            .durable
            .cleanup_abandoned
            .with_label_values(&[journey])
            .inc();
    }

    /// Sets the obligations by state (every state exported, 0 when none) and the
    /// age of the oldest pending one per back-end (`""` for steps without one).
    pub fn set_obligations(&self, counts: &[(ObligationState, u64)], oldest: &[(String, f64)]) {
        let d = &self.families.durable;
        for state in ObligationState::ALL {
            let n = (counts.iter().find(|(s, _)| *s == state)).map_or(0, |(_, n)| *n);
            d.obligations
                .with_label_values(&[state.as_str()])
                .set(n as f64);
        }
        // Back-ends with nothing pending lose their series.
        d.obligation_oldest.reset();
        for (backend, secs) in oldest {
            d.obligation_oldest
                .with_label_values(&[backend.as_str()])
                .set(secs.max(0.0));
        }
    }

    /// Records a finished obligation: counted by state; a fulfilment feeds the step's
    /// completion histogram; a breach or failure counts as a failure of the step
    /// (its completion histogram sees a breach at the time watched).
    pub fn obligation_finished(
        &self,
        journey: &str,
        state: ObligationState,
        outcome: &StepOutcome,
        completion_secs: f64,
    ) {
        (self.families.durable.obligations_finished)
            .with_label_values(&[state.as_str()])
            .inc();
        let mut guard = self.lock();
        let Some(series) = guard.series.get_mut(journey) else {
            return;
        };
        let Some(step) = series.step_mut(&outcome.name) else {
            return;
        };
        if state == ObligationState::Fulfilled {
            step.observe_completion(completion_secs);
        } else {
            step.record(outcome, false);
        }
    }
}
