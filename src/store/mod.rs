//! Run history in SQLite: the embedded default store, no server to install.
//!
//! - One writer thread ([`writer`]) owns the only read-write connection and is
//!   fed by a bounded queue; [`Store::record`] never stalls the scheduler for
//!   more than [`RECORD_WAIT`]. Each run is written in one transaction.
//! - Reads ([`read`]) use read-only connections in `spawn_blocking`; WAL lets
//!   them run while the writer commits.
//! - Retention ([`prune`]) runs on the writer thread in small batches.
//! - The schema is versioned and migrated at open ([`schema`]).
//!
//! # What a crash can lose
//!
//! WAL with `synchronous=NORMAL`: after `kill -9` (or a panic, or the OOM
//! killer) every committed run survives, so everything [`Store::flush`] has
//! confirmed is on disk. A power loss or kernel crash can also lose the last
//! few committed transactions. Neither corrupts the file. Runs still in the
//! queue are lost in both cases; shutdown calls [`Store::close`] to avoid that.

mod prune;
mod read;
pub(crate) mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::runner::{JourneyRun, RunSummary};
use read::ReadPool;
use writer::{Cadence, Command, Counters, RunRow};

/// How long [`Store::record`] waits for queue space before dropping the run.
pub const RECORD_WAIT: Duration = Duration::from_secs(1);

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = schema::SCHEMA_VERSION;

/// How long history is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Runs older than this are pruned.
    pub max_age: Duration,
    /// At most this many runs per journey are kept.
    pub max_runs_per_journey: usize,
}

impl Default for Retention {
    /// 30 days, 10 000 runs per journey.
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_runs_per_journey: 10_000,
        }
    }
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
    /// The writer runs a retention pass at least this often (minimum 1 s).
    pub prune_interval: Duration,
    /// ... and after this many writes, so a burst cannot outgrow the cap for long.
    pub prune_every_writes: u64,
}

impl StoreOptions {
    /// Defaults: 30 days, 10 000 runs per journey, a queue of 1024, a
    /// retention pass every 5 minutes or 500 writes.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            retention: Retention::default(),
            queue_capacity: 1024,
            prune_interval: Duration::from_secs(300),
            prune_every_writes: 500,
        }
    }
}

/// A store error (opening, schema, I/O). The message names the file and, where
/// there is one, what the operator should do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// What the store remembers of a journey, to rebuild the status board at start-up.
#[derive(Debug, Clone)]
pub struct JourneyHistory {
    /// Most recent runs, newest first.
    pub recent: Vec<RunSummary>,
    /// Start of the last passing run (millisecond precision).
    pub last_success: Option<chrono::DateTime<chrono::Utc>>,
}

/// Handle to the store; cheap to clone. Dropping the last handle lets the
/// writer drain the queue and exit in the background; [`Store::close`] also
/// waits for it.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// Shared by every handle.
#[derive(Debug)]
struct Inner {
    queue: mpsc::Sender<Command>,
    counters: Arc<Counters>,
    readers: Arc<ReadPool>,
    writer: std::thread::JoinHandle<()>,
}

