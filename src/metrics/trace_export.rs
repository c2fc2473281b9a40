//! Series of the OTLP span export (`tracing.otlp`, see `trace_export`): spans
//! sent, spans dropped because the queue was full, export requests that failed.
//! Exported whether or not the export is configured (they stay 0), so a
//! dashboard needs no special case.

use prometheus::{IntCounter, Registry};

use super::Metrics;
use super::register::register;

/// The export's counters.
pub(super) struct TraceExportFamilies {
    exported: IntCounter,
    dropped: IntCounter,
    failures: IntCounter,
}

impl TraceExportFamilies {
    pub(super) fn new(r: &Registry) -> prometheus::Result<Self> {
        Ok(Self {
            exported: register(
                r,
                IntCounter::new(
                    "journeyd_trace_export_spans_total",
                    "Spans of runs accepted by the OTLP collector.",
                )?,
            )?,
            dropped: register(
                r,
                IntCounter::new(
                    "journeyd_trace_export_dropped_total",
                    "Spans of runs dropped without an export attempt because the export queue was full (collector slow or down).",
                )?,
            )?,
            failures: register(
                r,
                IntCounter::new(
                    "journeyd_trace_export_failures_total",
                    "OTLP export requests that failed (no answer, or not 2xx); their spans are dropped.",
                )?,
            )?,
        })
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl Metrics {
    /// `n` spans accepted by the collector.
    pub fn trace_spans_exported(&self, n: usize) {
        self.trace_export.exported.inc_by(count(n));
    }

    /// `n` spans dropped because the export queue was full.
    pub fn trace_spans_dropped(&self, n: usize) {
        self.trace_export.dropped.inc_by(count(n));
    }

    /// One export request failed.
    pub fn trace_export_failed(&self) {
        self.trace_export.failures.inc();
    }
}
