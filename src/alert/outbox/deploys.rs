//! Deploys in the alert database: recorded by `POST /api/deploys`, listed by
//! `GET /api/deploys`, and looked up by the alert engine to name the deploy a
//! journey started failing after.
//!
//! They live here rather than in the run history because the engine, their
//! only reader besides the API, already holds this database, and because a
//! deploy is alerting context: it must survive a restart like alert state does
//! (`synchronous=FULL`), and must not queue behind run-history writes.

use chrono::{DateTime, Utc};
use rusqlite::types::Type;
use rusqlite::{Connection, Row};
use serde::Serialize;

use super::AlertDb;
use crate::store::StoreError;

/// How long a deploy is kept. Pruning happens when a deploy is added, the only
/// way the table grows.
pub const DEPLOY_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(30);
/// The most deploys kept, whatever their age (a pipeline posting in a loop
/// cannot fill the disk).
pub const MAX_DEPLOYS: i64 = 1000;

/// A deploy to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeploy {
    /// What was deployed (free text, e.g. `checkout`).
    pub service: String,
    /// Back-ends it touched; empty means all.
    pub backends: Vec<String>,
    /// Journeys that use those back-ends when it was recorded.
    pub journeys: Vec<String>,
    /// Version deployed.
    pub version: String,
    /// Free text.
    pub description: String,
}

/// A recorded deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deploy {
    /// Id.
    pub id: i64,
    /// When it was recorded (millisecond precision).
    pub at: DateTime<Utc>,
    /// What was deployed.
    pub service: String,
    /// Back-ends it touched; empty means all.
    pub backends: Vec<String>,
    /// Journeys that used those back-ends when it was recorded.
    pub journeys: Vec<String>,
    /// Version deployed.
    pub version: String,
    /// Free text.
    pub description: String,
}

impl Deploy {
    /// True when the deploy may explain a failure of `journey` at a step of
    /// `backend`: it named no back-end (everything), it listed the journey when
    /// recorded, or it named the failing step's back-end.
    pub fn touches(&self, journey: &str, backend: Option<&str>) -> bool {
        self.backends.is_empty()
            || self.journeys.iter().any(|j| j == journey)
            || backend.is_some_and(|b| self.backends.iter().any(|d| d == b))
    }
}

impl AlertDb {
    /// Records a deploy at `at` and returns it; prunes deploys older than
    /// [`DEPLOY_RETENTION`] and all but the newest [`MAX_DEPLOYS`].
    pub async fn add_deploy(&self, d: NewDeploy, at: DateTime<Utc>) -> Result<Deploy, StoreError> {
        let encode = |what, v: &Vec<String>| {
            serde_json::to_string(v).map_err(|source| StoreError::Encode { what, source })
        };
        let backends = encode("deploy back-ends", &d.backends)?;
        let journeys = encode("deploy journeys", &d.journeys)?;
        let at_ms = at.timestamp_millis();
        let prune_before = at_ms.saturating_sub(DEPLOY_RETENTION.num_milliseconds());
        let row = (d.service.clone(), d.version.clone(), d.description.clone());
        let id = self
            .run(move |db| db.add_deploy(at_ms, (&backends, &journeys), &row, prune_before))
            .await?;
        Ok(Deploy {
            id,
            at: DateTime::from_timestamp_millis(at_ms).unwrap_or(at),
            service: d.service,
            backends: d.backends,
            journeys: d.journeys,
            version: d.version,
            description: d.description,
        })
    }

    /// Deploys recorded in `[from, to]`, newest first, at most `limit`.
    pub async fn deploys_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Deploy>, StoreError> {
        let (from, to) = (from.timestamp_millis(), to.timestamp_millis());
        self.run(move |db| db.deploys_between(from, to, limit))
            .await
    }
}

/// Records a deploy in `alerts.db`, pruning; returns its id.
pub(super) fn insert(
    c: &Connection,
    at: i64,
    backends: &str,
    journeys: &str,
    (service, version, description): &(String, String, String),
    prune_before: i64,
) -> rusqlite::Result<i64> {
    let tx = c.unchecked_transaction()?;
    tx.prepare_cached("DELETE FROM deploys WHERE at < ?1")?
        .execute([prune_before])?;
    tx.prepare_cached(
        "INSERT INTO deploys (at, service, backends_json, journeys_json, version, description)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute((at, service, backends, journeys, version, description))?;
    let id = tx.last_insert_rowid();
    // Ids only grow (AUTOINCREMENT), so the newest MAX_DEPLOYS are the highest ids.
    tx.prepare_cached("DELETE FROM deploys WHERE id <= ?1")?
        .execute([id - MAX_DEPLOYS])?;
    tx.commit()?;
    Ok(id)
}

/// Deploys in `[from, to]` from `alerts.db`, newest first.
pub(super) fn select(
    c: &Connection,
    from: i64,
    to: i64,
    limit: u32,
) -> rusqlite::Result<Vec<Deploy>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, at, service, backends_json, journeys_json, version, description
         FROM deploys WHERE at >= ?1 AND at <= ?2 ORDER BY at DESC, id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map((from, to, limit), |r| {
        let ms: i64 = r.get(1)?;
        Ok(Deploy {
            id: r.get(0)?,
            at: DateTime::from_timestamp_millis(ms).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    Type::Integer,
                    format!("timestamp {ms} ms out of range").into(),
                )
            })?,
            service: r.get(2)?,
            backends: names(r, 3)?,
            journeys: names(r, 4)?,
            version: r.get(5)?,
            description: r.get(6)?,
        })
    })?;
    rows.collect()
}

fn names(r: &Row<'_>, column: usize) -> rusqlite::Result<Vec<String>> {
    let json: String = r.get(column)?;
    serde_json::from_str(&json)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(e)))
}
