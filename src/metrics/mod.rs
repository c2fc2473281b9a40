//! Prometheus metrics: the registry and every metric journeyd exports, defined once in
//! [`families`](self) (names, help, labels, buckets).
//!
//! The daemon runs journeys on its own clock, so a failure that recovers between two scrapes
//! is invisible in a gauge: every verdict is also a counter or a histogram, and alert rules
//! use `increase()`.
//!
//! Label values are bounded: journey, step and backend names come from configuration, classes
//! and phases from closed sets. Series of journeys or steps removed by a reload are deleted
//! in [`Metrics::set_journeys`], and runs of undeclared journeys or steps are ignored, so a
//! run that finishes after a reload cannot bring a deleted series back.
//!
//! Daemon-wide families live in a `prometheus` registry; the per-journey ones (most of the
//! exposition: about 38 series per 5-step journey) live in [`series`](self) and are written
//! straight to text in bounded chunks ([`Metrics::render_chunk`]), so a scrape of 10,000
//! journeys costs tens of milliseconds and no burst of memory.
//!
//! What a run exports:
//! - steps in `run.steps` only; cleanup steps are not exported as steps (their names may
//!   repeat a step's, and they never change the verdict);
//! - a skipped step (an earlier one failed) touches none of its series: its last real
//!   verdict, attempts and timings stay, since the run says nothing new about it.

mod alerting;
mod durable;
mod expose;
mod families;
mod fleet;
mod info;
mod process;
mod register;
mod series;
mod state;
mod store;
#[cfg(test)]
mod tests;
mod text;
mod trace_export;

pub use self::alerting::AlertLevel;
pub use self::expose::Cursor;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use prometheus::Registry;

use self::families::Families;
use self::series::JourneySeries;
use self::state::{Backends, State};
use crate::journey::Journey;
use crate::runner::JourneyRun;

/// The exact content type of [`Metrics::render`] (the text encoder's format type).
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// What the exposition includes beyond the default series budget (docs/metrics.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsOptions {
    /// Per-step duration histograms, HTTP phase gauges and attempt gauges: about 24
    /// series per step instead of 1. Off by default.
    pub step_detail: bool,
}

/// Every metric journeyd exports, defined once.
pub struct Metrics {
    options: MetricsOptions,
    registry: Registry,
    families: Families,
    process: process::ProcessFamilies,
    trace_export: trace_export::TraceExportFamilies,
    /// Names of the daemon's static labels (they win over journey labels of the same name).
    static_labels: BTreeSet<String>,
    /// The static labels, sorted by name, for the series journeyd writes itself.
    statics: Vec<(String, String)>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("static_labels", &self.static_labels)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry whose every series carries `static_labels` (e.g. `location`).
    ///
    /// Fails when a static label name is not a valid Prometheus label name or is one
    /// journeyd sets itself (`journey`, `step`, ...).
    pub fn new(static_labels: &BTreeMap<String, String>) -> Result<Self, prometheus::Error> {
        Self::with_options(static_labels, MetricsOptions::default())
    }

    /// [`Metrics::new`] with explicit [`MetricsOptions`].
    pub fn with_options(
        static_labels: &BTreeMap<String, String>,
        options: MetricsOptions,
    ) -> Result<Self, prometheus::Error> {
        check_static_labels(static_labels)?;
        let common: HashMap<String, String> = static_labels.clone().into_iter().collect();
        let registry = Registry::new_custom(None, Some(common).filter(|l| !l.is_empty()))?;
        let families = Families::new(&registry)?;
        let process = process::ProcessFamilies::new(&registry)?;
        let trace_export = trace_export::TraceExportFamilies::new(&registry)?;
        let daemon = &families.daemon;
        daemon
            .build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        daemon.reload_ok.set(0);
        store::declare(&families);
        Ok(Self {
            options,
            registry,
            families,
            process,
            trace_export,
            static_labels: static_labels.keys().cloned().collect(),
            statics: static_labels.clone().into_iter().collect(),
            state: Mutex::default(),
        })
    }

