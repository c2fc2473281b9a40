//! The `obligations` table on PostgreSQL: the statements of
//! [`crate::store::obligation`], per location, with claims (see
//! [`super::pending`]). Finishing stays one `UPDATE ... WHERE state =
//! 'pending'`, so of two replicas (or a replica racing its own restart)
//! exactly one finishes a row and reports it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::pending::{
    PgPending, claimable, dead, from_json, leased_by_me_or_nobody, to_json, uuid,
};
use crate::runner::StepOutcome;
use crate::runner::handoff::Obligation;
use crate::store::cleanup::{ms, time};
use crate::store::obligation::{
    DueObligation, ObligationRow, ObligationState, duration, millis, next_poll,
};
use crate::store::{BoxError, StoreError};

type R<T> = Result<T, BoxError>;

const ROW: &str = "SELECT id, run_id, journey, step, backend, created_at, deadline_at,
    next_poll_at, polls, state, finished_at, first_poll_json, last_poll_json FROM obligations";

fn row(r: &Row) -> R<ObligationRow> {
    let last: Option<String> = r.try_get(12)?;
    Ok(ObligationRow {
        id: uuid(r.try_get(0)?)?,
        run_id: uuid(r.try_get(1)?)?,
        journey: r.try_get(2)?,
        step: r.try_get(3)?,
        backend: r.try_get(4)?,
        created_at: time(r.try_get(5)?),
        deadline: time(r.try_get(6)?),
        next_poll_at: time(r.try_get(7)?),
        polls: u32::try_from(r.try_get::<_, i32>(8)?).unwrap_or(0),
        state: ObligationState::parse(r.try_get(9)?),
        finished_at: r.try_get::<_, Option<i64>>(10)?.map(time),
        first_poll: from_json(r.try_get(11)?)?,
        last_poll: last.map(|l| from_json(&l)).transpose()?,
    })
}

fn due_row(r: &Row) -> R<(i64, DueObligation)> {
    let due = DueObligation {
        obligation: Obligation {
            id: uuid(r.try_get(0)?)?,
            run_id: uuid(r.try_get(1)?)?,
            journey: r.try_get(2)?,
            step: r.try_get(3)?,
            backend: r.try_get(4)?,
            values: from_json(r.try_get(5)?)?,
            refresh: from_json(r.try_get(6)?)?,
            created_at: time(r.try_get(7)?),
            deadline: time(r.try_get(8)?),
            every: duration(r.try_get(9)?),
            backoff: r.try_get(10)?,
            max_every: duration(r.try_get(11)?),
            first_poll: from_json(r.try_get(14)?)?,
        },
        pause: duration(r.try_get(12)?),
        polls: u32::try_from(r.try_get::<_, i32>(13)?).unwrap_or(0),
    };
    Ok((r.try_get(15)?, due))
}

