//! Every statement on the alert database, as plain synchronous functions on
//! one connection. [`super::AlertDb`] runs them in `spawn_blocking`.
//!
//! Times are Unix milliseconds in `INTEGER` columns, so ordering and "due"
//! checks are integer comparisons.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};

use super::spill::MemRow;
use super::{Key, Pending, Silence};
use crate::alert::state::AlertEvent;

/// A notification ready to insert: serialized on the caller's side.
#[derive(Debug, Clone)]
pub(super) struct NewRow {
    pub receiver: String,
    pub fingerprint: String,
    pub event: AlertEvent,
    pub json: String,
}

/// The oldest row of a receiver, as the delivery worker needs it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HeadRow {
    pub id: Key,
    pub event_json: String,
    pub created_at: i64,
    pub attempts: u32,
    pub next_attempt_at: i64,
}

/// Journey -> state JSON.
pub(super) fn load_states(conn: &Connection) -> rusqlite::Result<BTreeMap<String, String>> {
    let mut stmt = conn.prepare_cached("SELECT journey, state_json FROM journey_state")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Writes a journey's state and inserts its notifications, in one transaction.
pub(super) fn commit(
    conn: &mut Connection,
    journey: &str,
    state_json: &str,
    rows: &[NewRow],
    now: i64,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    upsert_state(&tx, journey, state_json, now)?;
    for row in rows {
        insert(&tx, row, now)?;
    }
    tx.commit()
}

fn upsert_state(
    conn: &Connection,
    journey: &str,
    state_json: &str,
    now: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO journey_state (journey, state_json, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (journey) DO UPDATE
         SET state_json = excluded.state_json, updated_at = excluded.updated_at",
    )?
    .execute((journey, state_json, now))?;
    Ok(())
}

/// Inserts notifications, coalescing re-sends of an alert already pending; returns
/// how many rows were inserted.
pub(super) fn enqueue(conn: &mut Connection, rows: &[NewRow], now: i64) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut inserted = 0;
    for row in rows {
        if !coalesce(&tx, row)? {
            insert(&tx, row, now)?;
            inserted += 1;
        }
    }
    tx.commit()?;
    Ok(inserted)
}

fn insert(conn: &Connection, row: &NewRow, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (receiver, fingerprint, event_json, created_at, attempts, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, 0, ?4)",
    )?
    .execute((&row.receiver, &row.fingerprint, &row.json, now))?;
    Ok(())
}

