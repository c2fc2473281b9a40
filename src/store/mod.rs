//! Persistence: the run history and the alert database, behind one small
//! interface, on SQLite (the embedded default, no server to install).
//!
//! # Interface
//!
//! The daemon, the server and the alert engine use only these operations, on
//! domain types (never a backend's row or connection types):
//!
//! - Run history, [`Store`]: [`Store::open`]; writes [`Store::record`] (queued,
//!   never stalls the scheduler), [`Store::flush`], [`Store::close`],
//!   [`Store::prune_now`]; reads [`Store::recent_runs`], [`Store::get_run`],
//!   [`Store::histories`]; health [`Store::status`] ([`Store::queue_depth`],
//!   [`Store::dropped_total`], [`Store::write_errors_total`], [`Store::is_up`]).
//! - Work that outlives a run, [`PendingWork`], where the history is: cleanup
//!   still owed (`owe_cleanup`, `settle_cleanup`, `release_cleanups`,
//!   `due_cleanups`, `abandon_cleanup`, `cleanups`, `cleanup_count`) and
//!   obligations of durable steps (`add_obligation`, `due_obligations`,
//!   `reschedule_obligation`, `finish_obligation`, ...).
//!   [`Store::start`] is `open` that survives a full disk (below).
//! - Alert database, [`AlertDb`]: `open`/`start`; the engine's `load_states`,
//!   `commit` (state and notifications atomically), `enqueue`,
//!   `remove_journeys`; silences `add_silence`, `active_silences`,
//!   `expire_silence`; deploys `add_deploy`, `deploys_between`; the outbox
//!   `pending`, and for the delivery workers `head`, `delete`, `reschedule`,
//!   `queued_receivers`; `set_fence` for the fleet's alerting leader.
//!
//! Opening returns an [`OpenError`] a caller can match (not ours, too new,
//! corrupt, permission, disk full, other); every other operation returns a
//! [`StoreError`], which is only shown.
//!
//! # Backends
//!
//! [`Backend`] names where a database lives; [`Store::open`] and
//! `AlertDb::open` match on it. SQLite is the default:
//! [`sqlite`] opens any journeyd database from a small [`sqlite::Schema`]
//! (which database, application id, migrations, sync mode), and the
//! SQLite-specific code sits below the handles (the writer thread, read pool
//! and statements here; `alert::outbox::db`). PostgreSQL ([`postgres`],
//! issue 8) holds the run history so far: [`Backend::Postgres`], its own
//! migrations, and an engine inside the handle chosen at open (enum
//! dispatch: the same queue and counters feed a writer thread or a writer
//! task, reads go to a SQLite read pool or the PostgreSQL pool). Callers and
//! the interface above do not change, and the store's test cases run on both
//! (`tests::cases`). [`PendingWork`] dispatches the same way (an engine
//! inside the handle): on PostgreSQL its rows carry the location, and its
//! "due" queries claim rows for one replica at a time (`FOR UPDATE SKIP
//! LOCKED` and a claim on the database's clock) and only for the journeys it
//! holds in the fleet (`postgres::pending`); its cases run on both backends
//! (`tests::cleanup`, `tests::obligation`). The alert database's slot holds a
//! SQLite connection or a PostgreSQL pool (`alert::outbox::backend`); its cases
//! run on both through the outbox's `on_both_backends!`. One migration list
//! serves every table ([`postgres::migrate`]).
//!
//! # Run history
//!
//! - One writer thread ([`writer`]) owns the only read-write connection and is
//!   fed by a bounded queue; [`Store::record`] never stalls the scheduler for
//!   more than [`RECORD_WAIT`]. Runs queued behind a busy writer share one
//!   transaction (group commit, at most 64), and a passing run waits up to
//!   [`writer::PASS_WINDOW`] for others to share it; a failing run is
//!   committed at once. The row and its `INSERT` are in [`row`].
//! - Reads ([`read`]) use read-only connections in `spawn_blocking`; WAL lets
//!   them run while the writer commits.
//! - Retention ([`prune`]) runs on the writer thread in small batches.
//! - The schema is versioned and migrated at open ([`schema`], [`sqlite`]).
//!
//! # What a crash can lose
//!
//! WAL with `synchronous=NORMAL`: after `kill -9` (or a panic, or the OOM
//! killer) every committed run survives, so everything [`Store::flush`] has
//! confirmed is on disk. A power loss or kernel crash can also lose the last
//! few committed transactions. Neither corrupts the file. Runs still in the
//! queue are lost in both cases, and so are passes waiting in the commit window
//! (at most [`writer::PASS_WINDOW`] of them; failures do not wait); shutdown
//! calls [`Store::close`] to avoid that.
//!
//! [`AlertDb`]: crate::alert::outbox::AlertDb

