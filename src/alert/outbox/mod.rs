//! The durable alert outbox: alert state, pending notifications, silences and
//! deploys in one SQLite file (`alerts.db` in the state directory) or, when the
//! store is PostgreSQL, in fleet-wide tables there ([`pg`], [`pg_sql`],
//! [`pg_records`]; every
//! replica sees the same rows), and the workers that deliver the
//! notifications ([`delivery`]). One handle dispatches to either backend
//! ([`backend`]); what goes to memory and what is flushed ([`slot`],
//! [`spill`]) is decided the same way for both.
//!
//! - A notification is stored before it is sent and deleted only when its
//!   receiver accepts it (or rejects it for good), so a crash at any point
//!   delivers it after the restart: at least once, never zero times. The row id
//!   travels with it ([`Notification::id`]) for receivers that de-duplicate.
//! - [`AlertDb::commit`] writes a journey's new alert state and the
//!   notifications of that transition in one transaction: after a crash either
//!   both exist or neither does. That is what keeps a restart from re-paging a
//!   firing alert (the state says it already fired) or losing a resolve (the
//!   state cannot say "resolved" without the resolve being queued).
//! - The file is separate from the run history, so alert writes never queue
//!   behind history writes.
//!
//! # When the file cannot be written
//!
//! A full disk must not silence alerting. A commit or re-send that cannot be
//! written (disk full, I/O error, or a database that [`AlertDb::start`] could
//! not open because the disk was full at start-up) is kept in memory
//! ([`spill`]), in commit order, and the call succeeds: the delivery workers
//! serve it from there at once, after the receiver's stored rows, which are
//! older. Every later commit joins it until the whole spill is written in one
//! transaction (tried before every write, at most every second before a
//! read), so order per receiver holds and nothing is sent twice: a row stored
//! while it was being sent keeps its outcome, and a delivered row whose delete
//! cannot be written is remembered and skipped. A closed database is opened
//! (created, migrated) within [`slot::REOPEN_EVERY`] of space returning. One
//! exception to order: while a database that could not be opened at start
//! stays closed, the rows stored in it before are unreachable, so what waits
//! in memory goes out first and those rows follow once it opens.
//! Failures show in `journeyd_alert_commit_failures_total`,
//! `journeyd_alert_notifications_in_memory` and `journeyd_store_up{database="alerts"}`.
//!
//! # When PostgreSQL cannot be reached
//!
//! Exactly the same path: PostgreSQL down or restarting is a write that
//! fails, so commits wait in memory in order and are flushed in one
//! transaction when it answers again (retried with backoff, [`pg`]). A
//! receiver's spilled rows are delivered from memory only when none of its
//! stored rows is left as far as the last successful read knows; otherwise
//! its worker waits for the database, so a spilled resolve never overtakes a
//! stored firing. [`AlertDb::start`] never waits for the server: the first
//! operation connects and migrates. [`AlertDb::set_fence`] lets the fleet's
//! alerting leader refuse writes of a deposed term.
//!
//! # What a crash can lose
//!
//! With writes working: nothing committed (`synchronous=FULL`). The engine
//! commits a journey's state at once only when what it says changes (phase,
//! alerts, streak) or notifications go with it; counters alone are written
//! at the next tick ([`AlertDb::commit_states`]), so a crash can lose one
//! tick of counters (a resolve may wait one more passing run). During a full
//! disk: whatever waits only in memory, i.e. the alert states and the
//! notifications committed since the failure (at most [`spill::MAX_ROWS`]
//! notifications). After the restart the stored state is the last one written,
//! and the engine re-derives from fresh runs: an alert still failing fires
//! again (a second page if the first was delivered from memory), a resolve
//! whose firing is still stored is sent when the journey passes, a firing and
//! resolve that both happened during the outage are not re-sent. Shutdown
//! tries one last flush and logs how many notifications it could not store.
//!
//! Alert volume is tiny (a few rows per state change), so one connection
//! behind a mutex serves every call, each in `spawn_blocking`: no pool, no
//! writer thread. On PostgreSQL the handle uses a pool (as the run history
//! does) but still one call at a time under that mutex, which is what keeps
//! commit order.
//!
//! [`Notification::id`]: crate::alert::receivers::Notification::id

