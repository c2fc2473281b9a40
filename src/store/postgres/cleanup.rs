//! The `pending_cleanup` table on PostgreSQL: the statements of
//! [`crate::store::cleanup`], per location, with claims and the rows of dead
//! replicas (see [`super::pending`]).

use chrono::{DateTime, Utc};
use tokio_postgres::{Client, Row};

use super::pending::{Ctx, PgPending, claimable, dead, from_json, to_json, uuid};
use crate::runner::handoff::OwedCleanup;
use crate::store::cleanup::{DueCleanup, PendingCleanup, ms, time};
use crate::store::{BoxError, StoreError};

type R<T> = Result<T, BoxError>;

async fn owe(c: &Client, x: &Ctx, owed: &OwedCleanup, now: DateTime<Utc>) -> R<()> {
    c.execute(
        "INSERT INTO pending_cleanup (location, run_id, journey, steps_json, values_json,
           refresh_json, created_at, live, replica)
         VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8)
         ON CONFLICT (location, run_id) DO UPDATE SET
           steps_json = excluded.steps_json,
           values_json = excluded.values_json,
           refresh_json = excluded.refresh_json",
        &[
            &x.location,
            &owed.run_id.to_string(),
            &owed.journey,
            &to_json(&owed.steps)?,
            &to_json(&owed.values)?,
            &to_json(&owed.refresh)?,
            &ms(now),
            &x.replica,
        ],
    )
    .await?;
    Ok(())
}

async fn settle(
    c: &Client,
    x: &Ctx,
    run_id: uuid::Uuid,
    remaining: &[String],
    next_at: DateTime<Utc>,
    error: Option<&str>,
) -> R<bool> {
    let id = run_id.to_string();
    if remaining.is_empty() {
        let sql = "DELETE FROM pending_cleanup WHERE location = $1 AND run_id = $2";
        c.execute(sql, &[&x.location, &id]).await?;
        return Ok(false);
    }
    let n = c
        .execute(
            "UPDATE pending_cleanup SET steps_json = $3, live = false, next_attempt_at = $4,
               last_error = $5, attempts = attempts + CASE WHEN live THEN 0 ELSE 1 END,
               claimed_by = NULL, claimed_until = NULL
             WHERE location = $1 AND run_id = $2",
            &[
                &x.location,
                &id,
                &to_json(&remaining)?,
                &ms(next_at),
                &error,
            ],
        )
        .await?;
    Ok(n > 0)
}

fn due_row(r: &Row) -> R<(i64, DueCleanup)> {
    let due = DueCleanup {
        owed: OwedCleanup {
            run_id: uuid(r.try_get(0)?)?,
            journey: r.try_get(1)?,
            steps: from_json(r.try_get(2)?)?,
            values: from_json(r.try_get(3)?)?,
            refresh: from_json(r.try_get(4)?)?,
        },
        created_at: time(r.try_get(5)?),
        attempts: u32::try_from(r.try_get::<_, i32>(6)?).unwrap_or(0),
    };
    Ok((r.try_get(7)?, due))
}

