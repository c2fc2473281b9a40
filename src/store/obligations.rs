//! [`PendingWork`]'s obligation calls: each one statement or query of
//! [`super::obligation`] on the pending-work connection, off the async
//! runtime, or its PostgreSQL counterpart (`postgres::obligation`).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::obligation::{self, DueObligation, ObligationRow, ObligationState};
use super::pending::Engine;
use super::{PendingWork, StoreError};
use crate::runner::StepOutcome;
use crate::runner::handoff::Obligation;

impl PendingWork {
    /// Records the obligation a run leaves (committed before the run ends).
    pub async fn add_obligation(&self, ob: &Obligation) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.add_obligation(ob).await,
            Engine::Sqlite(db) => {
                let ob = ob.clone();
                (db.run("recording an obligation", move |c| {
                    obligation::insert(c, &ob)
                }))
                .await
            }
        }
    }

    /// Pending obligations due for a poll at `now`. On PostgreSQL they are
    /// claimed for this replica (see [`super::postgres`]'s `pending` docs).
    pub async fn due_obligations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueObligation>, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.due_obligations(now, limit).await,
            Engine::Sqlite(db) => {
                (db.run("listing due obligations", move |c| {
                    obligation::due(c, now, limit)
                }))
                .await
            }
        }
    }

    /// After a poll that did not pass: the next poll at `next_at`, then `pause`.
    pub async fn reschedule_obligation(
        &self,
        id: uuid::Uuid,
        last_poll: StepOutcome,
        next_at: DateTime<Utc>,
        pause: Duration,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => {
                (pg.reschedule_obligation(id, &last_poll, next_at, pause)).await
            }
            Engine::Sqlite(db) => {
                (db.run("rescheduling an obligation", move |c| {
                    obligation::reschedule(c, id, &last_poll, next_at, pause)
                }))
                .await
            }
        }
    }

    /// Finishes a pending obligation; `true` only for the call that did it.
    pub async fn finish_obligation(
        &self,
        id: uuid::Uuid,
        state: ObligationState,
        last_poll: StepOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.finish_obligation(id, state, &last_poll, now).await,
            Engine::Sqlite(db) => {
                (db.run("finishing an obligation", move |c| {
                    obligation::finish(c, id, state, &last_poll, now)
                }))
                .await
            }
        }
    }

    /// Records that a finished obligation was reported.
    pub async fn obligation_observed(&self, id: uuid::Uuid) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.obligation_observed(id).await,
            Engine::Sqlite(db) => {
                (db.run("marking an obligation reported", move |c| {
                    obligation::mark_observed(c, id)
                }))
                .await
            }
        }
    }

    /// Finished obligations not reported yet (a crash came in between).
    pub async fn unobserved_obligations(&self) -> Result<Vec<ObligationRow>, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.unobserved_obligations().await,
            Engine::Sqlite(db) => {
                (db.run("listing unreported obligations", obligation::unobserved)).await
            }
        }
    }

    /// Obligations, pending first, at most `limit`, without values (API, status page).
    pub async fn obligations(&self, limit: usize) -> Result<Vec<ObligationRow>, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.obligations(limit).await,
            Engine::Sqlite(db) => {
                (db.run("listing obligations", move |c| obligation::list(c, limit))).await
            }
        }
    }

    /// Obligations by state, and the oldest pending one per back-end (metrics).
    #[allow(clippy::type_complexity)]
    pub async fn obligation_stats(
        &self,
    ) -> Result<(Vec<(ObligationState, u64)>, Vec<(String, DateTime<Utc>)>), StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.obligation_stats().await,
            Engine::Sqlite(db) => {
                (db.run("counting obligations", |c| {
                    Ok((obligation::counts(c)?, obligation::oldest_pending(c)?))
                }))
                .await
            }
        }
    }

    /// When the earliest pending poll (this replica may take) is due.
    pub async fn next_obligation_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.next_obligation_due().await,
            Engine::Sqlite(db) => {
                (db.run("finding the next obligation poll", obligation::next_due)).await
            }
        }
    }

    /// Deletes reported obligations finished before `before`.
    pub async fn prune_obligations(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.prune_obligations(before).await,
            Engine::Sqlite(db) => {
                (db.run("pruning obligations", move |c| obligation::prune(c, before))).await
            }
        }
    }

    /// Every stored text of an obligation, joined (tests: no secret in any).
    #[cfg(test)]
    pub(crate) async fn obligation_text(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<String>, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.obligation_text(id).await,
            Engine::Sqlite(db) => {
                (db.run("reading an obligation", move |c| {
                    obligation::raw_text(c, id)
                }))
                .await
            }
        }
    }
}
