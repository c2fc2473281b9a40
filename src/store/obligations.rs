//! [`PendingWork`]'s obligation calls: each one statement or query of
//! [`super::obligation`] on the pending-work connection, off the async runtime.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::obligation::{self, DueObligation, ObligationRow, ObligationState};
use super::{PendingWork, StoreError};
use crate::runner::StepOutcome;
use crate::runner::handoff::Obligation;

impl PendingWork {
    /// Records the obligation a run leaves (committed before the run ends).
    pub async fn add_obligation(&self, ob: &Obligation) -> Result<(), StoreError> {
        let ob = ob.clone();
        self.run("recording an obligation", move |c| {
            obligation::insert(c, &ob)
        })
        .await
    }

    /// Pending obligations due for a poll at `now`.
    pub async fn due_obligations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueObligation>, StoreError> {
        self.run("listing due obligations", move |c| {
            obligation::due(c, now, limit)
        })
        .await
    }

    /// After a poll that did not pass: the next poll at `next_at`, then `pause`.
    pub async fn reschedule_obligation(
        &self,
        id: uuid::Uuid,
        last_poll: StepOutcome,
        next_at: DateTime<Utc>,
        pause: Duration,
    ) -> Result<bool, StoreError> {
        self.run("rescheduling an obligation", move |c| {
            obligation::reschedule(c, id, &last_poll, next_at, pause)
        })
        .await
    }

    /// Finishes a pending obligation; `true` only for the call that did it.
    pub async fn finish_obligation(
        &self,
        id: uuid::Uuid,
        state: ObligationState,
        last_poll: StepOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.run("finishing an obligation", move |c| {
            obligation::finish(c, id, state, &last_poll, now)
        })
        .await
    }

    /// Records that a finished obligation was reported.
    pub async fn obligation_observed(&self, id: uuid::Uuid) -> Result<(), StoreError> {
        self.run("marking an obligation reported", move |c| {
            obligation::mark_observed(c, id)
        })
        .await
    }

    /// Finished obligations not reported yet (a crash came in between).
    pub async fn unobserved_obligations(&self) -> Result<Vec<ObligationRow>, StoreError> {
        self.run("listing unreported obligations", obligation::unobserved)
            .await
    }

    /// Obligations, pending first, at most `limit`, without values (API, status page).
    pub async fn obligations(&self, limit: usize) -> Result<Vec<ObligationRow>, StoreError> {
        self.run("listing obligations", move |c| obligation::list(c, limit))
            .await
    }

    /// Obligations by state, and the oldest pending one per back-end (metrics).
    #[allow(clippy::type_complexity)]
    pub async fn obligation_stats(
        &self,
    ) -> Result<(Vec<(ObligationState, u64)>, Vec<(String, DateTime<Utc>)>), StoreError> {
        self.run("counting obligations", |c| {
            Ok((obligation::counts(c)?, obligation::oldest_pending(c)?))
        })
        .await
    }

    /// When the earliest pending poll is due.
    pub async fn next_obligation_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.run("finding the next obligation poll", obligation::next_due)
            .await
    }

    /// Deletes reported obligations finished before `before`.
    pub async fn prune_obligations(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.run("pruning obligations", move |c| obligation::prune(c, before))
            .await
    }

    /// Every stored text of an obligation, joined (tests: no secret in any).
    #[cfg(test)]
    pub(crate) async fn obligation_text(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<String>, StoreError> {
        self.run("reading an obligation", move |c| {
            obligation::raw_text(c, id)
        })
        .await
    }
}
