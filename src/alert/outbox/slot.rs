//! The alert database's connection (absent while the file cannot be opened)
//! and the in-memory [`Spill`], behind one mutex: every outbox operation
//! decides here, in one place, whether it goes to the file or to memory.
//!
//! - A write that fails (or finds the database not open) is kept in memory and
//!   the call still succeeds: the notifications are queued, only not durably.
//! - Before every write, and at most every [`FLUSH_EVERY`] before a read, the
//!   spill is retried into the file in one transaction.
//! - A closed database is re-opened (created, migrated) at most every
//!   [`REOPEN_EVERY`], so it comes back by itself when space returns.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::db::{self, HeadRow, NewRow};
use super::schema;
use super::spill::{MemRow, Place, Spill};
use super::{Key, now_ms};
use crate::metrics::Metrics;
use crate::store::{Access, Database, StoreError};

/// A closed database is re-opened at most this often.
pub(super) const REOPEN_EVERY: Duration = Duration::from_secs(5);
/// Reads retry the spill at most this often (writes always do).
pub(super) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The connection and what waits in memory.
#[derive(Debug)]
pub(super) struct Slot {
    pub path: PathBuf,
    pub conn: Option<Connection>,
    pub spill: Spill,
    pub metrics: Option<Arc<Metrics>>,
    last_open: Option<Instant>,
    last_flush: Option<Instant>,
}

impl Slot {
    pub fn new(path: PathBuf, conn: Option<Connection>) -> Self {
        Self {
            path,
            conn,
            spill: Spill::default(),
            metrics: None,
            last_open: Some(Instant::now()),
            last_flush: None,
        }
    }