impl Store {
    /// Opens (creating if needed) the database and starts the writer.
    pub fn open(opts: StoreOptions) -> Result<Store, StoreError> {
        let conn = schema::open_writer(&opts.path)?;
        let (queue, rx) = mpsc::channel(opts.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let cadence = Cadence {
            interval: opts.prune_interval,
            every_writes: opts.prune_every_writes,
        };
        let writer = writer::spawn(conn, rx, Arc::clone(&counters), opts.retention, cadence)?;
        Ok(Store {
            inner: Arc::new(Inner {
                queue,
                counters,
                readers: Arc::new(ReadPool::new(opts.path)),
                writer,
            }),
        })
    }

    /// Queues a run for writing; waits at most [`RECORD_WAIT`] when the queue is full,
    /// then drops the run (counted) rather than stall the scheduler.
    pub async fn record(&self, run: &JourneyRun) {
        let row = match RunRow::new(run) {
            Ok(row) => row,
            Err(e) => {
                self.drop_run(&run.run_id, &run.journey, &format!("cannot serialize: {e}"));
                return;
            }
        };
        // Counted before sending so the writer's decrement can never come first.
        let depth = &self.inner.counters.depth;
        depth.fetch_add(1, Ordering::Relaxed);
        let queue = &self.inner.queue;
        let sent = match queue.try_send(Command::Write(Box::new(row))) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(cmd)) => queue
                .send_timeout(cmd, RECORD_WAIT)
                .await
                .map_err(|_| "the write queue stayed full"),
            Err(mpsc::error::TrySendError::Closed(_)) => Err("the writer has stopped"),
        };
        if let Err(why) = sent {
            depth.fetch_sub(1, Ordering::Relaxed);
            self.drop_run(&run.run_id, &run.journey, why);
        }
    }

    fn drop_run(&self, run_id: &uuid::Uuid, journey: &str, why: &str) {
        self.inner.counters.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            run_id = %run_id,
            journey = %journey,
            reason = why,
            "Run dropped from the history."
        );
    }

    /// Runs of a journey, newest first (summaries carry millisecond start times).
    pub async fn recent_runs(
        &self,
        journey: &str,
        limit: usize,
    ) -> Result<Vec<RunSummary>, StoreError> {
        let journey = journey.to_string();
        self.inner
            .readers
            .run(move |conn| read::recent_runs(conn, &journey, limit))
            .await
    }

    /// One full run, exactly as recorded.
    pub async fn get_run(&self, id: uuid::Uuid) -> Result<Option<JourneyRun>, StoreError> {
        self.inner
            .readers
            .run(move |conn| read::get_run(conn, id))
            .await
    }

    /// Per journey: recent runs and last success.
    pub async fn histories(
        &self,
        recent: usize,
    ) -> Result<BTreeMap<String, JourneyHistory>, StoreError> {
        self.inner
            .readers
            .run(move |conn| read::histories(conn, recent))
            .await
    }

    /// Runs waiting to be written (including a `record` waiting for queue space).
    pub fn queue_depth(&self) -> usize {
        self.inner.counters.depth.load(Ordering::Relaxed)
    }

    /// Runs dropped because the queue stayed full.
    pub fn dropped_total(&self) -> u64 {
        self.inner.counters.dropped.load(Ordering::Relaxed)
    }

    /// Runs the writer failed to write (disk full, I/O errors).
    pub fn write_errors_total(&self) -> u64 {
        self.inner.counters.write_errors.load(Ordering::Relaxed)
    }

    /// Waits until every queued run is written (shutdown).
    pub async fn flush(&self) {
        self.round_trip(Command::Flush).await;
    }

    /// Runs a complete retention pass now and waits for it.
    pub async fn prune_now(&self) {
        self.round_trip(Command::Prune).await;
    }

    /// Flushes; if this is the last handle, also stops the writer and waits
    /// for it to close the database. Other handles keep the store open.
    pub async fn close(self) {
        self.flush().await;
        if let Ok(inner) = Arc::try_unwrap(self.inner) {
            let Inner { queue, writer, .. } = inner;
            // Closing the queue ends the writer's loop once it is drained.
            drop(queue);
            if !matches!(
                tokio::task::spawn_blocking(move || writer.join()).await,
                Ok(Ok(()))
            ) {
                tracing::error!("Run history writer did not stop cleanly.");
            }
        }
    }

    /// Sends a command carrying a reply channel through the queue, waiting
    /// for space (unlike `record`: a flush must not be dropped), then for the reply.
    async fn round_trip(&self, make: impl FnOnce(oneshot::Sender<()>) -> Command) {
        let (tx, rx) = oneshot::channel();
        if self.inner.queue.send(make(tx)).await.is_ok() {
            // An error means the writer is gone; nothing is left to wait for.
            let _ = rx.await;
        }
    }
}
