//! Run history in SQLite. OWNER: helper (store) — stub, to be implemented.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::runner::{JourneyRun, RunSummary};

/// How long history is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Runs older than this are pruned.
    pub max_age: Duration,
    /// At most this many runs per journey are kept.
    pub max_runs_per_journey: usize,
}

/// Store settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The SQLite file.
    pub path: PathBuf,
    /// Retention.
    pub retention: Retention,
    /// Capacity of the write queue.
    pub queue_capacity: usize,
}

/// A store error (opening, schema, I/O).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// What the store remembers of a journey, to rebuild the status board at start-up.
#[derive(Debug, Clone)]
pub struct JourneyHistory {
    /// Most recent runs, newest first.
    pub recent: Vec<RunSummary>,
    /// Start of the last passing run.
    pub last_success: Option<chrono::DateTime<chrono::Utc>>,
}

/// Handle to the store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {}

impl Store {
    /// Opens (creating if needed) the database and starts the writer.
    pub fn open(_opts: StoreOptions) -> Result<Store, StoreError> {
        todo!()
    }

    /// Queues a run for writing; waits at most a short bound when the queue is full,
    /// then drops the run (counted) rather than stall the scheduler.
    pub async fn record(&self, _run: &JourneyRun) {
        todo!()
    }

    /// Runs of a journey, newest first.
    pub async fn recent_runs(
        &self,
        _journey: &str,
        _limit: usize,
    ) -> Result<Vec<RunSummary>, StoreError> {
        todo!()
    }

    /// One full run.
    pub async fn get_run(&self, _id: uuid::Uuid) -> Result<Option<JourneyRun>, StoreError> {
        todo!()
    }

    /// Per journey: recent runs and last success.
    pub async fn histories(
        &self,
        _recent: usize,
    ) -> Result<BTreeMap<String, JourneyHistory>, StoreError> {
        todo!()
    }

    /// Runs waiting to be written.
    pub fn queue_depth(&self) -> usize {
        todo!()
    }

    /// Runs dropped because the queue stayed full.
    pub fn dropped_total(&self) -> u64 {
        todo!()
    }

    /// Waits until every queued run is written (shutdown).
    pub async fn flush(&self) {
        todo!()
    }
}
