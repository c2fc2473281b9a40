//! [`PendingWork`]: the handle to work that outlives a run: cleanup still
//! owed ([`super::cleanup`]) and obligations of durable steps
//! ([`super::obligation`]). Kept where the run history is: in `journeyd.db`
//! next to the runs, or in PostgreSQL shared by a fleet (`postgres::pending`:
//! rows per location, worked by the journey's lease holder, claimed with
//! `FOR UPDATE SKIP LOCKED` so two replicas never work one row at once). The
//! handle chooses its engine at open (enum dispatch); callers do not change.
//!
//! Unlike run writes, which are queued, these writes are synchronous: a run
//! waits until its owed cleanup is committed before it sends the next
//! request, so a `kill -9` right after cannot lose it. On SQLite it has its
//! own read-write connection (WAL lets it commit between the writer thread's
//! transactions; the busy timeout covers the rare overlap), used from
//! `spawn_blocking` so SQLite never blocks the async runtime. On PostgreSQL
//! every call uses the pool and gives up after `postgres::OP_TIMEOUT`; a
//! failure is a [`StoreError`] either way, which the runner's hand-off logs
//! (the run goes on; see docs/scaling.md).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::cleanup::{self, DueCleanup, PendingCleanup};
use super::postgres::{PgPending, Replica};
use super::{Access, Backend, OpenError, StoreError, schema, sqlite};
use crate::runner::handoff::OwedCleanup;

/// Handle to the pending-work tables; cheap to clone.
#[derive(Debug, Clone)]
pub struct PendingWork {
    pub(super) engine: Engine,
    /// Cleanups abandoned since this process started (status page).
    abandoned: Arc<AtomicU64>,
}

/// Where the tables are (enum dispatch, as [`super::Store`] does).
#[derive(Debug, Clone)]
pub(super) enum Engine {
    Sqlite(SqlitePending),
    Postgres(Arc<PgPending>),
}

/// The SQLite connection and the file's name for errors.
#[derive(Debug, Clone)]
pub(super) struct SqlitePending {
    conn: Arc<Mutex<Connection>>,
    location: Arc<str>,
}

impl PendingWork {
    /// Opens the pending-work tables: in the run history's SQLite file
    /// (created and migrated if needed), or on PostgreSQL as the only
    /// process of its location (no fleet); nothing is contacted yet then.
    pub fn open(backend: &Backend) -> Result<PendingWork, OpenError> {
        Self::open_as(backend, Replica::solo())
    }

    /// [`open`](Self::open) for `replica` of a fleet: on PostgreSQL, it works
    /// the rows of the journeys it holds and of dead replicas (see
    /// [`super::postgres`]'s `pending` docs). SQLite ignores `replica`.
    pub fn open_as(backend: &Backend, replica: Replica) -> Result<PendingWork, OpenError> {
        let engine = match backend {
            Backend::Sqlite(path) => {
                let conn = sqlite::open(path, &schema::HISTORY, Access::ReadWrite)?;
                Engine::Sqlite(SqlitePending::with(conn, path))
            }
            Backend::Postgres(target) => {
                Engine::Postgres(Arc::new(PgPending::new(target.clone(), replica)?))
            }
        };
        Ok(PendingWork {
            engine,
            abandoned: Arc::default(),
        })
    }
}

impl SqlitePending {
    fn with(conn: Connection, path: &Path) -> SqlitePending {
        SqlitePending {
            conn: Arc::new(Mutex::new(conn)),
            location: path.display().to_string().into(),
        }
    }

    /// Runs `f` on the connection in a blocking task.
    pub(super) async fn run<T, F>(&self, what: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let location = self.location.to_string();
        let task = tokio::task::spawn_blocking(move || {
            let guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&guard)
        });
        let query = |source: super::BoxError| StoreError::Query {
            location: location.clone(),
            what,
            source,
        };
        match task.await {
            Ok(result) => result.map_err(|e| query(Box::new(e))),
            Err(e) => Err(query(Box::new(e))),
        }
    }
}

impl PendingWork {
    /// Records what a live run owes in cleanup (replaces the run's earlier record).
    pub async fn owe_cleanup(&self, owed: &OwedCleanup) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.owe_cleanup(owed).await,
            Engine::Sqlite(db) => {
                let owed = owed.clone();
                db.run("recording owed cleanup", move |c| {
                    cleanup::owe(c, &owed, Utc::now())
                })
                .await
            }
        }
    }

    /// After a cleanup attempt: deletes the record when `remaining` is empty,
    /// else keeps `remaining` for another attempt at `next_at`. Returns whether
    /// cleanup is still pending.
    pub async fn settle_cleanup(
        &self,
        run_id: uuid::Uuid,
        remaining: Vec<String>,
        next_at: DateTime<Utc>,
        error: Option<String>,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => {
                (pg.settle_cleanup(run_id, &remaining, next_at, error.as_deref())).await
            }
            Engine::Sqlite(db) => {
                db.run("settling cleanup", move |c| {
                    cleanup::settle(c, run_id, &remaining, next_at, error.as_deref())
                })
                .await
            }
        }
    }

    /// Forgets a cleanup (the retention limit passed: it is abandoned).
    pub async fn abandon_cleanup(&self, run_id: uuid::Uuid) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.forget_cleanup(run_id).await?,
            Engine::Sqlite(db) => {
                (db.run("abandoning cleanup", move |c| cleanup::forget(c, run_id))).await?
            }
        }
        self.abandoned.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Cleanups abandoned since this process started.
    pub fn abandoned_total(&self) -> u64 {
        self.abandoned.load(Ordering::Relaxed)
    }

    /// At start-up, before any run: cleanups of runs that were cut become due.
    /// Returns how many.
    pub async fn release_cleanups(&self) -> Result<usize, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.release_cleanups().await,
            Engine::Sqlite(db) => db.run("releasing cleanups", cleanup::release_all).await,
        }
    }

    /// Cleanups due for a background attempt at `now`. On PostgreSQL they are
    /// claimed for this replica (see [`super::postgres`]'s `pending` docs).
    pub async fn due_cleanups(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueCleanup>, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.due_cleanups(now, limit).await,
            Engine::Sqlite(db) => {
                (db.run("listing due cleanups", move |c| cleanup::due(c, now, limit))).await
            }
        }
    }

    /// Every pending cleanup, without values (API, status page).
    pub async fn cleanups(&self) -> Result<Vec<PendingCleanup>, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.cleanups().await,
            Engine::Sqlite(db) => db.run("listing cleanups", cleanup::list).await,
        }
    }

    /// How many cleanups are pending.
    pub async fn cleanup_count(&self) -> Result<u64, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.cleanup_count().await,
            Engine::Sqlite(db) => db.run("counting cleanups", cleanup::count).await,
        }
    }

    /// The stored values of a run's cleanup, as JSON (tests).
    #[cfg(test)]
    pub(crate) async fn cleanup_values(
        &self,
        run_id: uuid::Uuid,
    ) -> Result<Option<String>, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.cleanup_values(run_id).await,
            Engine::Sqlite(db) => {
                db.run("reading cleanup values", move |c| {
                    cleanup::values_of(c, run_id)
                })
                .await
            }
        }
    }
}
