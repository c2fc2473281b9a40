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
//! What a run exports:
//! - steps in `run.steps` only; cleanup steps are not exported as steps (their names may
//!   repeat a step's, and they never change the verdict);
//! - a skipped step (an earlier one failed) touches none of its series: its last real
//!   verdict, attempts and timings stay, since the run says nothing new about it.

mod alerting;
mod durable;
mod families;
mod info;
mod process;
mod register;
mod state;
mod store;
#[cfg(test)]
mod tests;

pub use self::alerting::AlertLevel;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use prometheus::{Registry, TextEncoder};

use self::families::{Families, PHASES, RESULTS};
use self::info::JourneyInfo;
use self::state::{Backends, Gone, State};
use crate::journey::Journey;
use crate::runner::{JourneyRun, StepOutcome, StepVerdict, Verdict};

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
    info: JourneyInfo,
    /// Names of the daemon's static labels (they win over journey labels of the same name).
    static_labels: BTreeSet<String>,
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
        let info = JourneyInfo::new()?;
        registry.register(Box::new(info.clone()))?;
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
            info,
            static_labels: static_labels.keys().cloned().collect(),
            state: Mutex::default(),
        })
    }

    /// Declares the journeys currently configured: creates their series, and deletes
    /// the series of journeys (and steps, backends) no longer present.
    pub fn set_journeys(&self, journeys: &[Journey]) {
        let declared = state::declare(journeys);
        let mut guard = self.lock();
        let state = &mut *guard;
        for gone in state::gone(&state.journeys, &declared) {
            self.forget(gone, &mut state.reasons);
        }
        for name in declared.keys().filter(|n| !state.journeys.contains_key(*n)) {
            // A counter series born at 1 has no earlier sample, so `increase()` sees nothing
            // and the first failure of a new journey would never alert. Born at 0, it does.
            for result in RESULTS {
                self.families
                    .journey
                    .runs
                    .with_label_values(&[name, result]);
            }
        }
        let backends = state.backends.redeclare(&declared);
        for old in state.backends.names() {
            if backends.up(old).is_none() {
                let _ = self.families.daemon.backend_up.remove_label_values(&[old]);
            }
        }
        for backend in backends.names() {
            self.publish_backend(&backends, backend);
        }
        state.backends = backends;
        state.journeys = declared;
        self.info.set(journeys, &self.static_labels);
        let count = i64::try_from(journeys.len()).unwrap_or(i64::MAX);
        self.families.daemon.journeys.set(count);
    }

    /// Records a finished run. Runs of journeys (and steps) not declared by the last
    /// [`Metrics::set_journeys`] are ignored.
    pub fn observe_run(&self, journey: &Journey, run: &JourneyRun) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let name = journey.name.as_str();
        let Some(declared) = state.journeys.get(name) else {
            tracing::debug!(journey = %name, "Run of an undeclared journey not exported.");
            return;
        };
        self.observe_verdict(name, run);
        self.observe_cert(name, run);
        for step in &run.steps {
            if let Some(backend) = declared.steps.get(&step.name) {
                self.observe_step(name, step, backend.as_deref(), &mut state.backends);
            }
        }
    }

    /// Counts a run that was not started (`overlap`, `shutdown`, `concurrency`).
    /// `reason` must come from a closed set; skips of undeclared journeys are ignored.
    pub fn run_skipped(&self, journey: &str, reason: &str) {
        let mut state = self.lock();
        if !state.journeys.contains_key(journey) {
            return;
        }
        let reasons = state.reasons.entry(journey.to_string()).or_default();
        reasons.insert(reason.to_string());
        self.families
            .journey
            .skipped
            .with_label_values(&[journey, reason])
            .inc();
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

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut families = self.registry.gather();
        // The registry appends static labels after a series' own, in hash order: sort them
        // so the output is stable.
        for family in &mut families {
            for metric in family.mut_metric() {
                metric.mut_label().sort_by(|a, b| a.name().cmp(b.name()));
            }
        }
        TextEncoder::new()
            .encode_to_string(&families)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "Metrics could not be encoded.");
                String::new()
            })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget(&self, gone: Gone<'_>, reasons: &mut BTreeMap<String, BTreeSet<String>>) {
        let step = &self.families.step;
        match gone {
            Gone::Journey(journey, shape) => {
                let seen = reasons.remove(journey).unwrap_or_default();
                self.families.journey.remove(journey, &seen);
                let _ = self.families.alert.state.remove_label_values(&[journey]);
                for (name, backend) in &shape.steps {
                    step.remove(journey, name, backend.as_deref());
                }
            }
            Gone::Step(journey, name, backend) => step.remove(journey, name, backend),
            Gone::Backend(journey, name, backend) => step.remove_completion(journey, name, backend),
        }
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

    fn observe_verdict(&self, journey: &str, run: &JourneyRun) {
        let f = &self.families.journey;
        let passed = run.verdict == Verdict::Pass;
        let result = if passed { "pass" } else { "fail" };
        f.runs.with_label_values(&[journey, result]).inc();
        f.duration
            .with_label_values(&[journey])
            .observe(run.duration_seconds);
        f.success
            .with_label_values(&[journey])
            .set(i64::from(passed));
        let degraded = passed && run.degraded;
        f.degraded
            .with_label_values(&[journey])
            .set(i64::from(degraded));
        let finished = unix_seconds(run.started_at) + run.duration_seconds;
        f.last_run.with_label_values(&[journey]).set(finished);
        if passed {
            f.last_success.with_label_values(&[journey]).set(finished);
        }
    }

    /// The first-expiring certificate the run saw, so one series per journey tells
    /// when its site's certificate runs out.
    fn observe_cert(&self, journey: &str, run: &JourneyRun) {
        let first = run.steps.iter().filter_map(|s| s.cert_not_after).min();
        if let Some(not_after) = first {
            self.families
                .journey
                .cert_not_after
                .with_label_values(&[journey])
                .set(not_after.timestamp() as f64);
        }
    }

    fn observe_step(
        &self,
        journey: &str,
        step: &StepOutcome,
        backend: Option<&str>,
        backends: &mut Backends,
    ) {
        let passed = match step.verdict {
            StepVerdict::Pass => true,
            StepVerdict::Fail => false,
            StepVerdict::Skipped => return,
        };
        let f = &self.families.step;
        let js = &[journey, step.name.as_str()];
        f.success.with_label_values(js).set(i64::from(passed));
        for reason in &step.retries {
            f.retries
                .with_label_values(&[journey, &step.name, reason.as_str()])
                .inc();
        }
        if self.options.step_detail {
            self.observe_step_detail(journey, step);
        }
        if let Some(failure) = step.failure.as_ref().filter(|_| !passed) {
            let class = failure.class.as_str();
            f.failures
                .with_label_values(&[journey, &step.name, class])
                .inc();
        }
        // Completion is only exported for steps that name their backend: it is the label.
        let Some(backend) = backend else { return };
        if let Some(secs) = step.backend_completion_seconds.filter(|_| passed) {
            f.completion
                .with_label_values(&[journey, &step.name, backend])
                .observe(secs);
        }
        backends.record(backend, journey, &step.name, passed);
        self.publish_backend(backends, backend);
    }
}

impl Metrics {
    /// The per-step detail series (`metrics.step_detail`).
    fn observe_step_detail(&self, journey: &str, step: &StepOutcome) {
        let f = &self.families.step;
        let js = &[journey, step.name.as_str()];
        f.duration
            .with_label_values(js)
            .observe(step.duration_seconds);
        f.attempts
            .with_label_values(js)
            .set(i64::from(step.attempts));
        let t = &step.timings;
        for (phase, secs) in
            PHASES
                .into_iter()
                .zip([t.resolve, t.connect, t.processing, t.transfer])
        {
            f.http
                .with_label_values(&[journey, &step.name, phase])
                .set(secs);
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
