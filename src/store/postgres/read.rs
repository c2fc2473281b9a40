//! Queries on PostgreSQL: the same reads as SQLite's, limited to this
//! replica's location, on pooled connections.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::PgHistory;
use crate::runner::{FailureClass, JourneyRun, RunSummary, Verdict};
use crate::store::{BoxError, JourneyHistory, StoreError};

/// The summary columns, in the order [`summary_from_row`] reads them.
const SUMMARY_COLUMNS: &str = "run_id, journey, started_at, duration_seconds, verdict, \
     degraded, failed_step, failed_backend, failure_class, failure_message";

impl PgHistory {
    fn failed(&self, e: impl Into<BoxError>) -> StoreError {
        StoreError::Query {
            location: self.target.describe(),
            what: "run history query",
            source: e.into(),
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| self.failed(e))
    }

    /// Runs of `journey`, newest first, at most `limit`.
    pub(crate) async fn recent_runs(
        &self,
        journey: &str,
        limit: usize,
    ) -> Result<Vec<RunSummary>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {SUMMARY_COLUMNS} FROM runs WHERE location = $1 AND journey = $2 \
                     ORDER BY started_at DESC LIMIT $3"
                ),
                &[&self.target.location, &journey, &limit],
            )
            .await
            .map_err(|e| self.failed(e))?;
        rows.iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()
            .map_err(|e| self.failed(e))
    }

    /// One full run, decoded from its JSON.
    pub(crate) async fn get_run(&self, id: uuid::Uuid) -> Result<Option<JourneyRun>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT run_json FROM runs WHERE run_id = $1",
                &[&id.to_string()],
            )
            .await
            .map_err(|e| self.failed(e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let json: String = row.try_get(0).map_err(|e| self.failed(e))?;
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| self.failed(e))
    }

    /// Every journey with runs in this location: its newest `recent`
    /// summaries and its last passing start, from one snapshot.
    pub(crate) async fn histories(
        &self,
        recent: usize,
    ) -> Result<BTreeMap<String, JourneyHistory>, StoreError> {
        let recent = i64::try_from(recent).unwrap_or(i64::MAX);
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| self.failed(e))?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {SUMMARY_COLUMNS} FROM (
                       SELECT *, row_number() OVER
                         (PARTITION BY journey ORDER BY started_at DESC) AS rn
                       FROM runs WHERE location = $1) ranked
                     WHERE rn <= $2 ORDER BY journey, started_at DESC"
                ),
                &[&self.target.location, &recent],
            )
            .await
            .map_err(|e| self.failed(e))?;
        let passes = tx
            .query(
                "SELECT journey, max(started_at) FROM runs
                 WHERE location = $1 AND verdict = 'pass' GROUP BY journey",
                &[&self.target.location],
            )
            .await
            .map_err(|e| self.failed(e))?;
        let mut out: BTreeMap<String, JourneyHistory> = BTreeMap::new();
        for row in &rows {
            let summary = summary_from_row(row).map_err(|e| self.failed(e))?;
            out.entry(summary.journey.clone())
                .or_insert_with(|| JourneyHistory {
                    recent: Vec::new(),
                    last_success: None,
                })
                .recent
                .push(summary);
        }
        for row in &passes {
            let journey: String = row.try_get(0).map_err(|e| self.failed(e))?;
            let ms: i64 = row.try_get(1).map_err(|e| self.failed(e))?;
            if let Some(h) = out.get_mut(&journey) {
                h.last_success = Some(millis_to_time(ms).map_err(|e| self.failed(e))?);
            }
        }
        Ok(out)
    }
}

/// Decodes the [`SUMMARY_COLUMNS`].
fn summary_from_row(row: &Row) -> Result<RunSummary, BoxError> {
    let run_id: String = row.try_get(0)?;
    let verdict: String = row.try_get(4)?;
    let class: Option<String> = row.try_get(8)?;
    Ok(RunSummary {
        run_id: uuid::Uuid::parse_str(&run_id)?,
        journey: row.try_get(1)?,
        started_at: millis_to_time(row.try_get(2)?)?,
        duration_seconds: row.try_get(3)?,
        verdict: match verdict.as_str() {
            "pass" => Verdict::Pass,
            "fail" => Verdict::Fail,
            other => return Err(format!("unknown verdict {other:?}").into()),
        },
        degraded: row.try_get(5)?,
        failed_step: row.try_get(6)?,
        failed_backend: row.try_get(7)?,
        failure_class: class
            .map(|c| {
                FailureClass::ALL
                    .into_iter()
                    .find(|k| k.as_str() == c)
                    .ok_or_else(|| BoxError::from(format!("unknown failure class {c:?}")))
            })
            .transpose()?,
        failure_message: row.try_get(9)?,
    })
}

/// Unix milliseconds (the `started_at` column) to a timestamp.
fn millis_to_time(ms: i64) -> Result<DateTime<Utc>, BoxError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| format!("timestamp {ms} ms out of range").into())
}
