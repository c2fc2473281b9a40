//! Optional OTLP/HTTP export of each finished run as spans (`tracing.otlp` in the
//! daemon configuration; docs/tracing.md), so a run shows up in Tempo or Jaeger
//! in the same trace as the back-end spans its requests caused.
//!
//! Why hand-written OTLP/JSON: the maintained `opentelemetry-proto` crate needs
//! `prost` (and, for its JSON, `serde` feature flags tied to its `gen-tonic`
//! code) on top of the `opentelemetry` API and SDK crates, some twenty crates for
//! one POST of a JSON document whose shape ([`spans`]) fits in 150 lines. OTLP/HTTP
//! with `Content-Type: application/json` is part of the OTLP specification and
//! accepted by the OpenTelemetry Collector, Tempo and Jaeger; the request is
//! sent with the reqwest client journeyd already has.
//!
//! Never in a run's way: [`TraceExporter::export`] turns the run into spans (a
//! few microseconds) and `try_send`s them to a bounded queue of
//! [`QUEUE_RUNS`] runs; a full queue drops the run's spans and counts them in
//! `journeyd_trace_export_dropped_total`. One background task sends batches of
//! up to [`BATCH_RUNS`] runs, each request bounded by `tracing.otlp.timeout`; a
//! request that fails (collector down, non-2xx) is counted in
//! `journeyd_trace_export_failures_total` and its spans are lost: spans are
//! diagnostics, not records, and retrying would only pile up memory while the
//! collector is down. At shutdown the queue is flushed within one timeout.

pub mod spans;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::runner::JourneyRun;
use spans::{ExportRequest, Span, eval_spans};

/// Runs waiting for export at most; more are dropped (and counted).
pub const QUEUE_RUNS: usize = 1024;
/// Runs sent in one export request at most.
pub const BATCH_RUNS: usize = 64;

/// The validated `tracing.otlp` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSettings {
    /// Where spans are posted, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub endpoint: String,
    /// Secret holding extra request headers, `name=value,name2=value2` (the
    /// `OTEL_EXPORTER_OTLP_HEADERS` format), e.g. an API key.
    pub headers_secret: Option<String>,
    /// Each export request gives up after this long.
    pub timeout: Duration,
    /// The `service.name` resource attribute (`journeyd` unless set).
    pub service_name: String,
}

/// Why the exporter cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The headers secret is not `name=value,...` with valid header names and values.
    #[error("the OTLP headers secret is not `name=value,name2=value2`: {0}")]
    Headers(String),
    /// The HTTP client could not be built.
    #[error("cannot build the OTLP HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Parses `name=value,name2=value2` into headers (values may contain `=`).
pub fn parse_headers(text: &str) -> Result<HeaderMap, ExportError> {
    let mut headers = HeaderMap::new();
    for pair in text.trim().split(',').filter(|p| !p.trim().is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| ExportError::Headers("an entry has no `=`".into()))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| ExportError::Headers(format!("`{}` is not a header name", name.trim())))?;
        // The value is a secret: the error never repeats it.
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| ExportError::Headers(format!("the value of `{name}` is not valid")))?;
        headers.insert(name, value);
    }
    Ok(headers)
}

/// The handle runs are given to; cheap to clone.
#[derive(Clone)]
pub struct TraceExporter {
    tx: mpsc::Sender<Vec<Span>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for TraceExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceExporter").finish_non_exhaustive()
    }
}

/// What the background task needs.
struct Worker {
    rx: mpsc::Receiver<Vec<Span>>,
    client: reqwest::Client,
    settings: OtlpSettings,
    /// The daemon's static labels, resource attributes of every span.
    labels: BTreeMap<String, String>,
    metrics: Arc<Metrics>,
    /// The last request failed: the next failure is logged at DEBUG only, so a
    /// collector that is down gives one WARN line, not one per batch.
    failing: bool,
}

impl TraceExporter {
    /// Starts the export task; `headers` come from the headers secret (already
    /// read). The task ends when `stop` is cancelled, after one last flush.
    pub fn start(
        settings: OtlpSettings,
        headers: HeaderMap,
        labels: BTreeMap<String, String>,
        metrics: Arc<Metrics>,
        stop: CancellationToken,
    ) -> Result<(Self, tokio::task::JoinHandle<()>), ExportError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(crate::USER_AGENT)
            .default_headers(headers)
            .build()?;
        let (tx, rx) = mpsc::channel(QUEUE_RUNS);
        let worker = Worker {
            rx,
            client,
            settings,
            labels,
            metrics: metrics.clone(),
            failing: false,
        };
        let task = tokio::spawn(worker.run(stop));
        Ok((Self { tx, metrics }, task))
    }

    /// Queues the spans of `run` (a journey with `labels`); never waits. A full
    /// queue (collector slow or down) drops them and counts them.
    pub fn export(&self, run: &JourneyRun, labels: &BTreeMap<String, String>) {
        let spans = eval_spans(run, labels);
        if spans.is_empty() {
            return;
        }
        let n = spans.len();
        if self.tx.try_send(spans).is_err() {
            self.metrics.trace_spans_dropped(n);
        }
    }
}

impl Worker {
    async fn run(mut self, stop: CancellationToken) {
        loop {
            let first = tokio::select! {
                () = stop.cancelled() => break,
                got = self.rx.recv() => match got {
                    Some(spans) => spans,
                    None => return,
                },
            };
            let batch = self.batch(first);
            self.send(batch).await;
        }
        // Shutdown: what is queued gets one last chance, bounded by the timeout.
        self.rx.close();
        let within = self.settings.timeout;
        let flush = async {
            while let Some(first) = self.rx.recv().await {
                let batch = self.batch(first);
                self.send(batch).await;
            }
        };
        if tokio::time::timeout(within, flush).await.is_err() {
            tracing::warn!("Some spans were not exported before shutdown.");
        }
    }

    /// `first` and whatever else is already queued, up to [`BATCH_RUNS`] runs.
    fn batch(&mut self, first: Vec<Span>) -> Vec<Span> {
        let mut batch = first;
        for _ in 1..BATCH_RUNS {
            match self.rx.try_recv() {
                Ok(mut more) => batch.append(&mut more),
                Err(_) => break,
            }
        }
        batch
    }

    async fn send(&mut self, spans: Vec<Span>) {
        let n = spans.len();
        let body = ExportRequest::new(&self.settings.service_name, &self.labels, spans);
        let sent = self
            .client
            .post(&self.settings.endpoint)
            .json(&body)
            .send()
            .await;
        let why = match sent {
            Ok(r) if r.status().is_success() => {
                self.metrics.trace_spans_exported(n);
                if std::mem::take(&mut self.failing) {
                    tracing::info!("Spans are exported again.");
                }
                return;
            }
            Ok(r) => format!("the collector answered {}", r.status()),
            // Without the URL: the endpoint is configuration, repeated in every line otherwise.
            Err(e) => e.without_url().to_string(),
        };
        self.metrics.trace_export_failed();
        if std::mem::replace(&mut self.failing, true) {
            tracing::debug!(spans = n, error = %why, "Spans could not be exported; they are dropped.");
        } else {
            tracing::warn!(spans = n, error = %why, "Spans could not be exported; they are dropped (further failures are counted, not logged).");
        }
    }
}