mod backend;
mod db;
pub mod delivery;
mod deploys;
mod pg;
mod pg_records;
mod pg_sql;
mod schema;
mod silences;
mod slot;
mod spill;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::alert::receivers::fingerprint;
use crate::alert::state::AlertEvent;
use crate::metrics::Metrics;
use crate::store::{Access, Backend, Database, OpenError, StoreError};
use backend::{Db, SqliteDb};
use db::NewRow;
pub use delivery::{DeliveryHandle, DeliveryOptions, spawn_delivery, spawn_delivery_with};
pub use deploys::{DEPLOY_RETENTION, Deploy, MAX_DEPLOYS, NewDeploy};
pub use silences::{SILENCE_RETENTION, Silence};
use slot::Slot;

/// The schema version this build writes (`PRAGMA user_version` of `alerts.db`).
pub const SCHEMA_VERSION: i64 = schema::ALERTS.version();

/// The alert database; cheap to clone (every clone shares one connection).
#[derive(Debug, Clone)]
pub struct AlertDb {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    slot: Mutex<Slot>,
    status: Arc<slot::Status>,
    /// Silences in force, kept between reads ([`silences::Cache`]).
    silences: std::sync::Mutex<silences::Cache>,
}

/// Which notification: a stored row, or one waiting in memory ([`spill`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Row(i64),
    Mem(u64),
}

impl Key {
    /// The id receivers see: the row id, or minus the memory key (ids of rows
    /// waiting in memory are negative; a flush gives them a row id).
    fn id(self) -> i64 {
        match self {
            Key::Row(id) => id,
            Key::Mem(k) => i64::try_from(k).map_or(i64::MIN, |k| -k),
        }
    }
}

/// A notification waiting for its receiver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pending {
    /// Row id, also the notification's id.
    pub id: i64,
    /// Receiver name.
    pub receiver: String,
    /// Fingerprint of the alert's labels.
    pub fingerprint: String,
    /// What is to be sent.
    pub event: AlertEvent,
    /// When it was queued (millisecond precision).
    pub created_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not retried before this time.
    pub next_attempt_at: DateTime<Utc>,
    /// What the last failed attempt said.
    pub last_error: Option<String>,
}

impl AlertDb {
    /// Opens (creating if needed) the alert database (normally the SQLite
    /// file `alerts.db` in the state directory). Errors name the file and what to do.
    ///
    /// On PostgreSQL this is [`start`](Self::start): nothing is contacted
    /// until the first operation, which migrates the schema.
    pub fn open(backend: impl Into<Backend>) -> Result<AlertDb, OpenError> {
        let path = match backend.into() {
            Backend::Sqlite(path) => path,
            Backend::Postgres(target) => return pg::start(&target),
        };
        let conn = crate::store::sqlite::open(&path, &schema::ALERTS, Access::ReadWrite)?;
        Ok(Self::with_conn(path, Some(conn)))
    }

    /// [`open`](Self::open), but a full disk does not stop journeyd: the
    /// database starts closed, everything waits in memory, and it is opened
    /// (created, migrated) as soon as space returns. Any other failure (not
    /// ours, too new, corrupt, permissions) is returned: that needs an operator.
    ///
    /// On PostgreSQL only an invalid URL is an error: the server is contacted
    /// (and the schema migrated) at the first operation, and while it cannot
    /// be reached alerting runs from memory exactly as on a full disk, trying
    /// again with backoff ([`AlertDb::connect`] tries once at start-up).
    pub fn start(backend: impl Into<Backend>) -> Result<AlertDb, OpenError> {
        let path = match backend.into() {
            Backend::Sqlite(path) => path,
            Backend::Postgres(target) => return pg::start(&target),
        };
        match crate::store::sqlite::open(&path, &schema::ALERTS, Access::ReadWrite) {
            Ok(conn) => Ok(Self::with_conn(path, Some(conn))),
            Err(e @ OpenError::DiskFull { .. }) => {
                tracing::error!(
                    path = %path.display(),
                    error = %e,
                    "The disk holding the alert database is full: alerting runs from memory \
                     (nothing is stored, a restart forgets it) and the database is opened as \
                     soon as space returns."
                );
                Ok(Self::with_conn(path, None))
            }
            Err(e) => Err(e),
        }
    }

