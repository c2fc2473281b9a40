//! Prometheus metrics. OWNER: helper (metrics) — stub, to be implemented.

use std::collections::BTreeMap;

use crate::journey::Journey;
use crate::runner::JourneyRun;

/// The exact content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric journeyd exports, defined once.
#[derive(Debug)]
pub struct Metrics {}

impl Metrics {
    /// A registry whose every series carries `static_labels` (e.g. `location`).
    pub fn new(_static_labels: &BTreeMap<String, String>) -> Result<Self, prometheus::Error> {
        todo!()
    }

    /// Declares the journeys currently configured: creates their series, and deletes
    /// the series of journeys (and steps, backends) no longer present.
    pub fn set_journeys(&self, _journeys: &[Journey]) {
        todo!()
    }

    /// Records a finished run.
    pub fn observe_run(&self, _journey: &Journey, _run: &JourneyRun) {
        todo!()
    }

    /// Counts a run that was not started (`overlap`, `shutdown`, `concurrency`).
    pub fn run_skipped(&self, _journey: &str, _reason: &str) {
        todo!()
    }

    /// Records how late a run started compared with its schedule.
    pub fn observe_scheduling_lag(&self, _seconds: f64) {
        todo!()
    }

    /// Records a configuration reload attempt.
    pub fn config_reloaded(&self, _ok: bool) {
        todo!()
    }

    /// Store write queue depth and dropped runs.
    pub fn set_store_queue(&self, _depth: usize, _dropped_total: u64) {
        todo!()
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        todo!()
    }
}
