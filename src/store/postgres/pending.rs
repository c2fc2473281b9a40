//! [`PendingWork`](crate::store::PendingWork) on PostgreSQL: owed cleanups
//! and durable-step obligations shared by the replicas of a fleet.
//!
//! # Who works a row
//!
//! Every row carries its `location`; a handle reads and writes only its own.
//! Within a location a due row is worked by the replica that holds the
//! journey's lease ([`crate::fleet`]): the "due" queries skip rows of a
//! journey whose unexpired lease another replica holds (a journey nobody
//! holds, or no longer configured, is anybody's, so its rows still end).
//! After a takeover the new owner finds them at its next pass.
//!
//! # Claims
//!
//! The due queries do not just read: one statement picks due rows with
//! `FOR UPDATE SKIP LOCKED` and stamps them `claimed_by = <replica>`,
//! `claimed_until = now() + CLAIM` (the database's clock). Another replica's
//! concurrent pass skips the locked rows, and after the commit its re-check
//! of the row sees the claim, so two replicas never poll the same obligation
//! or run the same cleanup at once. Settling, rescheduling or finishing a row
//! clears the claim; a replica killed mid-attempt leaves it to expire, after
//! which the journey's owner takes the row (a delay of at most [`CLAIM`]).
//! No transaction stays open across the HTTP requests of a poll or cleanup.
//!
//! # Live cleanups of a replica that died
//!
//! A cleanup row is `live` while the run that owes it is going on `replica`.
//! Without a fleet, start-up releases every live row of the location (one
//! process per location). In a fleet, start-up releases only the rows of this
//! replica id (a restart with a fixed `fleet.replica`), and a live row whose
//! replica has no heartbeat within the lease TTL is due at once: a `kill -9`
//! loses no owed cleanup, and a live run on another replica is never cleaned
//! up under its feet. Finished obligations not yet reported are reported at
//! start-up when this replica or a dead one finished them.
//!
//! # When PostgreSQL cannot be reached
//!
//! Every call gives up after [`OP_TIMEOUT`] with a [`StoreError::Query`],
//! as a failed SQLite write does: the run logs that its owed cleanup could not
//! be recorded and goes on (a crash before its own cleanup would then leave
//! test data behind), an obligation that cannot be recorded is not watched
//! (its run's cleanup runs at once), and the background passes try again at
//! their next tick.

use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use tokio::sync::OnceCell;

use super::{PgTarget, migrate};
use crate::store::{BoxError, OpenError, StoreError};

/// How long a claimed row is kept from the other replicas.
pub const CLAIM: Duration = Duration::from_secs(300);
/// Every call (pool wait, connect, statements) gives up after this long.
pub const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// Who works pending rows on PostgreSQL: this replica, and the fleet's lease
/// TTL (`None` without a fleet: the only process of its location).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// The replica id (`fleet.replica`, or hostname and pid).
    pub id: String,
    /// `fleet.lease_ttl`: a replica silent this long is dead.
    pub lease_ttl: Option<Duration>,
}

impl Replica {
    /// The only process of its location (PostgreSQL without a fleet).
    pub fn solo() -> Replica {
        Replica {
            id: "solo".to_string(),
            lease_ttl: None,
        }
    }
}

/// What every statement needs to know about the caller.
#[derive(Debug)]
pub(in crate::store) struct Ctx {
    pub location: String,
    pub replica: String,
    /// Lease TTL in seconds; `None` without a fleet.
    pub ttl: Option<f64>,
    /// [`CLAIM`] in seconds.
    pub claim: f64,
}

/// The PostgreSQL side of a [`PendingWork`](crate::store::PendingWork).
#[derive(Debug)]
pub(in crate::store) struct PgPending {
    pool: Pool,
    target: PgTarget,
    pub ctx: Ctx,
    migrated: OnceCell<()>,
}

impl PgPending {
    /// A pool for `target`; nothing is contacted until the first call.
    pub fn new(target: PgTarget, replica: Replica) -> Result<PgPending, OpenError> {
        Ok(PgPending {
            pool: target.pool()?,
            ctx: Ctx {
                location: target.location.clone(),
                replica: replica.id,
                ttl: replica.lease_ttl.map(|t| t.as_secs_f64()),
                claim: CLAIM.as_secs_f64(),
            },
            target,
            migrated: OnceCell::new(),
        })
    }

    /// A pooled connection to a migrated schema.
    pub async fn client(&self) -> Result<Object, BoxError> {
        let mut client = self.pool.get().await?;
        let describe = self.target.describe();
        (self.migrated)
            .get_or_try_init(|| async { migrate(&mut client, &describe).await })
            .await?;
        Ok(client)
    }

    /// Runs `call` within [`OP_TIMEOUT`]; its error becomes a [`StoreError`].
    pub async fn timed<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = Result<T, BoxError>>,
    ) -> Result<T, StoreError> {
        let source = match tokio::time::timeout(OP_TIMEOUT, call).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => e,
            Err(_) => format!("PostgreSQL did not answer within {OP_TIMEOUT:?}").into(),
        };
        Err(StoreError::Query {
            location: self.target.describe(),
            what,
            source,
        })
    }
}

/// `v` as JSON text.
pub(super) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, BoxError> {
    Ok(serde_json::to_string(v)?)
}

/// JSON text as a `T`.
pub(super) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, BoxError> {
    Ok(serde_json::from_str(text)?)
}

/// A stored id.
pub(super) fn uuid(text: &str) -> Result<uuid::Uuid, BoxError> {
    Ok(uuid::Uuid::parse_str(text)?)
}

/// Rows aliased `alias` that the replica whose id is parameter `me` may
/// claim: unclaimed (or the claim expired), of a journey whose lease no other
/// replica holds. A replica's own claims count too: one pass never takes
/// again what it is still working on.
pub(super) fn claimable(alias: &str, me: &str) -> String {
    format!(
        "({alias}.claimed_until IS NULL OR {alias}.claimed_until < now()) AND {}",
        leased_by_me_or_nobody(alias, me)
    )
}

/// Rows aliased `alias` of a journey whose unexpired lease no replica but
/// parameter `me` holds.
pub(super) fn leased_by_me_or_nobody(alias: &str, me: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM journey_leases l
           WHERE l.location = {alias}.location AND l.journey = {alias}.journey
             AND l.owner IS NOT NULL AND l.owner <> {me} AND l.expires_at > now())"
    )
}

/// In a fleet, whether the replica named in `column` has no heartbeat in
/// `location` within the TTL (parameter `ttl`, NULL without a fleet: then never).
pub(super) fn dead(column: &str, location: &str, ttl: &str) -> String {
    format!(
        "({ttl}::float8 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM replicas r
           WHERE r.location = {location} AND r.id = {column}
             AND r.heartbeat_at > now() - make_interval(secs => {ttl}::float8)))"
    )
}
