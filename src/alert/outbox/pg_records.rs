//! Silences and deploys in PostgreSQL: the records people post through the
//! API (any replica, so never fenced), with the semantics of [`super::db`]'s
//! silence statements and [`super::deploys`] (pruning on insert, newest
//! first). [`super::pg`] runs them.

use deadpool_postgres::Client;

use super::Silence;
use super::deploys::{Deploy, MAX_DEPLOYS};
use super::pg_sql::{PgError, Result, time};

/// Stores a silence after pruning those ended before `prune_before`; returns its id.
pub(super) async fn add_silence(
    c: &mut Client,
    matchers_json: &str,
    (starts_at, ends_at): (i64, i64),
    prune_before: i64,
    (created_by, comment): (&str, &str),
) -> Result<i64> {
    let tx = c.transaction().await?;
    tx.execute("DELETE FROM silences WHERE ends_at < $1", &[&prune_before])
        .await?;
    let id: i64 = tx
        .query_one(
            "INSERT INTO silences (matchers_json, starts_at, ends_at, created_by, comment)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&matchers_json, &starts_at, &ends_at, &created_by, &comment],
        )
        .await?
        .try_get(0)?;
    tx.commit().await?;
    Ok(id)
}

/// Silences in force at `now`, oldest first.
pub(super) async fn active_silences(c: &mut Client, now: i64) -> Result<Vec<Silence>> {
    let rows = c
        .query(
            "SELECT id, matchers_json, starts_at, ends_at, created_by, comment FROM silences
             WHERE ends_at > $1 AND starts_at <= $1 ORDER BY id",
            &[&now],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let json: String = r.try_get(1)?;
            Ok(Silence {
                id: r.try_get(0)?,
                matchers: serde_json::from_str(&json)
                    .map_err(|e| PgError::Decode(format!("silence matchers: {e}")))?,
                starts_at: time(r.try_get(2)?)?,
                ends_at: time(r.try_get(3)?)?,
                created_by: r.try_get(4)?,
                comment: r.try_get(5)?,
            })
        })
        .collect()
}

/// Ends a silence at `now`; false when there is none or it already ended.
pub(super) async fn expire_silence(c: &mut Client, id: i64, now: i64) -> Result<bool> {
    let n = c
        .execute(
            "UPDATE silences SET ends_at = $2, starts_at = LEAST(starts_at, $2)
             WHERE id = $1 AND ends_at > $2",
            &[&id, &now],
        )
        .await?;
    Ok(n > 0)
}

/// Records a deploy (its JSON columns already encoded) and prunes as
/// [`super::deploys`] does; returns its id.
pub(super) async fn add_deploy(
    c: &mut Client,
    at: i64,
    (backends, journeys): (&str, &str),
    (service, version, description): (&str, &str, &str),
    prune_before: i64,
) -> Result<i64> {
    let tx = c.transaction().await?;
    tx.execute("DELETE FROM deploys WHERE at < $1", &[&prune_before])
        .await?;
    let id: i64 = tx
        .query_one(
            "INSERT INTO deploys (at, service, backends_json, journeys_json, version, description)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[&at, &service, &backends, &journeys, &version, &description],
        )
        .await?
        .try_get(0)?;
    // Sequence ids only grow, so the newest MAX_DEPLOYS are the highest ids.
    tx.execute("DELETE FROM deploys WHERE id <= $1", &[&(id - MAX_DEPLOYS)])
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Deploys recorded in `[from, to]`, newest first, at most `limit`.
pub(super) async fn deploys_between(
    c: &mut Client,
    from: i64,
    to: i64,
    limit: u32,
) -> Result<Vec<Deploy>> {
    let rows = c
        .query(
            "SELECT id, at, service, backends_json, journeys_json, version, description
             FROM deploys WHERE at >= $1 AND at <= $2 ORDER BY at DESC, id DESC LIMIT $3",
            &[&from, &to, &i64::from(limit)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let names = |column: usize| -> Result<Vec<String>> {
                let json: String = r.try_get(column)?;
                serde_json::from_str(&json)
                    .map_err(|e| PgError::Decode(format!("deploy names: {e}")))
            };
            Ok(Deploy {
                id: r.try_get(0)?,
                at: time(r.try_get(1)?)?,
                service: r.try_get(2)?,
                backends: names(3)?,
                journeys: names(4)?,
                version: r.try_get(5)?,
                description: r.try_get(6)?,
            })
        })
        .collect()
}