impl PgPending {
    /// Records the obligation a run leaves.
    pub async fn add_obligation(&self, ob: &Obligation) -> Result<(), StoreError> {
        self.timed("recording an obligation", async {
            let next = next_poll(ob.created_at, ob.every, ob.deadline);
            let c = self.client().await?;
            c.execute(
                "INSERT INTO obligations (location, id, run_id, journey, step, backend,
                   values_json, refresh_json, created_at, deadline_at, every_ms, backoff,
                   max_every_ms, pause_ms, next_poll_at, first_poll_json)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $11, $14, $15)",
                &[
                    &self.ctx.location,
                    &ob.id.to_string(),
                    &ob.run_id.to_string(),
                    &ob.journey,
                    &ob.step,
                    &ob.backend,
                    &to_json(&ob.values)?,
                    &to_json(&ob.refresh)?,
                    &ms(ob.created_at),
                    &ms(ob.deadline),
                    &millis(ob.every),
                    &ob.backoff,
                    &millis(ob.max_every),
                    &ms(next),
                    &to_json(&ob.first_poll)?,
                ],
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// Claims the pending obligations due at `now` (see [`super::pending`]).
    pub async fn due_obligations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueObligation>, StoreError> {
        let sql = format!(
            "UPDATE obligations o SET claimed_by = $3,
               claimed_until = now() + make_interval(secs => $4::float8)
             WHERE o.location = $1 AND o.id IN (
               SELECT p.id FROM obligations p
               WHERE p.location = $1 AND p.state = 'pending' AND p.next_poll_at <= $2
                 AND {claimable}
               ORDER BY p.next_poll_at LIMIT $5
               FOR UPDATE SKIP LOCKED)
             RETURNING o.id, o.run_id, o.journey, o.step, o.backend, o.values_json,
               o.refresh_json, o.created_at, o.deadline_at, o.every_ms, o.backoff,
               o.max_every_ms, o.pause_ms, o.polls, o.first_poll_json, o.next_poll_at",
            claimable = claimable("p", "$3"),
        );
        let x = &self.ctx;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.timed("listing due obligations", async {
            let c = self.client().await?;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                [&x.location, &ms(now), &x.replica, &x.claim, &limit];
            let rows = c.query(&sql, &params).await?;
            let mut due = rows.iter().map(due_row).collect::<R<Vec<_>>>()?;
            due.sort_by_key(|(at, _)| *at);
            Ok(due.into_iter().map(|(_, d)| d).collect())
        })
        .await
    }

    /// After a poll that did not pass: the next one at `next_at`; the claim ends.
    pub async fn reschedule_obligation(
        &self,
        id: uuid::Uuid,
        last_poll: &StepOutcome,
        next_at: DateTime<Utc>,
        pause: Duration,
    ) -> Result<bool, StoreError> {
        self.timed("rescheduling an obligation", async {
            let c = self.client().await?;
            let n = c
                .execute(
                    "UPDATE obligations SET polls = polls + 1, last_poll_json = $3,
                       next_poll_at = $4, pause_ms = $5, claimed_by = NULL, claimed_until = NULL
                     WHERE location = $1 AND id = $2 AND state = 'pending'",
                    &[
                        &self.ctx.location,
                        &id.to_string(),
                        &to_json(last_poll)?,
                        &ms(next_at),
                        &millis(pause),
                    ],
                )
                .await?;
            Ok(n > 0)
        })
        .await
    }

    /// Finishes a pending row; `true` only for the call that did it. The run's
    /// held cleanup becomes owed as of `now` in the same transaction.
    pub async fn finish_obligation(
        &self,
        id: uuid::Uuid,
        state: ObligationState,
        last_poll: &StepOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let x = &self.ctx;
        self.timed("finishing an obligation", async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let id = id.to_string();
            let n = tx
                .execute(
                    "UPDATE obligations SET state = $3, finished_at = $4, last_poll_json = $5,
                       polls = polls + 1, values_json = '{}', refresh_json = '[]',
                       finished_by = $6, claimed_by = NULL, claimed_until = NULL
                     WHERE location = $1 AND id = $2 AND state = 'pending'",
                    &[
                        &x.location,
                        &id,
                        &state.as_str(),
                        &ms(now),
                        &to_json(last_poll)?,
                        &x.replica,
                    ],
                )
                .await?;
            if n > 0 {
                tx.execute(
                    "UPDATE pending_cleanup SET created_at = $3, next_attempt_at = 0
                     WHERE location = $1 AND run_id =
                       (SELECT run_id FROM obligations WHERE location = $1 AND id = $2)",
                    &[&x.location, &id, &ms(now)],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        })
        .await
    }

    /// Records that a finished row was reported.
    pub async fn obligation_observed(&self, id: uuid::Uuid) -> Result<(), StoreError> {
        self.timed("marking an obligation reported", async {
            let c = self.client().await?;
            let sql = "UPDATE obligations SET observed = true WHERE location = $1 AND id = $2";
            c.execute(sql, &[&self.ctx.location, &id.to_string()])
                .await?;
            Ok(())
        })
        .await
    }

    /// Finished rows not reported yet: all of the location without a fleet;
    /// in a fleet those this replica id or a dead replica finished.
    pub async fn unobserved_obligations(&self) -> Result<Vec<ObligationRow>, StoreError> {
        let sql = format!(
            "{ROW} WHERE location = $1 AND state <> 'pending' AND NOT observed
               AND ($3::float8 IS NULL OR finished_by = $2 OR {dead})
             ORDER BY finished_at",
            dead = dead("finished_by", "$1", "$3"),
        );
        let x = &self.ctx;
        self.timed("listing unreported obligations", async {
            let c = self.client().await?;
            let rows = c.query(&sql, &[&x.location, &x.replica, &x.ttl]).await?;
            rows.iter().map(row).collect()
        })
        .await
    }

    /// Obligations of the location, pending first, at most `limit`, without values.
    pub async fn obligations(&self, limit: usize) -> Result<Vec<ObligationRow>, StoreError> {
        let sql = format!(
            "{ROW} WHERE location = $1
             ORDER BY state <> 'pending', coalesce(finished_at, created_at) DESC LIMIT $2"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.timed("listing obligations", async {
            let c = self.client().await?;
            let rows = c.query(&sql, &[&self.ctx.location, &limit]).await?;
            rows.iter().map(row).collect()
        })
        .await
    }

    /// Obligations of the location by state, and the oldest pending one per back-end.
    #[allow(clippy::type_complexity)]
    pub async fn obligation_stats(
        &self,
    ) -> Result<(Vec<(ObligationState, u64)>, Vec<(String, DateTime<Utc>)>), StoreError> {
        self.timed("counting obligations", async {
            let c = self.client().await?;
            let loc = &self.ctx.location;
            let counts = c
                .query(
                    "SELECT state, count(*) FROM obligations WHERE location = $1 GROUP BY state",
                    &[loc],
                )
                .await?;
            let counts = (counts.iter())
                .map(|r| {
                    let n: i64 = r.try_get(1)?;
                    Ok((
                        ObligationState::parse(r.try_get(0)?),
                        u64::try_from(n).unwrap_or(0),
                    ))
                })
                .collect::<R<Vec<_>>>()?;
            let oldest = c
                .query(
                    "SELECT coalesce(backend, ''), min(created_at) FROM obligations
                     WHERE location = $1 AND state = 'pending' GROUP BY 1",
                    &[loc],
                )
                .await?;
            let oldest = (oldest.iter())
                .map(|r| Ok((r.try_get(0)?, time(r.try_get(1)?))))
                .collect::<R<Vec<_>>>()?;
            Ok((counts, oldest))
        })
        .await
    }

    /// When the earliest poll this replica may claim is due: a claimed row
    /// counts from when its claim expires, and rows of journeys another
    /// replica holds not at all, so a pass never spins on rows it cannot take.
    pub async fn next_obligation_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let sql = format!(
            "SELECT min(CASE WHEN p.claimed_until > now() THEN greatest(p.next_poll_at,
                 (extract(epoch FROM p.claimed_until) * 1000)::bigint)
               ELSE p.next_poll_at END)
             FROM obligations p
             WHERE p.location = $1 AND p.state = 'pending' AND {mine}",
            mine = leased_by_me_or_nobody("p", "$2"),
        );
        self.timed("finding the next obligation poll", async {
            let c = self.client().await?;
            let row = (c.query_one(&sql, &[&self.ctx.location, &self.ctx.replica])).await?;
            Ok(row.try_get::<_, Option<i64>>(0)?.map(time))
        })
        .await
    }

    /// Deletes reported rows of the location finished before `before`.
    pub async fn prune_obligations(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.timed("pruning obligations", async {
            let c = self.client().await?;
            let n = c
                .execute(
                    "DELETE FROM obligations WHERE location = $1 AND state <> 'pending'
                       AND observed AND finished_at < $2",
                    &[&self.ctx.location, &ms(before)],
                )
                .await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
        .await
    }

    /// Every stored text of an obligation, joined (tests).
    #[cfg(test)]
    pub async fn obligation_text(&self, id: uuid::Uuid) -> Result<Option<String>, StoreError> {
        self.timed("reading an obligation", async {
            let c = self.client().await?;
            let row = c
                .query_opt(
                    "SELECT values_json || refresh_json || first_poll_json
                       || coalesce(last_poll_json, '')
                     FROM obligations WHERE location = $1 AND id = $2",
                    &[&self.ctx.location, &id.to_string()],
                )
                .await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
        .await
    }
}
