//! Queries: a small pool of read-only connections used from
//! `spawn_blocking`, so SQLite never blocks the async runtime. WAL lets these
//! reads run while the writer thread commits.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use rusqlite::types::Type;
use rusqlite::{Connection, Row};

use super::{Access, Database, JourneyHistory, StoreError, schema, sqlite};
use crate::runner::{FailureClass, JourneyRun, RunSummary, Verdict};

/// Idle read connections kept open; more are opened on demand under load.
const MAX_IDLE: usize = 4;

/// The summary columns, in the order [`summary_from_row`] reads them.
const SUMMARY_COLUMNS: &str = "run_id, journey, started_at, duration_seconds, verdict, \
     degraded, failed_step, failed_backend, failure_class, failure_message";

/// Read-only connections to the store's file.
#[derive(Debug)]
pub(super) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    /// A pool that opens connections lazily.
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `query` on a pooled connection in a blocking task.
    pub(super) async fn run<T, F>(self: &Arc<Self>, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let pool = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let conn = match pool.lock().pop() {
                Some(conn) => conn,
                None => sqlite::open(&pool.path, &schema::HISTORY, Access::ReadOnly)?,
            };
            let out = query(&conn);
            let mut idle = pool.lock();
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
            out.map_err(|e| StoreError::Query {
                location: pool.path.display().to_string(),
                what: "run history query",
                source: Box::new(e),
            })
        });
        task.await.map_err(|source| StoreError::Task {
            database: Database::RunHistory,
            source,
        })?
    }

    /// The idle list; a panic elsewhere cannot leave it inconsistent, so poison is ignored.
    fn lock(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs of `journey`, newest first, at most `limit`.
pub(super) fn recent_runs(
    conn: &Connection,
    journey: &str,
    limit: usize,
) -> rusqlite::Result<Vec<RunSummary>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM runs WHERE journey = ?1 \
         ORDER BY started_at DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map((journey, limit), summary_from_row)?;
    rows.collect()
}

/// One full run, decoded from its JSON.
pub(super) fn get_run(conn: &Connection, id: uuid::Uuid) -> rusqlite::Result<Option<JourneyRun>> {
    let mut stmt = conn.prepare_cached("SELECT run_json FROM runs WHERE run_id = ?1")?;
    let mut rows = stmt.query([id.to_string()])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let json: String = row.get(0)?;
    serde_json::from_str(&json)
        .map(Some)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, Type::Text, Box::new(e)))
}

/// Every journey with runs: its newest `recent` summaries and its last passing start.
pub(super) fn histories(
    conn: &Connection,
    recent: usize,
) -> rusqlite::Result<BTreeMap<String, JourneyHistory>> {
    // One read transaction, so every journey is seen at the same point in time.
    let tx = conn.unchecked_transaction()?;
    let mut out = BTreeMap::new();
    for journey in journey_names(&tx)? {
        let history = JourneyHistory {
            recent: recent_runs(&tx, &journey, recent)?,
            last_success: last_success(&tx, &journey)?,
        };
        out.insert(journey, history);
    }
    Ok(out)
}

/// Distinct journey names, one index seek per name rather than a full scan
/// (SQLite's "skip-scan by hand" idiom).
pub(super) fn journey_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE j(name) AS (
           SELECT min(journey) FROM runs
           UNION ALL
           SELECT (SELECT min(journey) FROM runs WHERE journey > j.name) FROM j
           WHERE j.name IS NOT NULL)
         SELECT name FROM j WHERE name IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Start of the newest passing run; walks the journey's index newest first.
fn last_success(conn: &Connection, journey: &str) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT started_at FROM runs WHERE journey = ?1 AND verdict = 'pass' \
         ORDER BY started_at DESC LIMIT 1",
    )?;
    let mut rows = stmt.query([journey])?;
    match rows.next()? {
        Some(row) => Ok(Some(millis_to_time(row.get(0)?, 0)?)),
        None => Ok(None),
    }
}

/// Decodes the [`SUMMARY_COLUMNS`].
fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<RunSummary> {
    let run_id: String = row.get(0)?;
    let verdict: String = row.get(4)?;
    let class: Option<String> = row.get(8)?;
    Ok(RunSummary {
        run_id: uuid::Uuid::parse_str(&run_id).map_err(|e| bad_column(0, e.to_string()))?,
        journey: row.get(1)?,
        started_at: millis_to_time(row.get(2)?, 2)?,
        duration_seconds: row.get(3)?,
        verdict: match verdict.as_str() {
            "pass" => Verdict::Pass,
            "fail" => Verdict::Fail,
            other => return Err(bad_column(4, format!("unknown verdict {other:?}"))),
        },
        degraded: row.get(5)?,
        failed_step: row.get(6)?,
        failed_backend: row.get(7)?,
        failure_class: class
            .map(|c| {
                FailureClass::ALL
                    .into_iter()
                    .find(|k| k.as_str() == c)
                    .ok_or_else(|| bad_column(8, format!("unknown failure class {c:?}")))
            })
            .transpose()?,
        failure_message: row.get(9)?,
    })
}

/// Unix milliseconds (the `started_at` column) to a timestamp.
fn millis_to_time(ms: i64, column: usize) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| bad_column(column, format!("timestamp {ms} ms out of range")))
}

/// A column whose value this build cannot decode.
fn bad_column(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, message.into())
}