mod cap;
mod cleanup;
mod error;
mod obligation;
mod obligations;
mod options;
mod pending;
pub mod postgres;
mod prune;
mod read;
mod row;
mod schema;
pub mod sqlite;
mod window;
mod writer;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::runner::{JourneyRun, RunSummary, Verdict};
pub use cleanup::{DueCleanup, PendingCleanup};
pub use error::{Access, BoxError, Damage, Database, OpenError, StoreError};
pub use obligation::{DueObligation, ObligationRow, ObligationState, next_poll};
pub use options::{Backend, OnLost, Retention, StoreOptions};
pub use pending::PendingWork;
pub use postgres::{PgTarget, Replica};
use read::ReadPool;
pub use row::Fence;
use row::RunRow;
use writer::{Cadence, Command, Counters};
pub use writer::{PASS_WINDOW, REOPEN_EVERY};

/// How long [`Store::record`] waits for queue space before dropping the run.
pub const RECORD_WAIT: Duration = Duration::from_secs(1);

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = schema::HISTORY.version();

/// The run history's health, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStatus {
    /// Runs waiting to be written.
    pub queue_depth: usize,
    /// Runs lost because the queue stayed full (running total).
    pub dropped_queue_full: u64,
    /// Runs lost because they could not be written (running total).
    pub write_failed: u64,
    /// The database is open and its last write succeeded.
    pub up: bool,
}

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
    readers: Readers,
    writer: WriterHandle,
}

/// Where reads go.
#[derive(Debug)]
enum Readers {
    Sqlite(Arc<ReadPool>),
    Postgres(Arc<postgres::PgHistory>),
}

/// What drains the queue.
#[derive(Debug)]
enum WriterHandle {
    Thread(std::thread::JoinHandle<()>),
    Task(tokio::task::JoinHandle<()>),
}

impl Store {
    /// Opens (creating if needed) the database and starts the writer.
    /// PostgreSQL: nothing is contacted yet (the writer connects and
    /// migrates); [`Store::connect`] migrates first. Needs a tokio runtime.
    pub fn open(opts: StoreOptions) -> Result<Store, OpenError> {
        match &opts.backend {
            Backend::Sqlite(path) => {
                let conn = sqlite::open(path, &schema::HISTORY, Access::ReadWrite)?;
                Self::with_conn(opts, Some(conn))
            }
            Backend::Postgres(target) => {
                let pg = postgres::PgHistory::new(target.clone())?;
                Ok(Self::with_pg(opts, pg, false))
            }
        }
    }

    /// [`start`](Self::start), but PostgreSQL is migrated first, within
    /// [`postgres::CONNECT_TIMEOUT`]: a schema from a newer journeyd refuses
    /// to start; an unreachable server starts degraded (runs queue, bounded,
    /// and are written when it returns).
    pub async fn connect(opts: StoreOptions) -> Result<Store, OpenError> {
        match &opts.backend {
            Backend::Sqlite(_) => Self::start(opts),
            Backend::Postgres(target) => {
                let pg = postgres::PgHistory::new(target.clone())?;
                let migrated = pg.try_migrate(postgres::CONNECT_TIMEOUT).await?;
                Ok(Self::with_pg(opts, pg, migrated))
            }
        }
    }

    /// The PostgreSQL store: the same queue and counters, a writer task.
    fn with_pg(opts: StoreOptions, pg: postgres::PgHistory, migrated: bool) -> Store {
        let (queue, rx) = mpsc::channel(opts.queue_capacity.max(1));
        let counters = Arc::new(Counters {
            on_lost: opts.on_lost,
            ..Counters::default()
        });
        let cadence = Cadence {
            interval: opts.prune_interval,
            every_writes: opts.prune_every_writes,
        };
        let task = pg.spawn_writer(rx, Arc::clone(&counters), opts.retention, cadence, migrated);
        Store {
            inner: Arc::new(Inner {
                queue,
                counters,
                readers: Readers::Postgres(Arc::new(pg)),
                writer: WriterHandle::Task(task),
            }),
        }
    }

