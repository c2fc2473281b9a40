//! Every statement on the alert state and outbox tables in PostgreSQL
//! (migration 3 of `store::postgres::schema`): the counterpart of
//! [`super::db`], with the same semantics (coalescing, order by id,
//! millisecond times); silences and deploys are in [`super::pg_records`].
//! [`super::pg`] runs them.
//!
//! Writes of alert state and of the outbox take a fence (see
//! [`super::AlertDb::set_fence`]): when one is set, the transaction first
//! locks the `fleet_roles` row of role `alerting` and refuses to write unless
//! it still names this owner and term. `FOR SHARE` makes a takeover (which
//! updates that row) wait for the write to commit, so no write of a deposed
//! leader can land after the term changed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Client, Transaction};

use super::db::{HeadRow, NewRow};
use super::spill::MemRow;
use super::{Key, Pending};
use crate::alert::state::AlertEvent;

/// Why a statement did not do its work.
#[derive(Debug)]
pub(super) enum PgError {
    /// The server (or the connection) said no.
    Db(tokio_postgres::Error),
    /// The fence no longer holds: another owner or term leads alerting.
    Fenced,
    /// A stored value cannot be read back.
    Decode(String),
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Db(e)
    }
}

/// The owner and term writes must still hold, if fenced.
pub(super) type Fence<'a> = Option<&'a (String, i64)>;

pub(super) type Result<T> = std::result::Result<T, PgError>;

/// Refuses the transaction's writes unless `fence` (if any) still leads alerting.
async fn check_fence(tx: &Transaction<'_>, fence: Fence<'_>) -> Result<()> {
    let Some((owner, term)) = fence else {
        return Ok(());
    };
    let rows = tx
        .query(
            "SELECT 1 FROM fleet_roles WHERE role = 'alerting' AND owner = $1 AND term = $2
             FOR SHARE",
            &[owner, term],
        )
        .await?;
    if rows.is_empty() {
        return Err(PgError::Fenced);
    }
    Ok(())
}

/// Journey -> state JSON.
pub(super) async fn load_states(c: &mut Client) -> Result<BTreeMap<String, String>> {
    let rows = c
        .query("SELECT journey, state_json FROM alert_states", &[])
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Writes a journey's state and inserts its notifications, in one transaction.
pub(super) async fn commit(
    c: &mut Client,
    fence: Fence<'_>,
    journey: &str,
    state_json: &str,
    rows: &[NewRow],
    now: i64,
) -> Result<()> {
    let tx = c.transaction().await?;
    check_fence(&tx, fence).await?;
    upsert_state(&tx, journey, state_json, now).await?;
    for row in rows {
        insert(&tx, row, now).await?;
    }
    Ok(tx.commit().await?)
}

async fn upsert_state(tx: &Transaction<'_>, journey: &str, state: &str, now: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO alert_states (journey, state_json, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (journey) DO UPDATE
         SET state_json = excluded.state_json, updated_at = excluded.updated_at",
        &[&journey, &state, &now],
    )
    .await?;
    Ok(())
}

async fn insert(tx: &Transaction<'_>, row: &NewRow, now: i64) -> Result<i64> {
    let r = tx
        .query_one(
            "INSERT INTO notifications (receiver, fingerprint, event_json, created_at, attempts,
                                        next_attempt_at)
             VALUES ($1, $2, $3, $4, 0, $4) RETURNING id",
            &[&row.receiver, &row.fingerprint, &row.json, &now],
        )
        .await?;
    Ok(r.try_get(0)?)
}

/// Inserts notifications, coalescing re-sends as [`super::db::enqueue`] does;
/// returns how many rows were inserted.
pub(super) async fn enqueue(
    c: &mut Client,
    fence: Fence<'_>,
    rows: &[NewRow],
    now: i64,
) -> Result<usize> {
    let tx = c.transaction().await?;
    check_fence(&tx, fence).await?;
    let mut inserted = 0;
    for row in rows {
        if !coalesce(&tx, row).await? {
            insert(&tx, row, now).await?;
            inserted += 1;
        }
    }
    tx.commit().await?;
    Ok(inserted)
}