    /// Declares the journeys currently configured: creates their series, and deletes
    /// the series of journeys (and steps, backends) no longer present.
    pub fn set_journeys<J: std::borrow::Borrow<Journey>>(&self, journeys: &[J]) {
        let declared = state::declare(journeys);
        let info_keys = info::keys(journeys, &self.static_labels);
        let mut guard = self.lock();
        let state = &mut *guard;
        // Rebuilt from the configuration: a journey (or step) not in it has no entry, so
        // its series are gone; the others keep their values.
        let mut old = std::mem::take(&mut state.series);
        state.series = journeys
            .iter()
            .map(|j| {
                let j = j.borrow();
                let row = info::values(j, &info_keys);
                let kept = old.remove(&j.name);
                (j.name.clone(), JourneySeries::declare(j, kept, row))
            })
            .collect();
        state.info_keys = info_keys;
        let backends = state.backends.redeclare(&declared);
        for name in state.backends.names() {
            if backends.up(name).is_none() {
                let _ = self.families.daemon.backend_up.remove_label_values(&[name]);
            }
        }
        for backend in backends.names() {
            self.publish_backend(&backends, backend);
        }
        state.backends = backends;
        drop(guard);
        // Freed outside the lock: dropping 10,000 removed journeys takes a moment.
        drop(old);
        let count = i64::try_from(journeys.len()).unwrap_or(i64::MAX);
        self.families.daemon.journeys.set(count);
    }

    /// Records a finished run. Runs of journeys (and steps) not declared by the last
    /// [`Metrics::set_journeys`] are ignored.
    pub fn observe_run(&self, journey: &Journey, run: &JourneyRun) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let name = journey.name.as_str();
        let Some(series) = state.series.get_mut(name) else {
            tracing::debug!(journey = %name, "Run of an undeclared journey not exported.");
            return;
        };
        series.record_run(run, unix_seconds(run.started_at) + run.duration_seconds);
        for step in &run.steps {
            let Some(s) = series.step_mut(&step.name) else {
                continue;
            };
            let passed = s.record(step, self.options.step_detail);
            if let (Some(passed), Some(backend)) = (passed, s.backend.as_deref()) {
                state.backends.record(backend, name, &step.name, passed);
                self.publish_backend(&state.backends, backend);
            }
        }
    }

    /// Counts a run that was not started (`overlap`, `shutdown`, `concurrency`).
    /// `reason` must come from a closed set; skips of undeclared journeys are ignored.
    pub fn run_skipped(&self, journey: &str, reason: &str) {
        if let Some(series) = self.lock().series.get_mut(journey) {
            series.skip(reason);
        }
    }

    /// Records how late a run started compared with its schedule (negative counts as 0).
    pub fn observe_scheduling_lag(&self, seconds: f64) {
        if seconds.is_finite() {
            self.families
                .daemon
                .scheduling_lag
                .observe(seconds.max(0.0));
        }
    }

    /// Records a configuration reload attempt.
    pub fn config_reloaded(&self, ok: bool) {
        let daemon = &self.families.daemon;
        daemon.reload_ok.set(i64::from(ok));
        if ok {
            daemon.reload_time.set(unix_seconds(Utc::now()));
        }
    }

    /// The whole text exposition at once (tests, the bench); the server streams
    /// [`Metrics::render_chunk`] instead.
    pub fn render(&self) -> String {
        let mut cursor = Cursor::default();
        let mut out = String::new();
        while let Some(chunk) = self.render_chunk(&mut cursor) {
            out.push_str(&chunk);
        }
        out
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish_backend(&self, backends: &Backends, backend: &str) {
        let gauge = &self.families.daemon.backend_up;
        match backends.up(backend) {
            Some(up) => gauge.with_label_values(&[backend]).set(i64::from(up)),
            None => {
                let _ = gauge.remove_label_values(&[backend]);
            }
        }
    }
}

/// Rejects static labels that are not valid label names or that journeyd sets itself
/// (the configuration loader refuses them first, with their position).
fn check_static_labels(labels: &BTreeMap<String, String>) -> Result<(), prometheus::Error> {
    for name in labels.keys() {
        crate::labels::check_name(name)
            .map_err(|e| prometheus::Error::Msg(format!("static {e}")))?;
    }
    Ok(())
}

fn unix_seconds(t: DateTime<Utc>) -> f64 {
    t.timestamp_micros() as f64 / 1e6
}
