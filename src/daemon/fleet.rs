//! Start-up of the two optional parts of issue 8: the run history on
//! PostgreSQL (`store:`) and this replica's place in a fleet (`fleet:`).

use std::sync::Arc;

use anyhow::Context;

use crate::config::{Config, StoreConfig};
use crate::fleet::{Fleet, default_replica_id};
use crate::journey::Journey;
use crate::metrics::Metrics;
use crate::schedule::{Hooks, Scheduler};
use crate::store::{Backend, PgTarget};

/// Runs are stored under this location when PostgreSQL is used without a fleet.
const SOLO_LOCATION: &str = "default";

/// Where the run history lives: `journeyd.db` in the state directory, or
/// PostgreSQL from the URL in the configured secret.
pub(super) fn history_backend(config: &Config) -> anyhow::Result<Backend> {
    match &config.store {
        StoreConfig::Sqlite => Ok(Backend::Sqlite(config.state_dir.join("journeyd.db"))),
        StoreConfig::Postgres { url_secret } => {
            let url = config
                .secret_source()
                .get(url_secret)
                .with_context(|| {
                    format!("cannot read the secret `{url_secret}` (store.url_secret)")
                })?
                .with_context(|| {
                    format!("the secret `{url_secret}` (store.url_secret) is not set")
                })?;
            let location = config
                .fleet
                .as_ref()
                .map_or(SOLO_LOCATION, |f| f.location.as_str())
                .to_string();
            Ok(Backend::Postgres(PgTarget {
                url: url.trim().to_string(),
                location,
            }))
        }
    }
}

/// The fleet member, when configured: its first round (heartbeat, leases)
/// is done before the scheduler starts, so slots are on the database's clock.
pub(super) async fn start(
    config: &Config,
    backend: &Backend,
    metrics: &Arc<Metrics>,
    journeys: &[Arc<Journey>],
) -> anyhow::Result<Option<Arc<Fleet>>> {
    let (Some(f), Backend::Postgres(target)) = (&config.fleet, backend) else {
        return Ok(None);
    };
    // A pool of its own: renewals never wait behind a backlog of run writes.
    let pool = target
        .pool()
        .context("cannot set up the fleet's PostgreSQL pool")?;
    let replica = f.replica.clone().unwrap_or_else(default_replica_id);
    let fleet = Fleet::new(
        pool,
        f.location.clone(),
        replica,
        f.lease_ttl,
        metrics.clone(),
    );
    set_journeys(&fleet, journeys);
    // A failure is logged; the lease loop retries.
    let _ = fleet.round().await;
    tracing::info!(location = %f.location, replica = %fleet.replica(), owned = fleet.owned().len(),
        lease_ttl_seconds = f.lease_ttl.as_secs_f64(), "Joined the fleet.");
    Ok(Some(fleet))
}

/// Gives the fleet the journeys of its location: a journey restricted to
/// other locations (`locations:`) gets no lease here, so it never runs here.
pub(super) fn set_journeys(fleet: &Fleet, journeys: &[Arc<Journey>]) {
    fleet.set_journeys(
        journeys
            .iter()
            .filter(|j| j.runs_in(fleet.location()))
            .map(|j| j.name.clone()),
    );
}

/// Starts the lease loop; it releases every lease when `stop` is cancelled.
pub(super) fn spawn(
    fleet: Option<&Arc<Fleet>>,
    stop: &tokio_util::sync::CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    fleet.map(|f| tokio::spawn(f.clone().run(stop.clone())))
}

/// In a fleet, every replica's slots on one grid, so a slot has one name in the fleet.
pub(super) fn on_grid<H: Hooks>(
    scheduler: Scheduler<H>,
    fleet: Option<Arc<Fleet>>,
) -> Scheduler<H> {
    match fleet {
        None => scheduler,
        Some(f) => scheduler.with_first_start(Arc::new(move |name, interval| {
            f.until_next_slot(name, interval)
        })),
    }
}

/// Waits for the lease loop to give every lease back. Called at once on
/// SIGTERM, not after the grace period: the other replicas take the journeys
/// over at their next round (a run still going here finishes here).
pub(super) async fn released(task: Option<tokio::task::JoinHandle<()>>) {
    if let Some(task) = task
        && task.await.is_err()
    {
        tracing::error!("The fleet's lease task failed.");
    }
}
