//! The alert database on PostgreSQL: the pool (the run history's
//! [`PgTarget::pool`]), migrating on first contact, backing off while the
//! server is away, and the fence. The statements are [`super::pg_sql`]'s.
//!
//! The outbox's decisions (write or keep in memory, flush, serve from memory)
//! are [`super::slot`]'s and the same for both backends. Its calls are
//! synchronous, on a blocking thread (`spawn_blocking`) holding the slot's
//! mutex, so an operation here drives its future with the runtime's
//! [`Handle::block_on`](tokio::runtime::Handle::block_on): alert writes stay
//! serialized in commit order exactly as on SQLite. Every operation is bounded
//! by [`OP_TIMEOUT`], and after a connection failure nothing is tried again
//! before the backoff ([`MIN_BACKOFF`]..[`MAX_BACKOFF`], as for the run
//! history) has passed: calls meanwhile fail at once ([`StoreError::Unavailable`])
//! and the slot keeps what they write in memory.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::{Client, Pool};

use super::backend::Db;
use super::pg_sql::{Fence, PgError};
use super::slot::Slot;
use super::{AlertDb, Inner, Silence};
use crate::store::postgres::{MAX_BACKOFF, MIN_BACKOFF, is_transient, is_transient_pg, migrate};
use crate::store::{Database, OpenError, PgTarget, StoreError};

/// One operation (connecting, migrating and the statements) gives up after this long.
pub(super) const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL side of the alert database.
#[derive(Debug)]
pub(super) struct PgOutbox {
    pool: Pool,
    /// `postgresql://host:port/db`, for logs and errors (never the URL).
    location: String,
    migrated: bool,
    /// The last attempt reached the server.
    up: bool,
    /// Some attempt reached the server since start.
    reached: bool,
    backoff: Duration,
    retry_at: Option<Instant>,
    /// Alert state and outbox writes require this owner and term (see
    /// [`super::AlertDb::set_fence`]).
    pub fence: Option<(String, i64)>,
    /// The silences in force at the last successful read: used while the
    /// server is away, so a silence keeps working through an outage.
    silences: Vec<Silence>,
}

/// Why an attempt failed, before it becomes a [`StoreError`].
enum Failure {
    Connect(String),
    Migrate(OpenError),
    Op(PgError),
    Timeout,
}

impl PgOutbox {
    /// A pool for `target`; nothing is contacted yet.
    pub fn new(target: &PgTarget) -> Result<Self, OpenError> {
        let pool = target.pool().map_err(|e| match e {
            OpenError::Other {
                location, source, ..
            } => OpenError::Other {
                location,
                database: Database::Alerts,
                source,
            },
            other => other,
        })?;
        Ok(Self {
            pool,
            location: target.describe(),
            migrated: false,
            up: false,
            reached: false,
            backoff: MIN_BACKOFF,
            retry_at: None,
            fence: None,
            silences: Vec::new(),
        })
    }

    /// The last attempt reached the server.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Some attempt reached the server since start (before that, rows stored
    /// by an earlier process are unknown, as for a SQLite file never opened).
    pub fn reached(&self) -> bool {
        self.reached
    }