    /// [`open`](Self::open), but a full disk does not stop journeyd: the store
    /// starts without its database, every run is counted as lost
    /// (`write_failed`), and the writer opens (creates, migrates) it as soon as
    /// space returns. Any other failure (not ours, too new, corrupt,
    /// permissions) is returned: that needs an operator.
    /// PostgreSQL: as [`open`](Self::open).
    pub fn start(opts: StoreOptions) -> Result<Store, OpenError> {
        let path = match &opts.backend {
            Backend::Sqlite(path) => path,
            Backend::Postgres(_) => return Self::open(opts),
        };
        match sqlite::open(path, &schema::HISTORY, Access::ReadWrite) {
            Ok(conn) => Self::with_conn(opts, Some(conn)),
            Err(e @ OpenError::DiskFull { .. }) => {
                tracing::error!(
                    path = %path.display(),
                    error = %e,
                    "The disk holding the run history is full: journeys run and alert, but \
                     runs are not stored until space returns; the history is opened then."
                );
                Self::with_conn(opts, None)
            }
            Err(e) => Err(e),
        }
    }

    fn with_conn(
        opts: StoreOptions,
        conn: Option<rusqlite::Connection>,
    ) -> Result<Store, OpenError> {
        let Backend::Sqlite(path) = opts.backend else {
            return Err(OpenError::Other {
                location: opts.backend.to_string(),
                database: Database::RunHistory,
                source: "not a SQLite database".into(),
            });
        };
        let (queue, rx) = mpsc::channel(opts.queue_capacity.max(1));
        let counters = Arc::new(Counters {
            on_lost: opts.on_lost,
            ..Counters::default()
        });
        let cadence = Cadence {
            interval: opts.prune_interval,
            every_writes: opts.prune_every_writes,
        };
        let writer = writer::spawn(
            path.clone(),
            conn,
            rx,
            Arc::clone(&counters),
            opts.retention,
            cadence,
            opts.pass_window,
        )
        .map_err(|e| OpenError::Other {
            location: path.display().to_string(),
            database: Database::RunHistory,
            source: format!("cannot start the writer thread: {e}").into(),
        })?;
        Ok(Store {
            inner: Arc::new(Inner {
                queue,
                counters,
                readers: Readers::Sqlite(Arc::new(ReadPool::new(path))),
                writer: WriterHandle::Thread(writer),
            }),
        })
    }

    /// Queues a run for writing; waits at most [`RECORD_WAIT`] when the queue is full,
    /// then drops the run (counted) rather than stall the scheduler.
    pub async fn record(&self, run: &JourneyRun) {
        self.record_fenced(run, None).await;
    }

    /// [`record`](Self::record) with the fleet's fencing token (kept by PostgreSQL).
    pub async fn record_fenced(&self, run: &JourneyRun, fence: Option<Fence>) {
        self.enqueue(run, fence, false).await;
    }

    /// Hands `run` to the fleet's alerting leader without storing it as a run
    /// of the history (a fulfilled obligation: `crate::fleet::inbox`). Queued
    /// like a run, so it waits out a PostgreSQL outage; nothing on SQLite.
    pub async fn record_for_alerts(&self, run: &JourneyRun) {
        self.enqueue(run, None, true).await;
    }

    async fn enqueue(&self, run: &JourneyRun, fence: Option<Fence>, alert_only: bool) {
        let row = match RunRow::new(run, fence) {
            Ok(row) => RunRow { alert_only, ..row },
            Err(e) => {
                let why = format!("cannot serialize: {e}");
                self.inner
                    .counters
                    .lost(false, run.run_id, &run.journey, &why);
                return;
            }
        };
        // Counted before sending so the writer's decrement can never come first.
        let counters = &self.inner.counters;
        let depth = &counters.depth;
        depth.fetch_add(1, Ordering::Relaxed);
        let mut row = Box::new(row);
        if run.verdict == Verdict::Pass && !alert_only {
            match counters.window.join(row) {
                Ok(()) => {
                    #[cfg(test)]
                    counters.taken.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(back) => row = back,
            }
        }
        let queue = &self.inner.queue;
        let sent = match queue.try_send(Command::Write(row)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(cmd)) => queue
                .send_timeout(cmd, RECORD_WAIT)
                .await
                .map_err(|_| (true, "the write queue stayed full")),
            Err(mpsc::error::TrySendError::Closed(_)) => Err((false, "the writer has stopped")),
        };
        if let Err((queue_full, why)) = sent {
            depth.fetch_sub(1, Ordering::Relaxed);
            self.inner
                .counters
                .lost(queue_full, run.run_id, &run.journey, why);
        }
    }

