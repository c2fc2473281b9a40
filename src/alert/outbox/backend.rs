//! Where the alert database lives: a SQLite file ([`super::db`]) or
//! PostgreSQL ([`super::pg`], [`super::pg_sql`]). Every operation is one
//! method here that dispatches on the backend, so [`super::slot`] (what goes
//! to memory, what is flushed) and [`super::AlertDb`] are written once.
//! Errors name the location and the operation, as [`StoreError`]s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use rusqlite::Connection;

use super::db::{self, HeadRow, NewRow};
use super::deploys::{self, Deploy};
use super::pg::PgOutbox;
use super::slot::REOPEN_EVERY;
use super::spill::MemRow;
use super::{Pending, Silence, schema};
use super::{pg_records, pg_sql};
use crate::store::{Access, Database, StoreError};

/// The alert database's backend.
#[derive(Debug)]
pub(super) enum Db {
    /// `alerts.db`.
    Sqlite(SqliteDb),
    /// The fleet-wide alert tables in PostgreSQL.
    Pg(Box<PgOutbox>),
}

/// The SQLite file and its connection, absent while it cannot be opened.
#[derive(Debug)]
pub(super) struct SqliteDb {
    pub path: PathBuf,
    pub conn: Option<Connection>,
    last_open: Option<Instant>,
}

impl SqliteDb {
    pub fn new(path: PathBuf, conn: Option<Connection>) -> Self {
        Self {
            path,
            conn,
            last_open: Some(Instant::now()),
        }
    }

    /// The open connection, re-opening a closed database when it is time to try.
    fn conn(&mut self, what: &'static str) -> Result<&mut Connection, StoreError> {
        if self.conn.is_none() && self.last_open.is_none_or(|t| t.elapsed() >= REOPEN_EVERY) {
            self.last_open = Some(Instant::now());
            match crate::store::sqlite::open(&self.path, &schema::ALERTS, Access::ReadWrite) {
                Ok(conn) => {
                    tracing::info!(path = %self.path.display(), "Alert database opened; alerts are stored again.");
                    self.conn = Some(conn);
                }
                Err(e) => tracing::debug!(error = %e, "Alert database still cannot be opened."),
            }
        }
        let location = self.path.display().to_string();
        self.conn.as_mut().ok_or(StoreError::Unavailable {
            location,
            database: Database::Alerts,
            what,
        })
    }

    /// Runs `f` on the connection; its error names the file and `what`.
    fn run<T>(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let location = self.path.display().to_string();
        f(self.conn(what)?).map_err(|e| StoreError::Query {
            location,
            what,
            source: Box::new(e),
        })
    }
}

impl Db {
    /// Open (SQLite), or the last attempt reached the server (PostgreSQL).
    pub fn is_open(&self) -> bool {
        match self {
            Db::Sqlite(s) => s.conn.is_some(),
            Db::Pg(p) => p.is_up(),
        }
    }

    /// Whether rows stored before this process may exist that it cannot see:
    /// false until the database was opened or reached once.
    pub fn reached(&self) -> bool {
        match self {
            Db::Sqlite(s) => s.conn.is_some(),
            Db::Pg(p) => p.reached(),
        }
    }

    /// Sets the fence PostgreSQL writes of state and outbox must hold; SQLite
    /// has a single writer and ignores it.
    pub fn set_fence(&mut self, fence: Option<(String, i64)>) {
        if let Db::Pg(p) = self {
            p.fence = fence;
        }
    }

