//! Reload: validate the whole new configuration first, keep the running one on any
//! error, then hand the new journeys to every part of the daemon. Settings that only
//! change at restart are named in a warning.

use std::sync::Arc;

use super::{Daemon, by_name, notify, run_options};
use crate::config::{self, Config};
use crate::journey::Journey;
use crate::schedule::Command;
use crate::status::control::ReloadError;

impl Daemon {
    /// Validates everything first; on any error the running set stays.
    pub(super) async fn reload(&mut self) -> Result<String, ReloadError> {
        notify::reloading();
        let result = match config::load_all(&self.config_path, &self.engine) {
            Err(diags) => {
                let errors: Vec<String> = diags.iter().map(ToString::to_string).collect();
                for e in &errors {
                    tracing::error!(error = %e, "Reload failed; keeping the running configuration.");
                }
                self.hooks.metrics.config_reloaded(false);
                Err(ReloadError::Invalid(errors))
            }
            Ok((config, journeys)) => Ok(self.apply(config, journeys).await),
        };
        notify::ready("reloaded");
        result
    }

    async fn apply(&mut self, config: Config, journeys: Vec<Journey>) -> String {
        // One copy of each journey, shared by every part of the daemon.
        let journeys: Vec<Arc<Journey>> = journeys.into_iter().map(Arc::new).collect();
        for (what, changed) in [
            ("listen", config.listen != self.config.listen),
            ("state_dir", config.state_dir != self.config.state_dir),
            ("concurrency", config.concurrency != self.config.concurrency),
            ("labels", config.labels != self.config.labels),
            ("metrics", config.metrics != self.config.metrics),
            (
                "admin_token_secret",
                config.admin_token_secret != self.config.admin_token_secret,
            ),
            (
                "alerting",
                format!("{:?}", config.alerting) != format!("{:?}", self.config.alerting),
            ),
            (
                "history",
                format!("{:?}", config.retention) != format!("{:?}", self.config.retention),
            ),
            ("log_format", config.log_format != self.config.log_format),
            ("store", config.store != self.config.store),
            ("fleet", config.fleet != self.config.fleet),
            (
                "shutdown_grace",
                config.shutdown_grace != self.config.shutdown_grace,
            ),
            (
                "first_run_within",
                config.first_run_within != self.config.first_run_within,
            ),
            ("tracing", config.trace_export != self.config.trace_export),
        ] {
            if changed {
                tracing::warn!(
                    setting = what,
                    "This setting changes only at restart; the running value stays."
                );
            }
        }
        let summary = format!("{} journeys", journeys.len());
        let mut options = run_options(&config);
        options.handoff = self.hooks.options.load().handoff.clone();
        self.hooks.options.store(Arc::new(options));
        self.hooks.configured.store(by_name(&journeys));
        if let Some(f) = &self.hooks.fleet {
            super::fleet::set_journeys(f, &journeys);
        }
        self.hooks.board.set_journeys(&journeys);
        self.hooks.metrics.set_journeys(&journeys);
        self.alerting.set_journeys(&journeys).await;
        self.hooks.metrics.config_reloaded(true);
        let _ = self.scheduler_tx.send(Command::Replace(journeys)).await;
        tracing::info!(journeys = %summary, "Configuration reloaded.");
        summary
    }
}
