//! Starting and stopping the daemon's alerting: the alert database, the
//! receivers, their delivery workers, the engine, and its periodic tick
//! (reminders, re-sends, holds that end, the connectivity check).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::alert::engine::AlertEngine;
use crate::alert::outbox::{AlertDb, DeliveryHandle, spawn_delivery};
use crate::alert::receivers::build_all;
use crate::config::Config;
use crate::journey::Journey;
use crate::metrics::Metrics;
use crate::store::Backend;

/// How often the connectivity check runs.
const PROBE_EVERY: Duration = Duration::from_secs(30);

/// Running alerting.
pub(super) struct Alerting {
    pub engine: Arc<AlertEngine>,
    pub db: AlertDb,
    delivery: DeliveryHandle,
    stop: CancellationToken,
    ticker: tokio::task::JoinHandle<()>,
}

impl Alerting {
    pub(super) async fn start(
        config: &Config,
        metrics: Arc<Metrics>,
        base_url: String,
        journeys: &[Journey],
    ) -> anyhow::Result<Alerting> {
        let db = open_alert_db(config).await?;
        let receivers = build_all(
            &config.alerting.receivers,
            &config.secret_source(),
            Some(&base_url),
        )
        .map_err(|errors| anyhow::anyhow!(errors.join("; ")))?;
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
        let ticker = tokio::spawn(tick(
            engine.clone(),
            config.alerting.connectivity_check.clone(),
            stop.clone(),
        ));
        Ok(Alerting {
            engine,
            db,
            delivery,
            stop,
            ticker,
        })
    }

    /// Stops the tick and the workers; undelivered notifications stay in the outbox.
    pub(super) async fn stop(self) {
        self.stop.cancel();
        let _ = self.ticker.await;
        self.delivery.join().await;
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

async fn tick(engine: Arc<AlertEngine>, check: Option<String>, stop: CancellationToken) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .user_agent(crate::USER_AGENT)
        .build()
        .ok();
    let mut every = tokio::time::interval(engine.tick_interval());
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_probe: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        engine.tick().await;
        super::supervise::debug_panic("alerting");
        let due = last_probe.is_none_or(|t| t.elapsed() >= PROBE_EVERY);
        if let (Some(url), Some(client), true) = (&check, &client, due) {
            last_probe = Some(tokio::time::Instant::now());
            match client.get(url).send().await {
                Ok(r) if r.status().is_success() => engine.set_probe(false, "").await,
                Ok(r) => {
                    engine
                        .set_probe(true, &format!("connectivity check answered {}", r.status()))
                        .await
                }
                Err(e) => {
                    engine
                        .set_probe(
                            true,
                            &format!("connectivity check failed: {}", e.without_url()),
                        )
                        .await
                }
            }
        }
    }
}