    fn with_conn(path: PathBuf, conn: Option<rusqlite::Connection>) -> AlertDb {
        let slot = Slot::new(Db::Sqlite(SqliteDb::new(path.clone(), conn)));
        AlertDb {
            inner: Arc::new(Inner {
                status: Arc::clone(&slot.status),
                slot: Mutex::new(slot),
                path,
                silences: std::sync::Mutex::new(silences::Cache::new()),
            }),
        }
    }

    /// The file (SQLite), or `postgresql://host:port/db` without credentials.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// True while the database is open (false after a start on a full disk,
    /// until it could be opened; on PostgreSQL, while the server answered the
    /// last attempt).
    pub fn is_open(&self) -> bool {
        self.status().open.load(Ordering::Relaxed)
    }

    /// Open, and its last write succeeded (nothing waits in memory).
    pub fn is_healthy(&self) -> bool {
        self.status().healthy.load(Ordering::Relaxed)
    }

    /// Notifications waiting in memory because the database could not be written.
    pub fn in_memory(&self) -> usize {
        self.status().in_memory.load(Ordering::Relaxed)
    }

    /// What the slot published last. Read without its mutex, which an
    /// operation on an unreachable PostgreSQL holds for up to [`pg::OP_TIMEOUT`].
    fn status(&self) -> &slot::Status {
        &self.inner.status
    }

    /// Exports the outbox's health (`journeyd_store_up{database="alerts"}`,
    /// commit failures, notifications in memory) to `metrics`.
    pub fn set_metrics(&self, metrics: Arc<Metrics>) {
        let mut slot = self.lock();
        slot.metrics = Some(metrics);
        slot.publish();
    }