    /// Runs of a journey, newest first (summaries carry millisecond start times).
    pub async fn recent_runs(
        &self,
        journey: &str,
        limit: usize,
    ) -> Result<Vec<RunSummary>, StoreError> {
        let readers = match &self.inner.readers {
            Readers::Sqlite(r) => r,
            Readers::Postgres(pg) => return pg.recent_runs(journey, limit).await,
        };
        self.settle().await;
        let journey = journey.to_string();
        readers
            .run(move |conn| read::recent_runs(conn, &journey, limit))
            .await
    }

    /// One full run, exactly as recorded.
    pub async fn get_run(&self, id: uuid::Uuid) -> Result<Option<JourneyRun>, StoreError> {
        match &self.inner.readers {
            Readers::Sqlite(r) => {
                self.settle().await;
                r.run(move |conn| read::get_run(conn, id)).await
            }
            Readers::Postgres(pg) => pg.get_run(id).await,
        }
    }

    /// Per journey: recent runs and last success.
    pub async fn histories(
        &self,
        recent: usize,
    ) -> Result<BTreeMap<String, JourneyHistory>, StoreError> {
        match &self.inner.readers {
            Readers::Sqlite(r) => {
                self.settle().await;
                r.run(move |conn| read::histories(conn, recent)).await
            }
            Readers::Postgres(pg) => pg.histories(recent).await,
        }
    }

    /// Runs waiting to be written (including a `record` waiting for queue space).
    pub fn queue_depth(&self) -> usize {
        self.inner.counters.depth.load(Ordering::Relaxed)
    }

    /// Runs dropped because the queue stayed full.
    pub fn dropped_total(&self) -> u64 {
        self.inner.counters.dropped.load(Ordering::Relaxed)
    }

    /// Runs that could not be written (disk full, I/O errors, database not open).
    pub fn write_errors_total(&self) -> u64 {
        self.inner.counters.write_errors.load(Ordering::Relaxed)
    }

    /// False while the database is not open or its last write failed.
    pub fn is_up(&self) -> bool {
        !self.inner.counters.down.load(Ordering::Relaxed)
    }

    /// Queue depth, lost runs and health at once, for metrics.
    pub fn status(&self) -> StoreStatus {
        StoreStatus {
            queue_depth: self.queue_depth(),
            dropped_queue_full: self.dropped_total(),
            write_failed: self.write_errors_total(),
            up: self.is_up(),
        }
    }

    /// Waits until every queued run is written (shutdown). PostgreSQL: at
    /// most [`postgres::FLUSH_WAIT`], since the server may be away.
    pub async fn flush(&self) {
        match &self.inner.readers {
            Readers::Sqlite(_) => self.round_trip(Command::Flush).await,
            Readers::Postgres(_) => {
                let flushed =
                    tokio::time::timeout(postgres::FLUSH_WAIT, self.round_trip(Command::Flush));
                if flushed.await.is_err() {
                    tracing::error!(
                        queued = self.queue_depth(),
                        "PostgreSQL did not take the queued runs in time; they are lost."
                    );
                }
            }
        }
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
            let clean = match writer {
                WriterHandle::Thread(writer) => matches!(
                    tokio::task::spawn_blocking(move || writer.join()).await,
                    Ok(Ok(()))
                ),
                WriterHandle::Task(task) => {
                    // Still retrying after the bounded flush: the server is away.
                    let abort = task.abort_handle();
                    let joined = tokio::time::timeout(postgres::FLUSH_WAIT, task).await;
                    abort.abort();
                    matches!(joined, Ok(Ok(())))
                }
            };
            if !clean {
                tracing::error!("Run history writer did not stop cleanly.");
            }
        }
    }

    /// Sends a command carrying a reply channel through the queue, waiting
    /// for space (unlike `record`: a flush must not be dropped), then for the reply.
    /// Before a read of the SQLite history: commits the runs queued or held in
    /// the commit window ([`PASS_WINDOW`]), so a run on the status board is in
    /// the history the API reads. Waits at most [`RECORD_WAIT`]: a writer stuck
    /// on its disk must not hold the read as well.
    async fn settle(&self) {
        if self.queue_depth() > 0 {
            let _ = tokio::time::timeout(RECORD_WAIT, self.round_trip(Command::Commit)).await;
        }
    }

    async fn round_trip(&self, make: impl FnOnce(oneshot::Sender<()>) -> Command) {
        let (tx, rx) = oneshot::channel();
        if self.inner.queue.send(make(tx)).await.is_ok() {
            // An error means the writer is gone; nothing is left to wait for.
            let _ = rx.await;
        }
    }
}
