//! The alert database ([`Db`]: SQLite or PostgreSQL) and the in-memory
//! [`Spill`], behind one mutex: every outbox operation decides here, in one
//! place and the same way for both backends, whether it goes to the database
//! or to memory.
//!
//! - A write that fails (or finds the database not open or not reachable) is
//!   kept in memory and the call still succeeds: the notifications are
//!   queued, only not durably. The one exception is a refused fence
//!   ([`StoreError::Fenced`]): a deposed alerting leader keeps nothing.
//! - Before every write, and at most every [`FLUSH_EVERY`] before a read, the
//!   spill is retried into the database in one transaction.
//! - A closed SQLite file is re-opened (created, migrated) at most every
//!   [`REOPEN_EVERY`], so it comes back by itself when space returns;
//!   PostgreSQL is retried after a backoff ([`super::pg`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::backend::Db;
use super::db::{HeadRow, NewRow};
use super::spill::{MemRow, Place, Spill};
use super::{Key, now_ms};
use crate::metrics::Metrics;
use crate::store::{Database, StoreError};

/// A closed database is re-opened at most this often.
pub(super) const REOPEN_EVERY: Duration = Duration::from_secs(5);
/// Reads retry the spill at most this often (writes always do).
pub(super) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The database and what waits in memory.
#[derive(Debug)]
pub(super) struct Slot {
    pub db: Db,
    pub spill: Spill,
    pub metrics: Option<Arc<Metrics>>,
    last_flush: Option<Instant>,
    /// Per receiver, what the database held after the last successful head
    /// read: the head row and how many rows. While the database cannot be
    /// read, a receiver's spilled rows go out only when this says none of its
    /// stored rows is left (they are older and go first).
    stored: BTreeMap<String, (Option<i64>, u64)>,
    /// What [`Self::publish`] said last, readable without the mutex.
    pub status: Arc<Status>,
}

/// The slot's health, published at every change.
#[derive(Debug, Default)]
pub(super) struct Status {
    /// The database is open (SQLite) or answered the last attempt (PostgreSQL).
    pub open: AtomicBool,
    /// Open, and nothing waits in memory.
    pub healthy: AtomicBool,
    /// Notifications waiting in memory.
    pub in_memory: AtomicUsize,
}

impl Slot {
    pub fn new(db: Db) -> Self {
        let slot = Self {
            db,
            spill: Spill::default(),
            metrics: None,
            last_flush: None,
            stored: BTreeMap::new(),
            status: Arc::default(),
        };
        slot.publish();
        slot
    }

    /// Runs `f` on the database, refreshing the gauges when it opened or
    /// closed meanwhile (a re-open, PostgreSQL going away or returning).
    pub fn call<T>(
        &mut self,
        f: impl FnOnce(&mut Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let was_open = self.db.is_open();
        let result = f(&mut self.db);
        if self.db.is_open() != was_open {
            self.publish();
        }
        result
    }

    /// Rows of these receivers were stored: what [`Self::stored`] knew of them is stale.
    fn stored_rows_of<'a>(&mut self, receivers: impl IntoIterator<Item = &'a str>) {
        for r in receivers {
            self.stored.remove(r);
        }
    }

    /// True when none of `receiver`'s stored rows after `after` is left, as
    /// far as the last successful read knows.
    fn none_stored(&self, receiver: &str, after: i64) -> bool {
        match self.stored.get(receiver) {
            Some((_, 0)) => true,
            Some((Some(head), 1)) => *head <= after,
            _ => false,
        }
    }