/// Claims due rows (see the module docs of [`super::pending`]).
async fn due(c: &Client, x: &Ctx, now: DateTime<Utc>, limit: usize) -> R<Vec<DueCleanup>> {
    let sql = format!(
        "UPDATE pending_cleanup c SET claimed_by = $3,
           claimed_until = now() + make_interval(secs => $4::float8), live = false
         WHERE c.location = $1 AND c.run_id IN (
           SELECT p.run_id FROM pending_cleanup p
           WHERE p.location = $1
             AND ((NOT p.live AND p.next_attempt_at <= $2) OR (p.live AND {dead}))
             AND {claimable}
             AND p.run_id NOT IN (SELECT o.run_id FROM obligations o
               WHERE o.location = $1 AND o.state = 'pending')
           ORDER BY p.next_attempt_at LIMIT $6
           FOR UPDATE SKIP LOCKED)
         RETURNING c.run_id, c.journey, c.steps_json, c.values_json, c.refresh_json,
           c.created_at, c.attempts, c.next_attempt_at",
        dead = dead("p.replica", "$1", "$5"),
        claimable = claimable("p", "$3"),
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c
        .query(
            &sql,
            &[&x.location, &ms(now), &x.replica, &x.claim, &x.ttl, &limit],
        )
        .await?;
    let mut due = rows.iter().map(due_row).collect::<R<Vec<_>>>()?;
    // RETURNING keeps no order: oldest due first, as on SQLite.
    due.sort_by_key(|(at, _)| *at);
    Ok(due.into_iter().map(|(_, d)| d).collect())
}

fn listed(r: &Row) -> R<PendingCleanup> {
    Ok(PendingCleanup {
        run_id: uuid(r.try_get(0)?)?,
        journey: r.try_get(1)?,
        steps: from_json(r.try_get(2)?)?,
        created_at: time(r.try_get(3)?),
        attempts: u32::try_from(r.try_get::<_, i32>(4)?).unwrap_or(0),
        live: r.try_get(5)?,
        next_attempt_at: time(r.try_get(6)?),
        last_error: r.try_get(7)?,
    })
}

impl PgPending {
    /// See [`PendingWork::owe_cleanup`](crate::store::PendingWork::owe_cleanup).
    pub async fn owe_cleanup(&self, owed: &OwedCleanup) -> Result<(), StoreError> {
        self.timed("recording owed cleanup", async {
            owe(&*self.client().await?, &self.ctx, owed, Utc::now()).await
        })
        .await
    }

    /// See [`PendingWork::settle_cleanup`](crate::store::PendingWork::settle_cleanup).
    pub async fn settle_cleanup(
        &self,
        run_id: uuid::Uuid,
        remaining: &[String],
        next_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.timed("settling cleanup", async {
            let c = self.client().await?;
            settle(&c, &self.ctx, run_id, remaining, next_at, error).await
        })
        .await
    }

    /// Deletes a row (abandoned).
    pub async fn forget_cleanup(&self, run_id: uuid::Uuid) -> Result<(), StoreError> {
        self.timed("abandoning cleanup", async {
            let sql = "DELETE FROM pending_cleanup WHERE location = $1 AND run_id = $2";
            let c = self.client().await?;
            c.execute(sql, &[&self.ctx.location, &run_id.to_string()])
                .await?;
            Ok(())
        })
        .await
    }

    /// At start-up: without a fleet every live row of the location, in a fleet
    /// those of this replica id, are from runs that were cut.
    pub async fn release_cleanups(&self) -> Result<usize, StoreError> {
        self.timed("releasing cleanups", async {
            let c = self.client().await?;
            let n = c
                .execute(
                    "UPDATE pending_cleanup SET live = false, next_attempt_at = 0
                     WHERE location = $1 AND live AND ($2::float8 IS NULL OR replica = $3)",
                    &[&self.ctx.location, &self.ctx.ttl, &self.ctx.replica],
                )
                .await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
        .await
    }

    /// Claims the cleanups due for a background attempt at `now`.
    pub async fn due_cleanups(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueCleanup>, StoreError> {
        self.timed("listing due cleanups", async {
            due(&*self.client().await?, &self.ctx, now, limit).await
        })
        .await
    }

    /// Every pending cleanup of the location, oldest first, without values.
    pub async fn cleanups(&self) -> Result<Vec<PendingCleanup>, StoreError> {
        self.timed("listing cleanups", async {
            let c = self.client().await?;
            let rows = c
                .query(
                    "SELECT run_id, journey, steps_json, created_at, attempts, live,
                       next_attempt_at, last_error
                     FROM pending_cleanup WHERE location = $1 ORDER BY created_at",
                    &[&self.ctx.location],
                )
                .await?;
            rows.iter().map(listed).collect()
        })
        .await
    }

    /// How many cleanups of the location are pending.
    pub async fn cleanup_count(&self) -> Result<u64, StoreError> {
        self.timed("counting cleanups", async {
            let c = self.client().await?;
            let sql = "SELECT count(*) FROM pending_cleanup WHERE location = $1";
            let n: i64 = c.query_one(sql, &[&self.ctx.location]).await?.try_get(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    /// The stored values of a run's cleanup (tests).
    #[cfg(test)]
    pub async fn cleanup_values(&self, run_id: uuid::Uuid) -> Result<Option<String>, StoreError> {
        self.timed("reading cleanup values", async {
            let c = self.client().await?;
            let sql = "SELECT values_json FROM pending_cleanup WHERE location = $1 AND run_id = $2";
            let row = c
                .query_opt(sql, &[&self.ctx.location, &run_id.to_string()])
                .await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
        .await
    }
}
