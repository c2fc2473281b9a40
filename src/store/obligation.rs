//! The `obligations` table: durable steps the daemon polls after their run,
//! until they are fulfilled, failed (`fail_fast`) or breached (deadline).
//!
//! A row is written by the run before it ends (so a `kill -9` right after
//! keeps it), polled by `daemon::obligation`, and finished by [`finish`], a
//! single `UPDATE ... WHERE state = 'pending'`: of two attempts to finish the
//! same row (a poll racing a restart) exactly one changes it, and only that
//! one reports it. Reporting (alert engine, metrics) happens after the commit;
//! [`mark_observed`] records it. A row finished but not observed (a crash
//! between the two) is reported again at start-up ([`unobserved`]): a second
//! observation of the same failure finds its alert already firing, so the
//! page is still sent once. Values are cleared when a row finishes; finished
//! rows are kept a week for the API ([`prune`]). Secret captures are never
//! stored (see [`Obligation`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::cleanup::{json, ms, parse, time};
use crate::runner::StepOutcome;
use crate::runner::handoff::Obligation;

/// Where an obligation stands. A closed set: the `state` label and API value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObligationState {
    /// Still polled.
    Pending,
    /// The back-end finished before the deadline.
    Fulfilled,
    /// The back-end reached a terminal bad state (`fail_fast`).
    Failed,
    /// The deadline passed (a last poll at or after it did not pass).
    Breached,
}

impl ObligationState {
    /// Every state, for metrics.
    pub const ALL: [ObligationState; 4] = [
        ObligationState::Pending,
        ObligationState::Fulfilled,
        ObligationState::Failed,
        ObligationState::Breached,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ObligationState::Pending => "pending",
            ObligationState::Fulfilled => "fulfilled",
            ObligationState::Failed => "failed",
            ObligationState::Breached => "breached",
        }
    }

    pub(super) fn parse(s: &str) -> ObligationState {
        (Self::ALL.into_iter())
            .find(|x| x.as_str() == s)
            .unwrap_or(ObligationState::Pending)
    }
}

/// An obligation as stored, without its values (API, status page, reporting).
#[derive(Debug, Clone, PartialEq)]
pub struct ObligationRow {
    /// Obligation id.
    pub id: uuid::Uuid,
    /// The run that left it.
    pub run_id: uuid::Uuid,
    /// Journey name.
    pub journey: String,
    /// The durable step.
    pub step: String,
    /// Its back-end.
    pub backend: Option<String>,
    /// The run's poll.
    pub created_at: DateTime<Utc>,
    /// Breached after this.
    pub deadline: DateTime<Utc>,
    /// Next poll (pending rows).
    pub next_poll_at: DateTime<Utc>,
    /// Polls so far, the run's included.
    pub polls: u32,
    /// Where it stands.
    pub state: ObligationState,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// The run's poll (redacted).
    pub first_poll: StepOutcome,
    /// The latest poll (redacted), once the daemon polled.
    pub last_poll: Option<StepOutcome>,
}

/// A pending obligation due for a poll.
#[derive(Debug, Clone, PartialEq)]
pub struct DueObligation {
    /// What to poll, values included.
    pub obligation: Obligation,
    /// Pause before the next poll if this one does not pass.
    pub pause: Duration,
    /// Polls so far.
    pub polls: u32,
}

pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn uuid_col(r: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<uuid::Uuid> {
    let text: String = r.get(col)?;
    parse(col, &format!("\"{text}\""))
}

/// Records the obligation a run leaves; the second poll is due after `every`.
pub(super) fn insert(conn: &Connection, ob: &Obligation) -> rusqlite::Result<()> {
    let next = next_poll(ob.created_at, ob.every, ob.deadline);
    conn.execute(
        "INSERT INTO obligations (id, run_id, journey, step, backend, values_json, refresh_json,
           created_at, deadline_at, every_ms, backoff, max_every_ms, pause_ms, next_poll_at,
           first_poll_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?10, ?13, ?14)",
        params![
            ob.id.to_string(),
            ob.run_id.to_string(),
            ob.journey,
            ob.step,
            ob.backend,
            json(&ob.values)?,
            json(&ob.refresh)?,
            ms(ob.created_at),
            ms(ob.deadline),
            millis(ob.every),
            ob.backoff,
            millis(ob.max_every),
            ms(next),
            json(&ob.first_poll)?,
        ],
    )?;
    Ok(())
}

/// `now + pause`, but never after the deadline: the last poll is at the deadline.
pub fn next_poll(now: DateTime<Utc>, pause: Duration, deadline: DateTime<Utc>) -> DateTime<Utc> {
    let pause = chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::MAX);
    now.checked_add_signed(pause)
        .unwrap_or(deadline)
        .min(deadline)
}

/// Pending rows due at `now`, oldest due first.
pub(super) fn due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> rusqlite::Result<Vec<DueObligation>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, run_id, journey, step, backend, values_json, refresh_json, created_at,
                deadline_at, every_ms, backoff, max_every_ms, pause_ms, polls, first_poll_json
         FROM obligations WHERE state = 'pending' AND next_poll_at <= ?1
         ORDER BY next_poll_at LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![ms(now), limit as i64], |r| {
        Ok(DueObligation {
            obligation: Obligation {
                id: uuid_col(r, 0)?,
                run_id: uuid_col(r, 1)?,
                journey: r.get(2)?,
                step: r.get(3)?,
                backend: r.get(4)?,
                values: parse(5, &r.get::<_, String>(5)?)?,
                refresh: parse(6, &r.get::<_, String>(6)?)?,
                created_at: time(r.get(7)?),
                deadline: time(r.get(8)?),
                every: duration(r.get(9)?),
                backoff: r.get(10)?,
                max_every: duration(r.get(11)?),
                first_poll: parse(14, &r.get::<_, String>(14)?)?,
            },
            pause: duration(r.get(12)?),
            polls: r.get(13)?,
        })
    })?;
    rows.collect()
}

