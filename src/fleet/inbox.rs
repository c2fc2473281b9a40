//! The alerting leader's input (issue 8): `alert_inbox(id, run_id)`, one row
//! per fenced run, written by the PostgreSQL history writer in the same
//! transaction as the run itself, so alert input is exactly as durable as the
//! history (buffered in the store's bounded queue while PostgreSQL is away,
//! counted when dropped). Alert input that is not a run of the history (a
//! fulfilled obligation, [`crate::store::Store::record_for_alerts`]) carries
//! its own location and JSON in the row.
//!
//! The leader takes the oldest rows in `id` order, joined to the run and its
//! location, inside a transaction that commits only after every run was fed
//! to the engine: a leader killed in between leaves them for the next one
//! (a run may then be observed twice, never lost). `FOR UPDATE SKIP LOCKED`
//! keeps a deposed leader still finishing a batch from blocking the new one.

use deadpool_postgres::Pool;

use crate::runner::JourneyRun;

/// How many runs one take reads at most.
pub const BATCH: i64 = 500;

/// Why a take failed (the rows stay for the next one).
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// No connection.
    #[error("cannot reach PostgreSQL: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A statement failed.
    #[error("PostgreSQL: {0}")]
    Pg(#[from] tokio_postgres::Error),
}

/// Takes up to `n` runs in order and hands each to `feed` with its location;
/// deletes them when all were fed. Returns how many were taken (runs whose
/// JSON no longer parses are skipped and logged). When `feed` returns false
/// (the leader stops leading) the take is rolled back and returns 0: the
/// rows stay for the next leader.
pub async fn take<F, Fut>(pool: &Pool, n: i64, mut feed: F) -> Result<usize, InboxError>
where
    F: FnMut(String, JourneyRun) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            "WITH taken AS (
               DELETE FROM alert_inbox WHERE id IN (
                 SELECT id FROM alert_inbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
               RETURNING id, run_id, location, run_json)
             SELECT t.id, COALESCE(r.location, t.location), COALESCE(r.run_json, t.run_json)
             FROM taken t LEFT JOIN runs r ON r.run_id = t.run_id
             WHERE COALESCE(r.run_json, t.run_json) IS NOT NULL ORDER BY t.id",
            &[&n],
        )
        .await?;
    let taken = rows.len();
    for row in rows {
        let location: String = row.try_get(1)?;
        let json: String = row.try_get(2)?;
        match serde_json::from_str::<JourneyRun>(&json) {
            Ok(run) => {
                if !feed(location, run).await {
                    return Ok(0);
                }
            }
            Err(e) => tracing::warn!(location = %location, error = %e,
                "A stored run does not parse; the alert engine skips it."),
        }
    }
    tx.commit().await?;
    Ok(taken)
}
