//! Starting and stopping the OTLP span export (`tracing.otlp`) for the daemon.

use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::trace_export::{TraceExporter, parse_headers};

/// The running export: the handle runs use, and its task.
pub(super) struct Export {
    pub exporter: TraceExporter,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Export {
    /// Starts the export when configured; a headers secret that cannot be read
    /// or parsed refuses the start (the collector would reject every request).
    pub(super) fn start(config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<Option<Export>> {
        let Some(settings) = config.trace_export.clone() else {
            return Ok(None);
        };
        let headers = match &settings.headers_secret {
            None => Default::default(),
            Some(name) => {
                let text = config
                    .secret_source()
                    .get(name)
                    .with_context(|| format!("cannot read the secret `{name}`"))?
                    .with_context(|| format!("the secret `{name}` is missing"))?;
                parse_headers(&text)
                    .with_context(|| format!("tracing.otlp.headers_secret `{name}`"))?
            }
        };
        let stop = CancellationToken::new();
        let endpoint = settings.endpoint.clone();
        let (exporter, task) = TraceExporter::start(
            settings,
            headers,
            config.labels.clone(),
            metrics,
            stop.clone(),
        )?;
        tracing::info!(endpoint = %endpoint, "Runs are exported as OTLP spans.");
        Ok(Some(Export {
            exporter,
            stop,
            task,
        }))
    }

    /// Flushes what is queued (within the export timeout) and stops.
    pub(super) async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}
