//! The in-memory part of the outbox: what could not be written to `alerts.db`
//! (disk full, I/O errors, a database not open yet) waits here, in commit
//! order, until a write succeeds again. Pure data, no SQL: [`super::AlertDb`]
//! decides when to spill and when to flush.
//!
//! Order is what makes this safe. Once anything is spilled, every later commit
//! is spilled too until the whole spill is flushed in one transaction, so the
//! database rows of a receiver are always older than its spilled rows, and a
//! flush appends them (new ids) after the rows already stored. The delivery
//! workers serve a receiver's stored rows first, then its spilled ones.
//!
//! A spilled row the worker is sending is *leased*. If a flush moves it to the
//! database meanwhile, the flush records its new row id, so the worker's
//! outcome (delete, reschedule) lands on that row: nothing is sent twice.

use std::collections::{BTreeMap, VecDeque};

use chrono::DateTime;

use super::db::NewRow;
use super::{Key, Pending};
use crate::alert::state::AlertEvent;

/// At most this many notifications wait in memory; more are dropped (counted,
/// logged). Alert volume is a few rows per state change and re-sends are
/// coalesced, so this is hours of a full disk for thousands of journeys.
pub(super) const MAX_ROWS: usize = 10_000;

/// A notification waiting in memory.
#[derive(Debug, Clone)]
pub(super) struct MemRow {
    /// Its key in memory; receivers see `-key` as the notification id.
    pub key: u64,
    pub row: NewRow,
    pub created_at: i64,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    /// Being sent by its worker right now.
    pub leased: bool,
}

/// What waits in memory: the newest unsaved state of each journey and the
/// unsaved notifications, in commit order.
#[derive(Debug, Default)]
pub(super) struct Spill {
    pub states: BTreeMap<String, String>,
    pub rows: VecDeque<MemRow>,
    next_key: u64,
    /// Leased rows a flush moved to the database: key -> (row id, receiver).
    flushed: BTreeMap<u64, (i64, String)>,
    /// Stored rows delivered (or dropped) whose delete failed: row id ->
    /// receiver. The worker skips them, so they are not sent again; a flush
    /// deletes them.
    pub done: BTreeMap<i64, String>,
}

impl Spill {
    /// Nothing waits.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty() && self.rows.is_empty() && self.done.is_empty()
    }

    /// The newest finished-but-stored row of `receiver` (its stored rows up to
    /// this id are finished: a worker finishes them in order).
    pub fn done_up_to(&self, receiver: &str) -> i64 {
        self.done
            .iter()
            .rev()
            .find(|(_, r)| *r == receiver)
            .map_or(0, |(id, _)| *id)
    }

    /// Keeps a commit; returns how many notifications did not fit.
    pub fn commit(&mut self, journey: Option<(&str, &str)>, rows: Vec<NewRow>, now: i64) -> usize {
        if let Some((journey, state)) = journey {
            self.states.insert(journey.to_string(), state.to_string());
        }
        let mut lost = 0;
        for row in rows {
            if self.rows.len() >= MAX_ROWS {
                lost += 1;
                continue;
            }
            self.next_key += 1;
            self.rows.push_back(MemRow {
                key: self.next_key,
                row,
                created_at: now,
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                leased: false,
            });
        }
        lost
    }

    /// [`super::db::enqueue`]'s coalescing in memory: a re-sent Firing whose
    /// alert is the newest spilled row of its receiver replaces that row's
    /// text. Returns `(inserted, lost)`.
    pub fn enqueue(&mut self, rows: Vec<NewRow>, now: i64) -> (usize, usize) {
        let mut fresh = Vec::new();
        for row in rows {
            if !self.coalesce(&row) {
                fresh.push(row);
            }
        }
        let count = fresh.len();
        let lost = self.commit(None, fresh, now);
        (count - lost, lost)
    }

    fn coalesce(&mut self, row: &NewRow) -> bool {
        let AlertEvent::Firing(alert) = &row.event else {
            return false;
        };
        let newest = self
            .rows
            .iter_mut()
            .rev()
            .find(|m| m.row.receiver == row.receiver && m.row.fingerprint == row.fingerprint);
        match newest {
            Some(m) if !m.leased => match &m.row.event {
                AlertEvent::Firing(pending) if pending.starts_at == alert.starts_at => {
                    m.row.event = row.event.clone();
                    m.row.json = row.json.clone();
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// The oldest spilled row of `receiver` (leased from now on), and how many it has.
    pub fn head(&mut self, receiver: &str) -> (Option<MemRow>, u64) {
        // A worker asks again only once its attempt is over: its old lease ends.
        self.flushed.retain(|_, (_, r)| r != receiver);
        for m in self.rows.iter_mut().filter(|m| m.row.receiver == receiver) {
            m.leased = false;
        }
        let mut mine = self.rows.iter_mut().filter(|m| m.row.receiver == receiver);
        let head = mine.next().map(|m| {
            m.leased = true;
            m.clone()
        });
        let depth = u64::from(head.is_some()) + mine.count() as u64;
        (head, depth)
    }

    /// Spilled rows of `receiver`.
    pub fn depth(&self, receiver: &str) -> u64 {
        self.rows
            .iter()
            .filter(|m| m.row.receiver == receiver)
            .count() as u64
    }

    /// Where the worker's finished row `key` is now.
    pub fn finish(&mut self, key: u64) -> Place {
        if let Some(i) = self.rows.iter().position(|m| m.key == key) {
            return Place::Memory(i);
        }
        match self.flushed.remove(&key) {
            Some((id, _)) => Place::Stored(id),
            None => Place::Gone,
        }
    }

    /// `stored` (the file's rows, oldest first) without the finished ones,
    /// then the rows waiting here: everything pending, in delivery order.
    pub fn pending_after(&self, mut stored: Vec<Pending>) -> Vec<Pending> {
        stored.retain(|p| !self.done.contains_key(&p.id));
        stored.extend(self.rows.iter().map(|m| Pending {
            id: Key::Mem(m.key).id(),
            receiver: m.row.receiver.clone(),
            fingerprint: m.row.fingerprint.clone(),
            event: m.row.event.clone(),
            created_at: DateTime::from_timestamp_millis(m.created_at).unwrap_or_default(),
            attempts: m.attempts,
            next_attempt_at: DateTime::from_timestamp_millis(m.next_attempt_at).unwrap_or_default(),
            last_error: m.last_error.clone(),
        }));
        stored
    }

    /// After a flush committed: everything moved; `ids` are the new row ids in order.
    pub fn flushed(&mut self, ids: &[i64]) {
        for (m, id) in self.rows.iter().zip(ids) {
            if m.leased {
                self.flushed.insert(m.key, (*id, m.row.receiver.clone()));
            }
        }
        self.rows.clear();
        self.states.clear();
        self.done.clear();
    }
}

/// Where a finished spilled row lives now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// Still in memory, at this index of [`Spill::rows`].
    Memory(usize),
    /// Flushed while it was being sent: this database row.
    Stored(i64),
    /// Already gone.
    Gone,
}