    /// The open connection, re-opening a closed database when it is time to try.
    pub fn conn(&mut self, what: &'static str) -> Result<&mut Connection, StoreError> {
        if self.conn.is_none() && self.last_open.is_none_or(|t| t.elapsed() >= REOPEN_EVERY) {
            self.last_open = Some(Instant::now());
            match crate::store::sqlite::open(&self.path, &schema::ALERTS, Access::ReadWrite) {
                Ok(conn) => {
                    tracing::info!(path = %self.path.display(), "Alert database opened; alerts are stored again.");
                    self.conn = Some(conn);
                    self.publish();
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

    /// Writes the spill to the file; true when nothing waits any more.
    /// `force` ignores [`FLUSH_EVERY`].
    pub fn flush(&mut self, force: bool) -> bool {
        if self.spill.is_empty() {
            return true;
        }
        if !force && self.last_flush.is_some_and(|t| t.elapsed() < FLUSH_EVERY) {
            return false;
        }
        self.last_flush = Some(Instant::now());
        let done: Vec<i64> = self.spill.done.keys().copied().collect();
        let rows: Vec<MemRow> = self.spill.rows.iter().cloned().collect();
        let states = self.spill.states.clone();
        let at = self.at("storing what waited in memory");
        let result = self
            .conn("storing what waited in memory")
            .and_then(|c| query(at, db::flush(c, &done, &states, &rows, now_ms())));
        match result {
            Ok(ids) => {
                self.spill.flushed(&ids);
                tracing::info!(
                    notifications = rows.len(),
                    states = states.len(),
                    "Alert state and notifications kept in memory are stored again."
                );
                self.publish();
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "Alert database still cannot be written.");
                false
            }
        }
    }

    /// Writes a state change and its notifications, or keeps them in memory.
    pub fn commit(&mut self, journey: &str, state: &str, rows: Vec<NewRow>, now: i64) {
        if self.flush(true) {
            let at = self.at("committing alert state");
            let result = self
                .conn("committing alert state")
                .and_then(|c| query(at, db::commit(c, journey, state, &rows, now)));
            match result {
                Ok(()) => return,
                Err(e) => self.failed(&e, rows.len()),
            }
        } else {
            self.failed_again(rows.len());
        }
        let lost = self.spill.commit(Some((journey, state)), rows, now);
        self.lost(lost);
        self.publish();
    }

    /// Queues re-sends (coalesced), in the file or in memory; returns rows added.
    pub fn enqueue(&mut self, rows: Vec<NewRow>, now: i64) -> usize {
        if self.flush(true) {
            let at = self.at("queueing notifications");
            let result = self
                .conn("queueing notifications")
                .and_then(|c| query(at, db::enqueue(c, &rows, now)));
            match result {
                Ok(n) => return n,
                Err(e) => self.failed(&e, rows.len()),
            }
        } else {
            self.failed_again(rows.len());
        }
        let (inserted, lost) = self.spill.enqueue(rows, now);
        self.lost(lost);
        self.publish();
        inserted
    }

    /// The oldest notification of `receiver`: stored rows first (they are
    /// older), then spilled ones; and how many it has in all.
    pub fn head(&mut self, receiver: &str) -> Result<(Option<HeadRow>, u64), StoreError> {
        self.flush(false);
        let after = self.spill.done_up_to(receiver);
        let at = self.at("reading the outbox");
        let stored = match self.conn("reading the outbox") {
            Ok(c) => query(at, db::head(c, receiver, after))?,
            // Not open: rows stored before are unreachable until it opens; send
            // what is in memory meanwhile (documented in the module docs).
            Err(_) => (None, 0),
        };
        let (row, depth) = stored;
        if row.is_some() {
            return Ok((row, depth + self.spill.depth(receiver)));
        }
        let (mem, mem_depth) = self.spill.head(receiver);
        let row = mem.map(|m| HeadRow {
            id: Key::Mem(m.key),
            event_json: m.row.json,
            created_at: m.created_at,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
        });
        Ok((row, depth + mem_depth))
    }

    /// Removes a delivered or dropped notification.
    pub fn delete(&mut self, key: Key, receiver: &str) -> Result<(), StoreError> {
        let id = match key {
            Key::Row(id) => id,
            Key::Mem(k) => match self.spill.finish(k) {
                Place::Memory(i) => {
                    self.spill.rows.remove(i);
                    self.publish();
                    return Ok(());
                }
                Place::Stored(id) => id,
                Place::Gone => return Ok(()),
            },
        };
        let at = self.at("deleting a notification");
        let result = self
            .conn("deleting a notification")
            .and_then(|c| query(at, db::delete(c, id)));
        if let Err(e) = result {
            // Remembered, so the row is not sent again; the next flush deletes it.
            tracing::warn!(notification = id, error = %e, "Cannot delete a finished notification; remembered in memory.");
            self.spill.done.insert(id, receiver.to_string());
            self.publish();
        }
        Ok(())
    }

    /// Records a failed attempt.
    pub fn reschedule(
        &mut self,
        key: Key,
        attempts: u32,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        let id = match key {
            Key::Row(id) => id,
            Key::Mem(k) => match self.spill.finish(k) {
                Place::Memory(i) => {
                    if let Some(m) = self.spill.rows.get_mut(i) {
                        m.attempts = attempts;
                        m.next_attempt_at = next_attempt_at;
                        m.last_error = Some(error.to_string());
                        m.leased = false;
                    }
                    return Ok(());
                }
                Place::Stored(id) => id,
                Place::Gone => return Ok(()),
            },
        };
        let at = self.at("rescheduling a notification");
        let c = self.conn("rescheduling a notification")?;
        query(at, db::reschedule(c, id, attempts, next_attempt_at, error))
    }

    /// The first failure after writes worked: the operator must know.
    fn failed(&self, e: &StoreError, notifications: usize) {
        tracing::error!(
            error = %e,
            notifications,
            "Cannot write the alert database; alert state and notifications are kept in memory \
             and delivered from there until it can be written again."
        );
        self.count_failure();
    }

    /// A write while the spill still waits: counted, logged quietly.
    fn failed_again(&self, notifications: usize) {
        tracing::debug!(
            notifications,
            "Alert database still not writable; kept in memory."
        );
        self.count_failure();
    }

    fn count_failure(&self) {
        if let Some(m) = &self.metrics {
            m.alert_commit_failed();
        }
    }

    fn lost(&self, lost: usize) {
        if lost > 0 {
            tracing::error!(
                notifications = lost,
                "Notifications dropped: the alert database cannot be written and the in-memory \
                 queue is full."
            );
            if let Some(m) = &self.metrics {
                m.alert_notifications_lost(lost as u64);
            }
        }
    }

    /// Open, and nothing waits in memory (the last write succeeded).
    pub fn healthy(&self) -> bool {
        self.conn.is_some() && self.spill.is_empty()
    }

    /// Refreshes the gauges: database healthy, notifications in memory.
    pub fn publish(&self) {
        if let Some(m) = &self.metrics {
            m.set_store_up(Database::Alerts, self.healthy());
            m.set_alert_notifications_in_memory(self.spill.rows.len() as u64);
        }
    }
}

/// Where and what, for a [`StoreError::Query`].
type At = (String, &'static str);

impl Slot {
    fn at(&self, what: &'static str) -> At {
        (self.path.display().to_string(), what)
    }
}

/// A statement's error as a [`StoreError`] naming the file and the operation.
fn query<T>((location, what): At, r: rusqlite::Result<T>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Query {
        location,
        what,
        source: Box::new(e),
    })
}