    /// Journey -> state JSON.
    pub fn load_states(&mut self) -> Result<BTreeMap<String, String>, StoreError> {
        const WHAT: &str = "loading alert states";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::load_states(c)),
            Db::Pg(p) => p.run(WHAT, async |c, _| pg_sql::load_states(c).await),
        }
    }

    /// A state change and its notifications, in one transaction.
    pub fn commit(
        &mut self,
        journey: &str,
        state: &str,
        rows: &[NewRow],
        now: i64,
    ) -> Result<(), StoreError> {
        const WHAT: &str = "committing alert state";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::commit(c, journey, state, rows, now)),
            Db::Pg(p) => p.run(WHAT, async |c, f| {
                pg_sql::commit(c, f, journey, state, rows, now).await
            }),
        }
    }

    /// Re-sends, coalesced; returns the rows inserted.
    pub fn enqueue(&mut self, rows: &[NewRow], now: i64) -> Result<usize, StoreError> {
        const WHAT: &str = "queueing notifications";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::enqueue(c, rows, now)),
            Db::Pg(p) => p.run(WHAT, async |c, f| pg_sql::enqueue(c, f, rows, now).await),
        }
    }

    /// What waited in memory, in one transaction; returns the new row ids.
    pub fn flush(
        &mut self,
        done: &[i64],
        states: &BTreeMap<String, String>,
        rows: &[MemRow],
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        const WHAT: &str = "storing what waited in memory";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::flush(c, done, states, rows, now)),
            Db::Pg(p) => p.run(WHAT, async |c, f| {
                pg_sql::flush(c, f, done, states, rows, now).await
            }),
        }
    }

    /// Forgets the state of journeys not in `keep`; returns how many.
    pub fn remove_journeys(&mut self, keep: &[String]) -> Result<usize, StoreError> {
        const WHAT: &str = "removing alert states";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::remove_journeys(c, keep)),
            Db::Pg(p) => p.run(WHAT, async |c, f| pg_sql::remove_journeys(c, f, keep).await),
        }
    }

    /// The oldest stored row of `receiver` after `after`, and how many it has.
    pub fn head(
        &mut self,
        receiver: &str,
        after: i64,
    ) -> Result<(Option<HeadRow>, u64), StoreError> {
        const WHAT: &str = "reading the outbox";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::head(c, receiver, after)),
            Db::Pg(p) => p.run(WHAT, async |c, _| pg_sql::head(c, receiver, after).await),
        }
    }

    /// Deletes a finished row; false when it was already gone.
    pub fn delete(&mut self, id: i64) -> Result<bool, StoreError> {
        const WHAT: &str = "deleting a notification";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::delete(c, id)),
            Db::Pg(p) => p.run(WHAT, async |c, f| pg_sql::delete(c, f, id).await),
        }
    }

    /// Records a failed attempt.
    pub fn reschedule(
        &mut self,
        id: i64,
        attempts: u32,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        const WHAT: &str = "rescheduling a notification";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| {
                db::reschedule(c, id, attempts, next_attempt_at, error)
            }),
            Db::Pg(p) => p.run(WHAT, async |c, f| {
                pg_sql::reschedule(c, f, id, (attempts, next_attempt_at), error).await
            }),
        }
    }

    /// Receivers with stored rows, and how many each has.
    pub fn queued_receivers(&mut self) -> Result<BTreeMap<String, u64>, StoreError> {
        const WHAT: &str = "reading the outbox";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::queued_receivers(c)),
            Db::Pg(p) => p.run(WHAT, async |c, _| pg_sql::queued_receivers(c).await),
        }
    }

    /// Every stored row, oldest first.
    pub fn pending(&mut self) -> Result<Vec<Pending>, StoreError> {
        const WHAT: &str = "listing pending notifications";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::pending(c)),
            Db::Pg(p) => p.run(WHAT, async |c, _| pg_sql::pending(c).await),
        }
    }

    /// Stores a silence (pruning old ones); returns its id.
    pub fn add_silence(
        &mut self,
        matchers_json: &str,
        span: (i64, i64),
        prune_before: i64,
        (by, comment): (&str, &str),
    ) -> Result<i64, StoreError> {
        const WHAT: &str = "adding a silence";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| {
                db::add_silence(c, matchers_json, span, prune_before, by, comment)
            }),
            Db::Pg(p) => p.run(WHAT, async |c, _| {
                pg_records::add_silence(c, matchers_json, span, prune_before, (by, comment)).await
            }),
        }
    }

    /// Silences in force at `now`. On PostgreSQL, while the server is away,
    /// those in force at the last successful read (and still at `now`).
    pub fn active_silences(&mut self, now: i64) -> Result<Vec<Silence>, StoreError> {
        const WHAT: &str = "reading silences";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::active_silences(c, now)),
            Db::Pg(p) => {
                match p.run(WHAT, async |c, _| pg_records::active_silences(c, now).await) {
                    Ok(silences) => {
                        p.remember_silences(&silences);
                        Ok(silences)
                    }
                    Err(_) if !p.is_up() => Ok(p.remembered_silences(now)),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Ends a silence at `now`; false when there is none or it already ended.
    pub fn expire_silence(&mut self, id: i64, now: i64) -> Result<bool, StoreError> {
        const WHAT: &str = "expiring a silence";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| db::expire_silence(c, id, now)),
            Db::Pg(p) => p.run(WHAT, async |c, _| {
                pg_records::expire_silence(c, id, now).await
            }),
        }
    }

    /// Records a deploy (JSON columns encoded), pruning; returns its id.
    pub fn add_deploy(
        &mut self,
        at: i64,
        (backends, journeys): (&str, &str),
        row: &(String, String, String),
        prune_before: i64,
    ) -> Result<i64, StoreError> {
        const WHAT: &str = "recording a deploy";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| {
                deploys::insert(c, at, backends, journeys, row, prune_before)
            }),
            Db::Pg(p) => p.run(WHAT, async |c, _| {
                let (service, version, description) = row;
                let texts = (service.as_str(), version.as_str(), description.as_str());
                pg_records::add_deploy(c, at, (backends, journeys), texts, prune_before).await
            }),
        }
    }

    /// Deploys in `[from, to]`, newest first, at most `limit`.
    pub fn deploys_between(
        &mut self,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<Deploy>, StoreError> {
        const WHAT: &str = "reading deploys";
        match self {
            Db::Sqlite(s) => s.run(WHAT, |c| deploys::select(c, from, to, limit)),
            Db::Pg(p) => p.run(WHAT, async |c, _| {
                pg_records::deploys_between(c, from, to, limit).await
            }),
        }
    }
}