    /// Tries once more to store what waits in memory (shutdown); returns how
    /// many notifications are still only in memory, which a restart loses.
    pub async fn flush(&self) -> usize {
        let inner = Arc::clone(&self.inner);
        let left = tokio::task::spawn_blocking(move || {
            let mut slot = inner.slot.lock().unwrap_or_else(PoisonError::into_inner);
            slot.flush(true);
            slot.spill.rows.len()
        });
        left.await.unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every journey's persisted alert state: journey -> the JSON the engine committed.
    pub async fn load_states(&self) -> Result<BTreeMap<String, String>, StoreError> {
        self.run(|db| db.load_states()).await
    }

    /// Writes `journey`'s state and queues `notifications` (`(receiver, event)`)
    /// in one transaction: after a crash both exist or neither does. Call
    /// [`DeliveryHandle::wake`] afterwards.
    pub async fn commit(
        &self,
        journey: &str,
        state_json: &str,
        notifications: &[(String, AlertEvent)],
    ) -> Result<(), StoreError> {
        let rows = encode(notifications)?;
        let (journey, state) = (journey.to_string(), state_json.to_string());
        self.with_slot(move |slot| slot.commit(&journey, &state, rows, now_ms()))
            .await
    }

    /// Writes several journeys' states in one transaction, without
    /// notifications (the engine's deferred states: one write per tick instead
    /// of one synchronous commit per run). Kept in memory like a commit when
    /// the database cannot be written.
    pub async fn commit_states(&self, states: BTreeMap<String, String>) -> Result<(), StoreError> {
        if states.is_empty() {
            return Ok(());
        }
        self.with_slot(move |slot| slot.commit_states(states, now_ms()))
            .await
    }

    /// Queues notifications without a state change (re-sends to Alertmanager).
    /// A Firing whose alert is already the newest pending row for its receiver
    /// is not queued again; that row takes the newer text. Returns the rows
    /// inserted. Call [`DeliveryHandle::wake`] afterwards.
    pub async fn enqueue(
        &self,
        notifications: &[(String, AlertEvent)],
    ) -> Result<usize, StoreError> {
        let rows = encode(notifications)?;
        self.with_slot(move |slot| slot.enqueue(rows, now_ms()))
            .await
    }

    /// Forgets the state of journeys not in `keep` (removed by a reload);
    /// returns how many. Their pending notifications stay and are delivered.
    pub async fn remove_journeys(&self, keep: &[String]) -> Result<usize, StoreError> {
        let keep = keep.to_vec();
        let memory = keep.clone();
        self.with_slot(move |slot| {
            slot.spill.states.retain(|j, _| memory.contains(j));
            slot.publish();
            Ok(())
        })
        .await?;
        match self.run(move |db| db.remove_journeys(&keep)).await {
            // Not open (full disk at start): nothing stored to forget yet; the
            // next start after a reload forgets them.
            Err(StoreError::Unavailable { .. }) => Ok(0),
            other => other,
        }
    }

    /// Every pending notification, oldest first: the stored ones, then those
    /// waiting in memory (negative ids).
    pub async fn pending(&self) -> Result<Vec<Pending>, StoreError> {
        let stored = self.run(|db| db.pending()).await;
        self.with_slot(move |slot| {
            let stored = match stored {
                Ok(rows) => rows,
                Err(_) if !slot.db.is_open() => Vec::new(),
                Err(e) => return Err(e),
            };
            Ok(slot.spill.pending_after(stored))
        })
        .await
    }

    /// The oldest notification of `receiver` and how many it has (delivery):
    /// stored ones first, then those waiting in memory.
    async fn head(&self, receiver: &str) -> Result<(Option<db::HeadRow>, u64), StoreError> {
        let receiver = receiver.to_string();
        self.with_slot(move |slot| slot.head(&receiver)).await
    }

    /// Deletes a delivered or dropped notification (delivery). When the
    /// delete cannot be written the row is remembered as done, so it is not
    /// sent again.
    async fn delete(&self, key: Key, receiver: &str) -> Result<(), StoreError> {
        let receiver = receiver.to_string();
        self.with_slot(move |slot| slot.delete(key, &receiver))
            .await
    }

    /// Records a failed attempt (delivery).
    async fn reschedule(
        &self,
        key: Key,
        attempts: u32,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = error.to_string();
        self.with_slot(move |slot| slot.reschedule(key, attempts, next_attempt_at, &error))
            .await
    }

    /// Receivers with pending notifications, and how many each has.
    async fn queued_receivers(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        self.run(|db| db.queued_receivers()).await
    }

    /// Runs `f` on the database in a blocking task.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    {
        self.with_slot(move |slot| slot.call(f)).await
    }

    /// Runs `f` on the connection and the spill in a blocking task.
    async fn with_slot<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Slot) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let task = tokio::task::spawn_blocking(move || {
            // A panic mid-call leaves no open transaction (dropping one rolls it
            // back), so the connection is still consistent: ignore the poison.
            let mut slot = inner.slot.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut slot)
        });
        task.await.map_err(|source| StoreError::Task {
            database: Database::Alerts,
            source,
        })?
    }
}

/// Serializes notifications on the caller's side, with their fingerprints.
fn encode(notifications: &[(String, AlertEvent)]) -> Result<Vec<NewRow>, StoreError> {
    notifications
        .iter()
        .map(|(receiver, event)| {
            let json = serde_json::to_string(event).map_err(|source| StoreError::Encode {
                what: "a notification",
                source,
            })?;
            let labels = match event {
                AlertEvent::Firing(a) | AlertEvent::Resolved(a, _) => &a.labels,
            };
            Ok(NewRow {
                receiver: receiver.clone(),
                fingerprint: fingerprint(labels),
                event: event.clone(),
                json,
            })
        })
        .collect()
}

/// Wall-clock Unix milliseconds: what the database stores.
fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}
