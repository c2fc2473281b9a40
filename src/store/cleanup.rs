//! The `pending_cleanup` table: cleanup steps a run still owes, with the
//! values they need, until they succeed or the retention limit passes.
//!
//! A row is written as soon as a run captures a value a cleanup step reads
//! (`live = 1`), replaced when more is owed, and deleted when the run's own
//! cleanup succeeds. A row left `live` at start-up belongs to a run that was
//! cut (crash, `kill -9`, shutdown grace): [`release_all`] hands it to the
//! background retries. Secret captures are never stored (a retry captures
//! them again, see [`OwedCleanup`]); [`PendingCleanup`] listings carry no
//! values at all. A row whose run has a pending obligation
//! ([`super::obligation`]) is not due until the obligation ends.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use crate::runner::handoff::OwedCleanup;

/// A pending cleanup as shown to people (API, status page): never its values.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PendingCleanup {
    /// Journey name.
    pub journey: String,
    /// The run that owes it.
    pub run_id: uuid::Uuid,
    /// Cleanup steps still owed.
    pub steps: Vec<String>,
    /// When it became owed.
    pub created_at: DateTime<Utc>,
    /// Background attempts so far.
    pub attempts: u32,
    /// The run that owes it is still going (on the replica that recorded it).
    pub live: bool,
    /// When the next background attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed (redacted step failure).
    pub last_error: Option<String>,
}

/// A cleanup due for a background attempt: what to run and how often it was tried.
#[derive(Debug, Clone, PartialEq)]
pub struct DueCleanup {
    /// What is owed, values included.
    pub owed: OwedCleanup,
    /// When it became owed.
    pub created_at: DateTime<Utc>,
    /// Background attempts so far.
    pub attempts: u32,
}

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(super) fn json<T: serde::Serialize>(v: &T) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(col: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Records (or replaces) what a live run owes; keeps its creation time.
pub(super) fn owe(
    conn: &Connection,
    owed: &OwedCleanup,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO pending_cleanup
           (run_id, journey, steps_json, values_json, refresh_json, created_at, live)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)
         ON CONFLICT (run_id) DO UPDATE SET
           steps_json = excluded.steps_json,
           values_json = excluded.values_json,
           refresh_json = excluded.refresh_json",
        params![
            owed.run_id.to_string(),
            owed.journey,
            json(&owed.steps)?,
            json(&owed.values)?,
            json(&owed.refresh)?,
            ms(now),
        ],
    )?;
    Ok(())
}

/// After a cleanup attempt (the run's own, or a background one): deletes the
/// row when nothing remains, else keeps the steps that remain for another
/// attempt at `next_at`. Returns whether the row still exists.
pub(super) fn settle(
    conn: &Connection,
    run_id: uuid::Uuid,
    remaining: &[String],
    next_at: DateTime<Utc>,
    error: Option<&str>,
) -> rusqlite::Result<bool> {
    let id = run_id.to_string();
    if remaining.is_empty() {
        conn.execute("DELETE FROM pending_cleanup WHERE run_id = ?1", [id])?;
        return Ok(false);
    }
    let n = conn.execute(
        "UPDATE pending_cleanup SET steps_json = ?2, live = 0, next_attempt_at = ?3,
           last_error = ?4, attempts = attempts + (live = 0)
         WHERE run_id = ?1",
        params![id, json(&remaining)?, ms(next_at), error],
    )?;
    Ok(n > 0)
}

/// Deletes a row (retention limit passed: the cleanup is abandoned).
pub(super) fn forget(conn: &Connection, run_id: uuid::Uuid) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM pending_cleanup WHERE run_id = ?1",
        [run_id.to_string()],
    )?;
    Ok(())
}

/// At start-up: rows still `live` are from runs that were cut; they are due now.
pub(super) fn release_all(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE pending_cleanup SET live = 0, next_attempt_at = 0 WHERE live = 1",
        [],
    )
}

/// Rows due for a background attempt at `now`, oldest due first.
pub(super) fn due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> rusqlite::Result<Vec<DueCleanup>> {
    let mut stmt = conn.prepare_cached(
        "SELECT run_id, journey, steps_json, values_json, refresh_json, created_at, attempts
         FROM pending_cleanup WHERE live = 0 AND next_attempt_at <= ?1
           AND run_id NOT IN (SELECT run_id FROM obligations WHERE state = 'pending')
         ORDER BY next_attempt_at LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![ms(now), limit as i64], |r| {
        let id: String = r.get(0)?;
        Ok(DueCleanup {
            owed: OwedCleanup {
                run_id: parse(0, &format!("\"{id}\""))?,
                journey: r.get(1)?,
                steps: parse(2, &r.get::<_, String>(2)?)?,
                values: parse(3, &r.get::<_, String>(3)?)?,
                refresh: parse(4, &r.get::<_, String>(4)?)?,
            },
            created_at: time(r.get(5)?),
            attempts: r.get(6)?,
        })
    })?;
    rows.collect()
}

/// Every pending cleanup, oldest first, without values.
pub(super) fn list(conn: &Connection) -> rusqlite::Result<Vec<PendingCleanup>> {
    let mut stmt = conn.prepare_cached(
        "SELECT run_id, journey, steps_json, created_at, attempts, live, next_attempt_at,
                last_error
         FROM pending_cleanup ORDER BY created_at",
    )?;
    let rows = stmt.query_map([], |r| {
        let id: String = r.get(0)?;
        Ok(PendingCleanup {
            run_id: parse(0, &format!("\"{id}\""))?,
            journey: r.get(1)?,
            steps: parse(2, &r.get::<_, String>(2)?)?,
            created_at: time(r.get(3)?),
            attempts: r.get(4)?,
            live: r.get(5)?,
            next_attempt_at: time(r.get(6)?),
            last_error: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// How many cleanups are pending.
pub(super) fn count(conn: &Connection) -> rusqlite::Result<u64> {
    let n: i64 = conn.query_row("SELECT count(*) FROM pending_cleanup", [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The values stored for a run (tests and diagnostics only).
#[cfg(test)]
pub(super) fn values_of(conn: &Connection, run_id: uuid::Uuid) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT values_json FROM pending_cleanup WHERE run_id = ?1",
        [run_id.to_string()],
        |r| r.get(0),
    )
    .optional()
}
