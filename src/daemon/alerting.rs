//! Starting and stopping the daemon's alerting: the alert database, the
//! receivers, their delivery workers, the engine, and its periodic tick
//! (reminders, re-sends, holds that end, the connectivity check).

use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::alert::engine::AlertEngine;
use crate::alert::outbox::{AlertDb, DeliveryHandle, spawn_delivery};
use crate::alert::receivers::build_all;
use crate::config::Config;
use crate::fleet::Fleet;
use crate::fleet::leader::{ALERTING, Leadership};
use crate::journey::Journey;
use crate::metrics::Metrics;
use crate::status::board::StatusBoard;
use crate::store::Backend;

/// Running alerting: on its own, or as a candidate for the fleet's leader.
pub(super) struct Alerting {
    pub db: AlertDb,
    mode: Mode,
}

enum Mode {
    Solo {
        engine: Arc<AlertEngine>,
        delivery: DeliveryHandle,
        stop: CancellationToken,
        ticker: tokio::task::JoinHandle<()>,
    },
    /// Only the leader reconciles and delivers (`super::leader`).
    Fleet(super::leader::Leader),
}

impl Alerting {
    /// Starts alerting; in a fleet, the candidacy for the alerting role,
    /// given up when `resign` is cancelled (SIGTERM).
    pub(super) async fn start(
        config: &Config,
        metrics: Arc<Metrics>,
        base_url: String,
        journeys: &[Arc<Journey>],
        fleet: Option<(&Arc<Fleet>, &Arc<StatusBoard>)>,
        resign: &CancellationToken,
    ) -> anyhow::Result<Alerting> {
        let db = open_alert_db(config).await?;
        let receivers = build_all(
            &config.alerting.receivers,
            &config.secret_source(),
            Some(&base_url),
        )
        .map_err(|errors| anyhow::anyhow!(errors.join("; ")))?;
        if let Some((fleet, board)) = fleet {
            let owner = format!("{}/{}", fleet.location(), fleet.replica());
            let leadership = Leadership::new(fleet.pool().clone(), ALERTING, owner, fleet.ttl());
            let parts = super::leader::Parts {
                config: config.alerting.clone(),
                labels: config.labels.clone(),
                metrics,
                base_url,
                db: db.clone(),
                receivers,
                pool: fleet.pool().clone(),
                board: board.clone(),
            };
            let leader =
                super::leader::Leader::start(parts, Arc::new(leadership), journeys, resign);
            return Ok(Alerting {
                db,
                mode: Mode::Fleet(leader),
            });
        }
        let stop = CancellationToken::new();
        let delivery = spawn_delivery(db.clone(), receivers.clone(), metrics.clone(), stop.clone());
        let engine = Arc::new(
            AlertEngine::new(
                config.alerting.clone(),
                db.clone(),
                delivery.clone(),
                receivers,
                metrics,
                config.labels.clone(),
                base_url,
            )
            .await,
        );
        engine.set_journeys(journeys).await;
        let ticker = tokio::spawn(super::tick::tick(
            engine.clone(),
            config.alerting.connectivity_check.clone(),
            stop.clone(),
        ));
        Ok(Alerting {
            db,
            mode: Mode::Solo {
                engine,
                delivery,
                stop,
                ticker,
            },
        })
    }

    /// The engine the scheduler feeds directly: none in a fleet, where every
    /// run reaches the leader through the inbox.
    pub(super) fn engine(&self) -> Option<Arc<AlertEngine>> {
        match &self.mode {
            Mode::Solo { engine, .. } => Some(engine.clone()),
            Mode::Fleet(_) => None,
        }
    }

    /// The journeys now configured (reload).
    pub(super) async fn set_journeys(&self, journeys: &[Arc<Journey>]) {
        match &self.mode {
            Mode::Solo { engine, .. } => engine.set_journeys(journeys).await,
            Mode::Fleet(leader) => leader.set_journeys(journeys).await,
        }
    }

    /// Stops the tick and the workers; undelivered notifications stay in the outbox.
    pub(super) async fn stop(self) {
        match self.mode {
            Mode::Solo {
                engine,
                delivery,
                stop,
                ticker,
                ..
            } => {
                // Counters changed since the last tick (`AlertEngine::store_states`).
                engine.store_states().await;
                stop.cancel();
                let _ = ticker.await;
                delivery.join().await;
            }
            Mode::Fleet(leader) => leader.stop().await,
        }
    }
}

/// The alert database: `alerts.db` in the state directory, or the
/// fleet-wide alert tables in PostgreSQL when the store is PostgreSQL (the
/// run history's database). A full disk, or PostgreSQL out of reach, starts
/// with alerting in memory (and recovers); anything else refuses to start.
async fn open_alert_db(config: &Config) -> anyhow::Result<AlertDb> {
    match super::fleet::history_backend(config)? {
        Backend::Sqlite(_) => {
            AlertDb::start(config.state_dir.join("alerts.db")).with_context(|| {
                format!(
                    "cannot open the alert database in {}",
                    config.state_dir.display()
                )
            })
        }
        Backend::Postgres(target) => {
            let location = target.describe();
            let db = AlertDb::start(Backend::Postgres(target))
                .with_context(|| format!("cannot open the alert tables in {location}"))?;
            // Out of reach is not an error (it is retried); a schema from a
            // newer journeyd is.
            db.connect()
                .await
                .with_context(|| format!("cannot open the alert tables in {location}"))?;
            Ok(db)
        }
    }
}
