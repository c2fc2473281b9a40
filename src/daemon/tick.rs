//! The alert engine's periodic tick (reminders, re-sends, holds that end)
//! and the connectivity check, for a daemon on its own and for a fleet's
//! alerting leader alike.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::alert::engine::AlertEngine;

/// How often the connectivity check runs.
const PROBE_EVERY: Duration = Duration::from_secs(30);

/// Ticks `engine` until `stop`.
pub(super) async fn tick(engine: Arc<AlertEngine>, check: Option<String>, stop: CancellationToken) {
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