/// A re-sent Firing whose alert (same fingerprint, same start) is still the newest
/// pending row for the receiver is not queued twice: the pending row takes the newer
/// text instead. Anything queued after it (a resolve) means the re-send is news.
fn coalesce(conn: &Connection, row: &NewRow) -> rusqlite::Result<bool> {
    let AlertEvent::Firing(alert) = &row.event else {
        return Ok(false);
    };
    let newest: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, event_json FROM outbox WHERE receiver = ?1 AND fingerprint = ?2
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row((&row.receiver, &row.fingerprint), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((id, json)) = newest else {
        return Ok(false);
    };
    match serde_json::from_str::<AlertEvent>(&json) {
        Ok(AlertEvent::Firing(pending)) if pending.starts_at == alert.starts_at => {
            if json != row.json {
                conn.prepare_cached("UPDATE outbox SET event_json = ?2 WHERE id = ?1")?
                    .execute((id, &row.json))?;
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Writes what waited in memory (deletes of finished rows, the newest states, then the notifications in
/// order, keeping their attempts) in one transaction; returns the new row ids.
pub(super) fn flush(
    conn: &mut Connection,
    done: &[i64],
    states: &BTreeMap<String, String>,
    rows: &[MemRow],
    now: i64,
) -> rusqlite::Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for id in done {
        delete(&tx, *id)?;
    }
    for (journey, state) in states {
        upsert_state(&tx, journey, state, now)?;
    }
    let mut ids = Vec::with_capacity(rows.len());
    for m in rows {
        tx.prepare_cached(
            "INSERT INTO outbox (receiver, fingerprint, event_json, created_at, attempts,
                                 next_attempt_at, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute((
            &m.row.receiver,
            &m.row.fingerprint,
            &m.row.json,
            m.created_at,
            m.attempts,
            m.next_attempt_at,
            &m.last_error,
        ))?;
        ids.push(tx.last_insert_rowid());
    }
    tx.commit()?;
    Ok(ids)
}

/// Deletes the state of journeys not in `keep`; returns how many were deleted.
/// Their pending notifications stay and are delivered.
pub(super) fn remove_journeys(conn: &mut Connection, keep: &[String]) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let known: Vec<String> = {
        let mut stmt = tx.prepare_cached("SELECT journey FROM journey_state")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut removed = 0;
    for journey in known.iter().filter(|j| !keep.contains(j)) {
        removed += tx
            .prepare_cached("DELETE FROM journey_state WHERE journey = ?1")?
            .execute([journey])?;
    }
    tx.commit()?;
    Ok(removed)
}

/// The oldest row of `receiver` after row `after` and how many rows it has after it.
pub(super) fn head(
    conn: &Connection,
    receiver: &str,
    after: i64,
) -> rusqlite::Result<(Option<HeadRow>, u64)> {
    let tx = conn.unchecked_transaction()?;
    let row = tx
        .prepare_cached(
            "SELECT id, event_json, created_at, attempts, next_attempt_at FROM outbox
             WHERE receiver = ?1 AND id > ?2 ORDER BY id LIMIT 1",
        )?
        .query_row((receiver, after), |r| {
            Ok(HeadRow {
                id: Key::Row(r.get(0)?),
                event_json: r.get(1)?,
                created_at: r.get(2)?,
                attempts: r.get(3)?,
                next_attempt_at: r.get(4)?,
            })
        })
        .optional()?;
    let depth: i64 = tx
        .prepare_cached("SELECT count(*) FROM outbox WHERE receiver = ?1 AND id > ?2")?
        .query_row((receiver, after), |r| r.get(0))?;
    tx.finish()?;
    Ok((row, u64::try_from(depth).unwrap_or(0)))
}

/// Deletes a delivered (or dropped) row; false when it was already gone.
pub(super) fn delete(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM outbox WHERE id = ?1")?
        .execute([id])?;
    Ok(n > 0)
}

/// Records a failed attempt and when to try again.
pub(super) fn reschedule(
    conn: &Connection,
    id: i64,
    attempts: u32,
    next_attempt_at: i64,
    error: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1",
    )?
    .execute((id, attempts, next_attempt_at, error))?;
    Ok(())
}

/// Receivers with pending rows, and how many each has.
pub(super) fn queued_receivers(conn: &Connection) -> rusqlite::Result<BTreeMap<String, u64>> {
    let mut stmt =
        conn.prepare_cached("SELECT receiver, count(*) FROM outbox GROUP BY receiver")?;
    let rows = stmt.query_map([], |r| {
        let count: i64 = r.get(1)?;
        Ok((r.get(0)?, u64::try_from(count).unwrap_or(0)))
    })?;
    rows.collect()
}

/// Every pending row, oldest first.
pub(super) fn pending(conn: &Connection) -> rusqlite::Result<Vec<Pending>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, receiver, fingerprint, event_json, created_at, attempts, next_attempt_at,
                last_error
         FROM outbox ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        let json: String = r.get(3)?;
        Ok(Pending {
            id: r.get(0)?,
            receiver: r.get(1)?,
            fingerprint: r.get(2)?,
            event: serde_json::from_str(&json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(3, Type::Text, Box::new(e))
            })?,
            created_at: time(r, 4)?,
            attempts: r.get(5)?,
            next_attempt_at: time(r, 6)?,
            last_error: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Stores a silence; returns its id. First deletes the silences that ended
/// before `prune_before` (see [`SILENCE_RETENTION`](super::SILENCE_RETENTION)).
pub(super) fn add_silence(
    conn: &Connection,
    matchers_json: &str,
    (starts_at, ends_at): (i64, i64),
    prune_before: i64,
    created_by: &str,
    comment: &str,
) -> rusqlite::Result<i64> {
    conn.prepare_cached("DELETE FROM silences WHERE ends_at < ?1")?
        .execute([prune_before])?;
    conn.prepare_cached(
        "INSERT INTO silences (matchers_json, starts_at, ends_at, created_by, comment)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute((matchers_json, starts_at, ends_at, created_by, comment))?;
    Ok(conn.last_insert_rowid())
}

/// Silences in force at `now` (started, not ended), oldest first.
pub(super) fn active_silences(conn: &Connection, now: i64) -> rusqlite::Result<Vec<Silence>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, matchers_json, starts_at, ends_at, created_by, comment FROM silences
         WHERE ends_at > ?1 AND starts_at <= ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([now], |r| {
        let json: String = r.get(1)?;
        Ok(Silence {
            id: r.get(0)?,
            matchers: serde_json::from_str(&json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(1, Type::Text, Box::new(e))
            })?,
            starts_at: time(r, 2)?,
            ends_at: time(r, 3)?,
            created_by: r.get(4)?,
            comment: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// Ends a silence at `now`; false when there is no such silence or it already ended.
pub(super) fn expire_silence(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE silences SET ends_at = ?2, starts_at = min(starts_at, ?2)
             WHERE id = ?1 AND ends_at > ?2",
        )?
        .execute((id, now))?;
    Ok(n > 0)
}

/// A millisecond column as a timestamp.
fn time(row: &Row<'_>, column: usize) -> rusqlite::Result<DateTime<Utc>> {
    let ms: i64 = row.get(column)?;
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            Type::Integer,
            format!("timestamp {ms} ms out of range").into(),
        )
    })
}
