//! Silences in the alert database: stored, listed while in force, expired.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AlertDb;
use crate::store::StoreError;

/// A silence: notifications of alerts it matches are not sent while it is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// Id.
    pub id: i64,
    /// Label name -> value; an alert matches when it has every one of them.
    pub matchers: BTreeMap<String, String>,
    /// In force from (millisecond precision).
    pub starts_at: DateTime<Utc>,
    /// In force until, excluded.
    pub ends_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

impl Silence {
    /// True when `labels` carry every matcher with the same value. A silence
    /// without matchers matches nothing: silencing everything takes intent, not
    /// an empty form.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.matchers.is_empty()
            && self
                .matchers
                .iter()
                .all(|(name, value)| labels.get(name) == Some(value))
    }
}

/// How long an ended silence is kept (for a look at who silenced what during an
/// incident) before it is deleted. Pruning happens when a silence is added,
/// which is the only way the table grows, so it stays bounded by the silences
/// created within the retention plus those still in force.
pub const SILENCE_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);

impl AlertDb {
    /// Stores a silence; returns its id. `starts_at` is the caller's now: every
    /// silence that ended more than [`SILENCE_RETENTION`] before it is deleted.
    pub async fn add_silence(
        &self,
        matchers: &BTreeMap<String, String>,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        created_by: &str,
        comment: &str,
    ) -> Result<i64, StoreError> {
        let json = serde_json::to_string(matchers).map_err(|source| StoreError::Encode {
            what: "silence matchers",
            source,
        })?;
        let (by, comment) = (created_by.to_string(), comment.to_string());
        let (starts, ends) = (starts_at.timestamp_millis(), ends_at.timestamp_millis());
        let prune_before = starts.saturating_sub(SILENCE_RETENTION.num_milliseconds());
        let added = self
            .run(move |db| db.add_silence(&json, (starts, ends), prune_before, (&by, &comment)))
            .await;
        self.silence_cache().invalidate();
        added
    }

    /// Silences in force at `now`, oldest first.
    ///
    /// While the database is not open (a start on a full disk) there are none:
    /// the stored ones are unreachable, and the engine asks after every run, so
    /// an error here would flood the log with what start-up already said.
    /// While PostgreSQL is away, those in force at the last successful read.
    pub async fn active_silences(&self, now: DateTime<Utc>) -> Result<Vec<Silence>, StoreError> {
        if let Some(hit) = self.silence_cache().get(now) {
            return Ok(hit);
        }
        let generation = self.silence_cache().generation;
        let at = now.timestamp_millis();
        match self.run(move |db| db.active_silences(at)).await {
            Err(StoreError::Unavailable { .. }) => Ok(Vec::new()),
            Ok(found) => {
                self.silence_cache().put(generation, now, &found);
                Ok(found)
            }
            other => other,
        }
    }

    fn silence_cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        (self.inner.silences.lock()).unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends silence `id` at `now`; false when there is none or it already ended.
    pub async fn expire_silence(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let now = now.timestamp_millis();
        let expired = self.run(move |db| db.expire_silence(id, now)).await;
        self.silence_cache().invalidate();
        expired
    }
}

/// The silences in force at the last read, so the alert engine, which asks
/// after every run, does not query the database each time (a query per run was
/// 2 % of a run's CPU in the peers benchmark's profile).
///
/// The set read at `read_at` is used for at most [`CACHE_FOR`], and never past
/// the end of one of its silences. Adding or ending a silence through this
/// handle forgets it at once; one that starts later than it was added, or that
/// another replica added on PostgreSQL, applies within [`CACHE_FOR`].
/// How long a read of the silences in force is used.
const CACHE_FOR: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

#[derive(Debug)]
pub(super) struct Cache {
    /// Bumped by every add and end, so a read that raced one is not kept.
    generation: u64,
    held: Option<(DateTime<Utc>, DateTime<Utc>, Vec<Silence>)>,
}

impl Cache {
    pub(super) fn new() -> Cache {
        Cache {
            generation: 0,
            held: None,
        }
    }

    fn get(&self, now: DateTime<Utc>) -> Option<Vec<Silence>> {
        let (read_at, until, found) = self.held.as_ref()?;
        (*read_at <= now && now < *until).then(|| found.clone())
    }

    fn put(&mut self, generation: u64, read_at: DateTime<Utc>, found: &[Silence]) {
        if generation != self.generation {
            return;
        }
        let until = (found.iter().map(|s| s.ends_at))
            .chain([read_at + CACHE_FOR])
            .min()
            .unwrap_or(read_at);
        self.held = Some((read_at, until, found.to_vec()));
    }

    fn invalidate(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.held = None;
    }
}