/// After a poll that did not pass: the next one at `next_at` after `pause`.
pub(super) fn reschedule(
    conn: &Connection,
    id: uuid::Uuid,
    last_poll: &StepOutcome,
    next_at: DateTime<Utc>,
    pause: Duration,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE obligations SET polls = polls + 1, last_poll_json = ?2, next_poll_at = ?3,
           pause_ms = ?4
         WHERE id = ?1 AND state = 'pending'",
        params![id.to_string(), json(last_poll)?, ms(next_at), millis(pause)],
    )?;
    Ok(n > 0)
}

/// Finishes a pending row; returns whether this call did it (then, and only
/// then, the caller reports it). The values are dropped. In the same
/// transaction the run's held cleanup becomes owed as of now, so its
/// retention (`history.cleanup_max_age`) counts from the end of the obligation,
/// not from a run days ago.
pub(super) fn finish(
    conn: &Connection,
    id: uuid::Uuid,
    state: ObligationState,
    last_poll: &StepOutcome,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let tx = conn.unchecked_transaction()?;
    let n = tx.execute(
        "UPDATE obligations SET state = ?2, finished_at = ?3, last_poll_json = ?4,
           polls = polls + 1, values_json = '{}', refresh_json = '[]'
         WHERE id = ?1 AND state = 'pending'",
        params![id.to_string(), state.as_str(), ms(now), json(last_poll)?],
    )?;
    if n > 0 {
        tx.execute(
            "UPDATE pending_cleanup SET created_at = ?2, next_attempt_at = 0
             WHERE run_id = (SELECT run_id FROM obligations WHERE id = ?1)",
            params![id.to_string(), ms(now)],
        )?;
    }
    tx.commit()?;
    Ok(n > 0)
}

/// Records that a finished row was reported.
pub(super) fn mark_observed(conn: &Connection, id: uuid::Uuid) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE obligations SET observed = 1 WHERE id = ?1",
        [id.to_string()],
    )?;
    Ok(())
}

const ROW: &str = "SELECT id, run_id, journey, step, backend, created_at, deadline_at,
    next_poll_at, polls, state, finished_at, first_poll_json, last_poll_json FROM obligations";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ObligationRow> {
    let last: Option<String> = r.get(12)?;
    Ok(ObligationRow {
        id: uuid_col(r, 0)?,
        run_id: uuid_col(r, 1)?,
        journey: r.get(2)?,
        step: r.get(3)?,
        backend: r.get(4)?,
        created_at: time(r.get(5)?),
        deadline: time(r.get(6)?),
        next_poll_at: time(r.get(7)?),
        polls: r.get(8)?,
        state: ObligationState::parse(&r.get::<_, String>(9)?),
        finished_at: r.get::<_, Option<i64>>(10)?.map(time),
        first_poll: parse(11, &r.get::<_, String>(11)?)?,
        last_poll: last.map(|l| parse(12, &l)).transpose()?,
    })
}

/// Finished rows not yet reported (a crash came between finishing and reporting).
pub(super) fn unobserved(conn: &Connection) -> rusqlite::Result<Vec<ObligationRow>> {
    let sql = format!("{ROW} WHERE state != 'pending' AND observed = 0 ORDER BY finished_at");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], row)?;
    rows.collect()
}

/// Every row (pending first, then the most recently finished), without values.
pub(super) fn list(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<ObligationRow>> {
    let sql = format!(
        "{ROW} ORDER BY state != 'pending', coalesce(finished_at, created_at) DESC LIMIT ?1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([limit as i64], row)?;
    rows.collect()
}

/// Rows by state (finished ones as kept, a week).
pub(super) fn counts(conn: &Connection) -> rusqlite::Result<Vec<(ObligationState, u64)>> {
    let mut stmt = conn.prepare_cached("SELECT state, count(*) FROM obligations GROUP BY state")?;
    let rows = stmt.query_map([], |r| {
        let n: i64 = r.get(1)?;
        Ok((
            ObligationState::parse(&r.get::<_, String>(0)?),
            u64::try_from(n).unwrap_or(0),
        ))
    })?;
    rows.collect()
}

/// The oldest pending obligation's creation time, per back-end (`""` for none).
pub(super) fn oldest_pending(conn: &Connection) -> rusqlite::Result<Vec<(String, DateTime<Utc>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(backend, ''), min(created_at) FROM obligations
         WHERE state = 'pending' GROUP BY 1",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, time(r.get(1)?))))?;
    rows.collect()
}

/// When the earliest pending poll is due, if any.
pub(super) fn next_due(conn: &Connection) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = conn.query_row(
        "SELECT min(next_poll_at) FROM obligations WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )?;
    Ok(at.map(time))
}

/// Deletes reported rows finished before `before`.
pub(super) fn prune(conn: &Connection, before: DateTime<Utc>) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM obligations WHERE state != 'pending' AND observed = 1 AND finished_at < ?1",
        [ms(before)],
    )
}

/// Every text column of a row, joined (tests: no secret may be in any).
#[cfg(test)]
pub(super) fn raw_text(conn: &Connection, id: uuid::Uuid) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT values_json || refresh_json || first_poll_json || coalesce(last_poll_json, '')
         FROM obligations WHERE id = ?1",
        [id.to_string()],
        |r| r.get(0),
    )
    .optional()
}
