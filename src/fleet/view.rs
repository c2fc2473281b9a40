//! What the fleet looks like from this replica, for the status page's
//! `/fleet` and `GET /api/fleet`: every replica that heartbeats into the
//! database (all locations), and who holds each journey's lease with its
//! fencing term. Read-only: two `SELECT`s on the fleet's own pool, ages
//! computed by the database (`now()`), so no host's clock is trusted.
//!
//! "Alive" uses this replica's `lease_ttl`: a replica is alive when its
//! heartbeat is younger than that, and a lease is held when its owner is set
//! and it has not expired. Replicas of another location with another TTL are
//! judged by ours (the page says so); the lease expiry is exact either way.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Fleet;

/// How long the page waits for the database before saying it cannot answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the fleet's tables could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// No connection from the fleet's pool.
    #[error("cannot reach PostgreSQL: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A query failed.
    #[error("cannot read the fleet's tables: {0}")]
    Query(#[from] tokio_postgres::Error),
    /// The database did not answer within [`QUERY_TIMEOUT`].
    #[error("PostgreSQL did not answer within {}s", QUERY_TIMEOUT.as_secs())]
    Timeout,
}

/// The whole fleet as one replica sees it (`GET /api/fleet`).
#[derive(Debug, Clone, Serialize)]
pub struct FleetView {
    /// This replica's id.
    pub replica: String,
    /// This replica's location.
    pub location: String,
    /// This replica's `fleet.lease_ttl`, seconds: the "alive" threshold.
    pub lease_ttl_seconds: f64,
    /// The database's clock when the view was read.
    pub database_time: DateTime<Utc>,
    /// Every replica with a heartbeat row, by location then id.
    pub replicas: Vec<ReplicaView>,
    /// Every journey lease, by location then journey.
    pub leases: Vec<LeaseView>,
}

/// One replica's heartbeat row.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaView {
    /// Its location.
    pub location: String,
    /// Its id.
    pub id: String,
    /// Seconds since its last heartbeat (database clock).
    pub heartbeat_age_seconds: f64,
    /// Heartbeat younger than this replica's lease TTL.
    pub alive: bool,
    /// Unexpired leases it holds.
    pub journeys_owned: usize,
    /// It is the replica answering.
    pub this_replica: bool,
}

/// One journey's lease in one location.
#[derive(Debug, Clone, Serialize)]
pub struct LeaseView {
    /// The location whose replicas share it.
    pub location: String,
    /// The journey.
    pub journey: String,
    /// The replica holding it, when held and unexpired.
    pub owner: Option<String>,
    /// Fencing term: grows by one at every takeover.
    pub term: i64,
    /// Seconds until it expires (negative: expired that long ago).
    pub expires_in_seconds: f64,
}

impl FleetView {
    /// Locations with at least one replica row, sorted.
    pub fn locations(&self) -> Vec<&str> {
        let mut l: Vec<&str> = self.replicas.iter().map(|r| r.location.as_str()).collect();
        l.dedup();
        l
    }

    /// Leases nobody holds (free or expired): journeys not running anywhere in their location.
    pub fn unowned(&self) -> impl Iterator<Item = &LeaseView> {
        self.leases.iter().filter(|l| l.owner.is_none())
    }
}

/// Reads the fleet's tables through `fleet`'s pool, bounded by [`QUERY_TIMEOUT`].
pub async fn load(fleet: &Fleet) -> Result<FleetView, ViewError> {
    tokio::time::timeout(QUERY_TIMEOUT, query(fleet))
        .await
        .map_err(|_| ViewError::Timeout)?
}

async fn query(fleet: &Fleet) -> Result<FleetView, ViewError> {
    let client = fleet.pool.get().await?;
    let ttl = fleet.ttl.as_secs_f64();
    let now_ms: i64 = client
        .query_one("SELECT (extract(epoch FROM now()) * 1000)::bigint", &[])
        .await?
        .try_get(0)?;
    let database_time = DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    // An expired lease has no owner as far as anyone is concerned: its
    // journey is up for takeover, so it is shown as unowned.
    let leases = client
        .query(
            "SELECT location, journey,
                    CASE WHEN expires_at > now() THEN owner END,
                    term, extract(epoch FROM expires_at - now())::float8
             FROM journey_leases ORDER BY location, journey",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(LeaseView {
                location: r.try_get(0)?,
                journey: r.try_get(1)?,
                owner: r.try_get(2)?,
                term: r.try_get(3)?,
                expires_in_seconds: r.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    let replicas = client
        .query(
            "SELECT location, id, extract(epoch FROM now() - heartbeat_at)::float8
             FROM replicas ORDER BY location, id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            let (location, id, age): (String, String, f64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let journeys_owned = leases
                .iter()
                .filter(|l| l.location == location && l.owner.as_deref() == Some(id.as_str()))
                .count();
            let this_replica = location == fleet.location && id == fleet.replica;
            Ok(ReplicaView {
                location,
                id,
                heartbeat_age_seconds: age,
                alive: age < ttl,
                journeys_owned,
                this_replica,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(FleetView {
        replica: fleet.replica.clone(),
        location: fleet.location.clone(),
        lease_ttl_seconds: ttl,
        database_time,
        replicas,
        leases,
    })
}
