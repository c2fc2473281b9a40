//! Retention: deletes runs older than the maximum age and beyond the per-journey
//! cap, in batches.
//!
//! Each batch deletes at most [`BATCH`] rows in its own transaction, and the
//! writer interleaves batches with queued writes, so a large first prune (after
//! retention was lowered, or after months of downtime) never holds the write
//! lock for long nor makes new runs wait behind it.
//!
//! The per-journey cap is checked for every journey in the history only by a
//! full pass (at start-up, when the database is opened again, and on
//! [`Store::prune_now`](super::Store::prune_now)); the passes the writer starts
//! on its cadence check the journeys [`CapChecks`] finds due.

use std::collections::VecDeque;

use rusqlite::Connection;

use super::Retention;
use super::cap::CapChecks;
use super::read::journey_names;

/// Rows deleted per transaction.
pub(super) const BATCH: i64 = 500;

/// One piece of pruning work; repeated until a batch deletes less than [`BATCH`].
#[derive(Debug)]
enum Task {
    /// Delete runs started before this Unix time in milliseconds.
    Age { cutoff_ms: i64 },
    /// Delete this journey's runs beyond the newest `max_runs_per_journey`.
    Count { journey: String },
}

/// Pruning in progress (or idle when no tasks are left).
#[derive(Debug)]
pub(super) struct Pruner {
    retention: Retention,
    tasks: VecDeque<Task>,
    deleted: u64,
    /// Runs written per journey since its cap was last checked.
    checks: CapChecks,
}

impl Pruner {
    /// An idle pruner.
    pub(super) fn new(retention: Retention) -> Self {
        Self {
            retention,
            tasks: VecDeque::new(),
            deleted: 0,
            checks: CapChecks::default(),
        }
    }

    /// Notes a run of `journey` written.
    pub(super) fn written(&mut self, journey: &str) {
        self.checks.written(journey);
    }

    /// True while a pass has batches left.
    pub(super) fn is_busy(&self) -> bool {
        !self.tasks.is_empty()
    }

    /// Plans a pass: age first, then one task per journey due for a cap check,
    /// or per journey in the history when `full`. No-op if a pass is running.
    pub(super) fn start(&mut self, conn: &Connection, full: bool) {
        if self.is_busy() {
            return;
        }
        let max_age_ms = i64::try_from(self.retention.max_age.as_millis()).unwrap_or(i64::MAX);
        let cutoff_ms = chrono::Utc::now()
            .timestamp_millis()
            .saturating_sub(max_age_ms);
        self.tasks.push_back(Task::Age { cutoff_ms });
        let cap = self.retention.max_runs_per_journey;
        let names = if full {
            match journey_names(conn) {
                Ok(names) => {
                    self.checks.all_checked();
                    names
                }
                Err(e) => {
                    tracing::error!(error = %e, "Cannot list journeys to prune the run history.");
                    self.checks.due(cap)
                }
            }
        } else {
            self.checks.due(cap)
        };
        self.tasks
            .extend(names.into_iter().map(|journey| Task::Count { journey }));
    }

    /// Runs one batch of the current pass.
    pub(super) fn step(&mut self, conn: &Connection) {
        let Some(task) = self.tasks.front() else {
            return;
        };
        match self.delete_batch(conn, task) {
            Ok(n) => {
                self.deleted += n as u64;
                if (n as i64) < BATCH {
                    self.tasks.pop_front();
                }
            }
            Err(e) => {
                // Skip the task rather than retry it forever; the next pass retries.
                tracing::error!(task = ?task, error = %e, "Cannot prune the run history.");
                if let Some(Task::Count { journey }) = self.tasks.pop_front() {
                    let cap = self.retention.max_runs_per_journey;
                    self.checks.unchecked(vec![journey], cap);
                }
            }
        }
        if !self.is_busy() && self.deleted > 0 {
            tracing::info!(deleted = self.deleted, "Pruned old runs from the history.");
            self.deleted = 0;
        }
    }

    /// Runs the current pass to the end.
    pub(super) fn finish(&mut self, conn: &Connection) {
        while self.is_busy() {
            self.step(conn);
        }
    }

    /// Deletes at most [`BATCH`] rows for `task`; a single statement is its own transaction.
    fn delete_batch(&self, conn: &Connection, task: &Task) -> rusqlite::Result<usize> {
        match task {
            Task::Age { cutoff_ms } => conn
                .prepare_cached(
                    "DELETE FROM runs WHERE rowid IN
                       (SELECT rowid FROM runs WHERE started_at < ?1 LIMIT ?2)",
                )?
                .execute((cutoff_ms, BATCH)),
            Task::Count { journey } => {
                let keep = i64::try_from(self.retention.max_runs_per_journey).unwrap_or(i64::MAX);
                // Walks the (journey, started_at DESC) index: skip the newest
                // `keep`, delete the next batch.
                conn.prepare_cached(
                    "DELETE FROM runs WHERE rowid IN
                       (SELECT rowid FROM runs WHERE journey = ?1
                        ORDER BY started_at DESC LIMIT ?2 OFFSET ?3)",
                )?
                .execute((journey, BATCH, keep))
            }
        }
    }
}
