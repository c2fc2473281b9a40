//! A run as the SQLite history stores it: the row prepared on the caller's
//! side ([`RunRow`], with the fleet's [`Fence`]) and the `INSERT` that writes
//! it, alone or with the runs queued behind it (group commit).

use rusqlite::Connection;

use crate::runner::{JourneyRun, RunSummary, Verdict};

/// A run prepared for insertion: the summary columns and the full JSON.
/// Built on the caller's side so the queue holds one string, not a deep clone.
pub(super) struct RunRow {
    pub(super) summary: RunSummary,
    pub(super) json: String,
    /// Which replica ran it under which lease term (a fleet; PostgreSQL keeps it).
    pub(super) fence: Option<Fence>,
    /// Input for the fleet's alerting leader only, not a run of the history
    /// (PostgreSQL puts it in `alert_inbox`; SQLite, which has no fleet, skips it).
    pub(super) alert_only: bool,
}

/// The fencing token of a run in a fleet: the replica and the lease term it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The replica id.
    pub replica: String,
    /// The journey's lease term when the run started.
    pub term: i64,
}

impl RunRow {
    /// Serializes `run`.
    pub(super) fn new(run: &JourneyRun, fence: Option<Fence>) -> Result<Self, serde_json::Error> {
        Ok(Self {
            summary: run.summary(),
            json: serde_json::to_string(run)?,
            fence,
            alert_only: false,
        })
    }

    /// The run's id, for logs.
    pub(super) fn run_id(&self) -> uuid::Uuid {
        self.summary.run_id
    }

    /// The run's journey, for logs.
    pub(super) fn journey(&self) -> &str {
        &self.summary.journey
    }
}

/// Most runs one group commit carries (`Writer::write_queued`).
pub(super) const MAX_BATCH: usize = 64;

/// Inserts runs in one transaction.
pub(super) fn insert_all(conn: &mut Connection, rows: &[Box<RunRow>]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for row in rows {
        insert(&tx, row)?;
    }
    tx.commit()
}

/// Inserts one run (its own transaction, unless in a batch). A repeated run id
/// keeps the first copy.
///
/// One statement is its own transaction in SQLite: an explicit `BEGIN` and
/// `COMMIT` would only add two statements to parse per run.
pub(super) fn insert(conn: &Connection, row: &RunRow) -> rusqlite::Result<()> {
    let s = &row.summary;
    conn.prepare_cached(
        "INSERT INTO runs (run_id, journey, started_at, duration_seconds, verdict, degraded,
                           failed_step, failed_backend, failure_class, failure_message, run_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (run_id) DO NOTHING",
    )?
    .execute(rusqlite::params![
        s.run_id.to_string(),
        s.journey,
        s.started_at.timestamp_millis(),
        s.duration_seconds,
        match s.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        },
        s.degraded,
        s.failed_step,
        s.failed_backend,
        s.failure_class.map(|c| c.as_str()),
        s.failure_message,
        row.json,
    ])?;
    Ok(())
}