    /// Writes the spill to the database; true when nothing waits any more.
    /// `force` ignores [`FLUSH_EVERY`]. A deposed alerting leader (fenced)
    /// drops the spill: the new leader owns alert state now and re-derives it.
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
        match self.call(|db| db.flush(&done, &states, &rows, now_ms())) {
            Ok(ids) => {
                self.spill.flushed(&ids);
                self.stored_rows_of(rows.iter().map(|m| m.row.receiver.as_str()));
                tracing::info!(
                    notifications = rows.len(),
                    states = states.len(),
                    "Alert state and notifications kept in memory are stored again."
                );
                self.publish();
                true
            }
            Err(e @ StoreError::Fenced { .. }) => {
                tracing::warn!(
                    error = %e,
                    notifications = rows.len(),
                    states = states.len(),
                    "Alert state and notifications kept in memory are dropped: another replica \
                     leads alerting now."
                );
                self.spill = Spill::default();
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
    /// Only a refused fence is an error: nothing is kept then.
    pub fn commit(
        &mut self,
        journey: &str,
        state: &str,
        rows: Vec<NewRow>,
        now: i64,
    ) -> Result<(), StoreError> {
        if self.flush(true) {
            match self.call(|db| db.commit(journey, state, &rows, now)) {
                Ok(()) => {
                    self.stored_rows_of(rows.iter().map(|r| r.receiver.as_str()));
                    return Ok(());
                }
                Err(e @ StoreError::Fenced { .. }) => return Err(e),
                Err(e) => self.failed(&e, rows.len()),
            }
        } else {
            self.failed_again(rows.len());
        }
        let lost = self.spill.commit(Some((journey, state)), rows, now);
        self.lost(lost);
        self.publish();
        Ok(())
    }

    /// Writes states without notifications in one transaction (through the
    /// backend's flush, which writes states and rows together), or keeps them
    /// in memory like a commit. Only a refused fence is an error.
    pub fn commit_states(
        &mut self,
        states: BTreeMap<String, String>,
        now: i64,
    ) -> Result<(), StoreError> {
        if self.flush(true) {
            match self.call(|db| db.flush(&[], &states, &[], now)) {
                Ok(_) => return Ok(()),
                Err(e @ StoreError::Fenced { .. }) => return Err(e),
                Err(e) => self.failed(&e, 0),
            }
        } else {
            self.failed_again(0);
        }
        self.spill.states.extend(states);
        self.publish();
        Ok(())
    }

    /// Queues re-sends (coalesced), in the database or in memory; returns rows
    /// added. Only a refused fence is an error.
    pub fn enqueue(&mut self, rows: Vec<NewRow>, now: i64) -> Result<usize, StoreError> {
        if self.flush(true) {
            match self.call(|db| db.enqueue(&rows, now)) {
                Ok(n) => {
                    self.stored_rows_of(rows.iter().map(|r| r.receiver.as_str()));
                    return Ok(n);
                }
                Err(e @ StoreError::Fenced { .. }) => return Err(e),
                Err(e) => self.failed(&e, rows.len()),
            }
        } else {
            self.failed_again(rows.len());
        }
        let (inserted, lost) = self.spill.enqueue(rows, now);
        self.lost(lost);
        self.publish();
        Ok(inserted)
    }

    /// The oldest notification of `receiver`: stored rows first (they are
    /// older), then spilled ones; and how many it has in all.
    pub fn head(&mut self, receiver: &str) -> Result<(Option<HeadRow>, u64), StoreError> {
        self.flush(false);
        let after = self.spill.done_up_to(receiver);
        let (row, depth) = match self.call(|db| db.head(receiver, after)) {
            Ok((row, depth)) => {
                let head = row.as_ref().and_then(|r| match r.id {
                    Key::Row(id) => Some(id),
                    Key::Mem(_) => None,
                });
                self.stored.insert(receiver.to_string(), (head, depth));
                (row, depth)
            }
            // Never opened or reached: rows stored before are unreachable until
            // then; send what is in memory meanwhile (documented in the module docs).
            Err(_) if !self.db.reached() => (None, 0),
            // Cannot read now, but none of its stored rows is left: memory is next.
            Err(_) if self.none_stored(receiver, after) => (None, 0),
            Err(e) => return Err(e),
        };
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

    /// Removes a delivered or dropped notification. A delete that cannot be
    /// written is remembered, so the row is not sent again; a refused fence
    /// is remembered too, and returned.
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
        match self.call(|db| db.delete(id)) {
            Ok(_) => {
                if let Some((head, depth)) = self.stored.get_mut(receiver)
                    && *head == Some(id)
                {
                    *head = None;
                    *depth = depth.saturating_sub(1);
                }
                Ok(())
            }
            Err(e) => {
                // Remembered, so the row is not sent again; the next flush deletes it.
                tracing::warn!(notification = id, error = %e, "Cannot delete a finished notification; remembered in memory.");
                self.spill.done.insert(id, receiver.to_string());
                self.publish();
                match e {
                    StoreError::Fenced { .. } => Err(e),
                    _ => Ok(()),
                }
            }
        }
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
        self.call(|db| db.reschedule(id, attempts, next_attempt_at, error))
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
        self.db.is_open() && self.spill.is_empty()
    }

    /// Refreshes the gauges: database healthy, notifications in memory.
    pub fn publish(&self) {
        self.status.open.store(self.db.is_open(), Ordering::Relaxed);
        self.status.healthy.store(self.healthy(), Ordering::Relaxed);
        (self.status.in_memory).store(self.spill.rows.len(), Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.set_store_up(Database::Alerts, self.healthy());
            m.set_alert_notifications_in_memory(self.spill.rows.len() as u64);
        }
    }
}