/// See [`super::db`]'s `coalesce`: a re-sent Firing of the alert that is
/// still the newest pending row of the receiver updates that row's text.
async fn coalesce(tx: &Transaction<'_>, row: &NewRow) -> Result<bool> {
    let AlertEvent::Firing(alert) = &row.event else {
        return Ok(false);
    };
    let newest = tx
        .query_opt(
            "SELECT id, event_json FROM notifications WHERE receiver = $1 AND fingerprint = $2
             ORDER BY id DESC LIMIT 1",
            &[&row.receiver, &row.fingerprint],
        )
        .await?;
    let Some(newest) = newest else {
        return Ok(false);
    };
    let (id, json): (i64, String) = (newest.try_get(0)?, newest.try_get(1)?);
    match serde_json::from_str::<AlertEvent>(&json) {
        Ok(AlertEvent::Firing(pending)) if pending.starts_at == alert.starts_at => {
            if json != row.json {
                tx.execute(
                    "UPDATE notifications SET event_json = $2 WHERE id = $1",
                    &[&id, &row.json],
                )
                .await?;
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Writes what waited in memory in one transaction (see [`super::db::flush`]);
/// returns the new row ids in order.
pub(super) async fn flush(
    c: &mut Client,
    fence: Fence<'_>,
    done: &[i64],
    states: &BTreeMap<String, String>,
    rows: &[MemRow],
    now: i64,
) -> Result<Vec<i64>> {
    let tx = c.transaction().await?;
    check_fence(&tx, fence).await?;
    if !done.is_empty() {
        tx.execute("DELETE FROM notifications WHERE id = ANY($1)", &[&done])
            .await?;
    }
    for (journey, state) in states {
        upsert_state(&tx, journey, state, now).await?;
    }
    let mut ids = Vec::with_capacity(rows.len());
    for m in rows {
        let r = tx
            .query_one(
                "INSERT INTO notifications (receiver, fingerprint, event_json, created_at,
                                            attempts, next_attempt_at, last_error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &m.row.receiver,
                    &m.row.fingerprint,
                    &m.row.json,
                    &m.created_at,
                    &i64::from(m.attempts),
                    &m.next_attempt_at,
                    &m.last_error,
                ],
            )
            .await?;
        ids.push(r.try_get(0)?);
    }
    tx.commit().await?;
    Ok(ids)
}

/// Deletes the state of journeys not in `keep`; returns how many.
pub(super) async fn remove_journeys(
    c: &mut Client,
    fence: Fence<'_>,
    keep: &[String],
) -> Result<usize> {
    let tx = c.transaction().await?;
    check_fence(&tx, fence).await?;
    let n = tx
        .execute(
            "DELETE FROM alert_states WHERE NOT (journey = ANY($1))",
            &[&keep],
        )
        .await?;
    tx.commit().await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// The oldest row of `receiver` after row `after`, and how many it has after it.
pub(super) async fn head(
    c: &mut Client,
    receiver: &str,
    after: i64,
) -> Result<(Option<HeadRow>, u64)> {
    let tx = c.transaction().await?;
    let row = tx
        .query_opt(
            "SELECT id, event_json, created_at, attempts, next_attempt_at FROM notifications
             WHERE receiver = $1 AND id > $2 ORDER BY id LIMIT 1",
            &[&receiver, &after],
        )
        .await?;
    let row = match row {
        Some(r) => Some(HeadRow {
            id: Key::Row(r.try_get(0)?),
            event_json: r.try_get(1)?,
            created_at: r.try_get(2)?,
            attempts: attempts(r.try_get(3)?),
            next_attempt_at: r.try_get(4)?,
        }),
        None => None,
    };
    let depth: i64 = tx
        .query_one(
            "SELECT count(*) FROM notifications WHERE receiver = $1 AND id > $2",
            &[&receiver, &after],
        )
        .await?
        .try_get(0)?;
    tx.commit().await?;
    Ok((row, u64::try_from(depth).unwrap_or(0)))
}

fn attempts(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Deletes a delivered (or dropped) row; false when it was already gone.
pub(super) async fn delete(c: &mut Client, fence: Fence<'_>, id: i64) -> Result<bool> {
    let tx = c.transaction().await?;
    check_fence(&tx, fence).await?;
    let n = tx
        .execute("DELETE FROM notifications WHERE id = $1", &[&id])
        .await?;
    tx.commit().await?;
    Ok(n > 0)
}

/// Records a failed attempt and when to try again.
pub(super) async fn reschedule(
    c: &mut Client,
    fence: Fence<'_>,
    id: i64,
    (attempts, next_attempt_at): (u32, i64),
    error: &str,
) -> Result<()> {
    let tx = c.transaction().await?;
    check_fence(&tx, fence).await?;
    tx.execute(
        "UPDATE notifications SET attempts = $2, next_attempt_at = $3, last_error = $4
         WHERE id = $1",
        &[&id, &i64::from(attempts), &next_attempt_at, &error],
    )
    .await?;
    Ok(tx.commit().await?)
}

/// Receivers with pending rows, and how many each has.
pub(super) async fn queued_receivers(c: &mut Client) -> Result<BTreeMap<String, u64>> {
    let rows = c
        .query(
            "SELECT receiver, count(*) FROM notifications GROUP BY receiver",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let n: i64 = r.try_get(1)?;
            Ok((r.try_get(0)?, u64::try_from(n).unwrap_or(0)))
        })
        .collect()
}

/// Every pending row, oldest first.
pub(super) async fn pending(c: &mut Client) -> Result<Vec<Pending>> {
    let rows = c
        .query(
            "SELECT id, receiver, fingerprint, event_json, created_at, attempts,
                    next_attempt_at, last_error
             FROM notifications ORDER BY id",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let json: String = r.try_get(3)?;
            Ok(Pending {
                id: r.try_get(0)?,
                receiver: r.try_get(1)?,
                fingerprint: r.try_get(2)?,
                event: serde_json::from_str(&json)
                    .map_err(|e| PgError::Decode(format!("stored notification: {e}")))?,
                created_at: time(r.try_get(4)?)?,
                attempts: attempts(r.try_get(5)?),
                next_attempt_at: time(r.try_get(6)?)?,
                last_error: r.try_get(7)?,
            })
        })
        .collect()
}

/// A millisecond column as a timestamp.
pub(super) fn time(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| PgError::Decode(format!("timestamp {ms} ms out of range")))
}