    /// Runs `op` on a pooled connection (migrating first, once), on this
    /// blocking thread; see the module docs.
    pub fn run<T, F>(&mut self, what: &'static str, op: F) -> Result<T, StoreError>
    where
        F: AsyncFnOnce(&mut Client, Fence<'_>) -> Result<T, PgError>,
    {
        let unavailable = || StoreError::Unavailable {
            location: self.location.clone(),
            database: Database::Alerts,
            what,
        };
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return Err(unavailable());
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return Err(unavailable());
        };
        let (pool, migrated, location) = (self.pool.clone(), self.migrated, self.location.clone());
        let fence = self.fence.clone();
        let attempt = async {
            let mut client = pool.get().await.map_err(|e| match is_transient(&e) {
                true => Failure::Connect(e.to_string()),
                false => Failure::Connect(format!("{e} (not a connection problem)")),
            })?;
            if !migrated {
                migrate(&mut client, &location)
                    .await
                    .map_err(Failure::Migrate)?;
            }
            op(&mut client, fence.as_ref()).await.map_err(Failure::Op)
        };
        let result = handle.block_on(async {
            tokio::time::timeout(OP_TIMEOUT, attempt)
                .await
                .unwrap_or(Err(Failure::Timeout))
        });
        self.outcome(what, result)
    }

    /// Records whether the server answered and turns a failure into a [`StoreError`].
    fn outcome<T>(
        &mut self,
        what: &'static str,
        result: Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let location = self.location.clone();
        let query = |source: crate::store::BoxError| StoreError::Query {
            location: location.clone(),
            what,
            source,
        };
        match result {
            Ok(v) => {
                self.answered();
                Ok(v)
            }
            Err(Failure::Op(PgError::Fenced)) => {
                self.answered();
                let (owner, term) = self.fence.clone().unwrap_or_default();
                Err(StoreError::Fenced {
                    location,
                    what,
                    owner,
                    term,
                })
            }
            Err(Failure::Op(PgError::Decode(e))) => {
                self.answered();
                Err(query(e.into()))
            }
            Err(Failure::Op(PgError::Db(e))) if !is_transient_pg(&e) => {
                self.answered();
                Err(query(Box::new(e)))
            }
            Err(Failure::Migrate(e @ OpenError::TooNew { .. })) => {
                tracing::error!(database = %location, error = %e, "The alert tables were written by a newer journeyd; alerting runs from memory.");
                self.away(&e.to_string());
                Err(StoreError::Open(e))
            }
            Err(Failure::Op(PgError::Db(e))) => {
                self.away(&e.to_string());
                Err(query(Box::new(e)))
            }
            Err(Failure::Migrate(e)) => {
                self.away(&e.to_string());
                Err(query(e.to_string().into()))
            }
            Err(Failure::Connect(e)) => {
                self.away(&e);
                Err(StoreError::Unavailable {
                    location,
                    database: Database::Alerts,
                    what,
                })
            }
            Err(Failure::Timeout) => {
                self.away("no answer in time");
                Err(query(format!("no answer within {OP_TIMEOUT:?}").into()))
            }
        }
    }

    /// The server answered: it is up, migrated, and the backoff starts over.
    fn answered(&mut self) {
        if !self.up && self.reached {
            tracing::info!(database = %self.location, "PostgreSQL answers again; alerts are stored there again.");
        }
        self.up = true;
        self.reached = true;
        self.migrated = true;
        self.backoff = MIN_BACKOFF;
        self.retry_at = None;
    }

    /// The server is away: try again after the backoff, which doubles.
    fn away(&mut self, error: &str) {
        if self.up || !self.reached && self.retry_at.is_none() {
            tracing::warn!(database = %self.location, error,
                "PostgreSQL is not reachable for alerting: alert state and notifications are kept \
                 in memory (bounded) and delivered from there until it returns.");
        }
        self.up = false;
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    /// Remembers the silences read at `now` (all in force then).
    pub fn remember_silences(&mut self, silences: &[Silence]) {
        self.silences = silences.to_vec();
    }

    /// The remembered silences still in force at `now` (ms).
    pub fn remembered_silences(&self, now: i64) -> Vec<Silence> {
        self.silences
            .iter()
            .filter(|s| s.starts_at.timestamp_millis() <= now && s.ends_at.timestamp_millis() > now)
            .cloned()
            .collect()
    }
}

/// An [`AlertDb`] on the alert tables of `target`; nothing is contacted yet.
pub(super) fn start(target: &PgTarget) -> Result<AlertDb, OpenError> {
    let slot = Slot::new(Db::Pg(Box::new(PgOutbox::new(target)?)));
    Ok(AlertDb {
        inner: Arc::new(Inner {
            path: PathBuf::from(target.describe()),
            status: Arc::clone(&slot.status),
            slot: Mutex::new(slot),
            silences: std::sync::Mutex::new(super::silences::Cache::new()),
        }),
    })
}

impl AlertDb {
    /// On PostgreSQL, contacts the server now (migrating the schema): `Ok(true)`
    /// when it answered, `Ok(false)` when it cannot be reached (alerting runs
    /// from memory and it is tried again with backoff), an error when the
    /// schema is from a newer journeyd. Always `Ok(true)` on SQLite.
    pub async fn connect(&self) -> Result<bool, OpenError> {
        let result = self
            .with_slot(|slot| Ok(slot.call(|db| db.queued_receivers())))
            .await;
        match result {
            Ok(Err(StoreError::Open(e))) => Err(e),
            Ok(Ok(_)) => Ok(true),
            _ => Ok(self.is_open()),
        }
    }

    /// Fences this handle's writes of alert state and of the outbox on
    /// PostgreSQL (commit, enqueue, delivery's delete and reschedule, flush,
    /// removing journeys): with `Some((owner, term))`, each runs in a
    /// transaction that first checks (and share-locks) the `fleet_roles` row
    /// `role = 'alerting'` for that owner and term, and is refused with
    /// [`StoreError::Fenced`] when it does not match: a deposed leader cannot
    /// write. A refused commit or enqueue is not kept in memory, and what
    /// waited in memory is dropped at the first refused flush (the new leader
    /// re-derives alert state from runs). While PostgreSQL cannot be reached
    /// the fence cannot be checked: writes wait in memory as usual and meet
    /// it when they are flushed. Silences and deploys are not fenced (any
    /// replica's API writes them). `None` removes the fence; SQLite ignores it.
    pub fn set_fence(&self, fence: Option<(String, i64)>) {
        self.lock().db.set_fence(fence);
    }
}
