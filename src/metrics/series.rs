//! The per-journey series, held by journeyd itself rather than by the `prometheus` crate.
//!
//! With 10,000 journeys these are about 380,000 series. The crate's `gather()` turns every
//! one into a protobuf message with cloned label pairs and sorts them before the text encoder
//! runs: 0.6 s of CPU and 76 MiB of garbage per scrape. Here each journey owns plain numbers
//! (one [`JourneySeries`] per configured journey, its steps in declared order), the
//! exposition writes them straight to text ([`super::expose`]), and removing a journey is
//! removing its entry, so its series cannot outlive it.
//!
//! A series exists once something set it, as with the crate: a gauge is `None` until its
//! first value, a labelled counter is absent until its first increment (except
//! `journeyd_journey_runs_total`, born at 0 so `increase()` sees a journey's first failure).

use crate::journey::Journey;
use crate::runner::{FailureClass, JourneyRun, StepOutcome, StepVerdict, Verdict};

use super::families::{COMPLETION_BUCKETS, JOURNEY_BUCKETS, STEP_BUCKETS};

/// A histogram: per-bucket counts (not cumulative; the last slot is `+Inf`), sum, count.
#[derive(Debug, Clone, Default)]
pub(super) struct Hist {
    pub buckets: Box<[u64]>,
    pub sum: f64,
    pub count: u64,
}

impl Hist {
    fn observe(h: &mut Option<Hist>, bounds: &[f64], v: f64) {
        h.get_or_insert_with(|| Hist::new(bounds)).add(bounds, v);
    }

    fn new(bounds: &[f64]) -> Self {
        Hist {
            buckets: vec![0; bounds.len() + 1].into_boxed_slice(),
            sum: 0.0,
            count: 0,
        }
    }

    fn add(&mut self, bounds: &[f64], v: f64) {
        let h = self;
        // Like the crate: a value lands in the first bucket whose bound is >= it.
        let i = bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len());
        if let Some(slot) = h.buckets.get_mut(i) {
            *slot += 1;
        }
        h.sum += v;
        h.count += 1;
    }
}

/// One journey's series.
#[derive(Debug, Default)]
pub(super) struct JourneySeries {
    /// `journeyd_journey_runs_total`: pass, fail.
    pub runs: [u64; 2],
    pub duration: Option<Hist>,
    pub success: Option<bool>,
    pub degraded: Option<bool>,
    pub last_run: Option<f64>,
    pub last_success: Option<f64>,
    pub cert_not_after: Option<f64>,
    /// `journeyd_runs_skipped_total` by reason (closed set, a handful).
    pub skipped: Vec<(String, u64)>,
    /// `journeyd_alert_state`.
    pub alert_state: Option<i64>,
    /// Values of the `journeyd_journey_info` labels, in the order of `State::info_keys`.
    pub info: Vec<String>,
    /// Declared steps (cleanup excluded), in order.
    pub steps: Vec<StepSeries>,
}

/// One step's series, 88 bytes (was 144) for as long as the journey is configured: the
/// counts by class are exact-size slices (no allocation until a step first
/// fails or retries), and the completion histogram, which only steps naming a
/// backend have, is boxed.
#[derive(Debug, Default)]
pub(super) struct StepSeries {
    pub name: Box<str>,
    /// The backend it proves: the `backend` label of its completion histogram.
    pub backend: Option<Box<str>>,
    pub success: Option<bool>,
    pub failures: Box<[(FailureClass, u64)]>,
    pub retries: Box<[(FailureClass, u64)]>,
    pub completion: Option<Box<Hist>>,
    /// `metrics.step_detail` only. Boxed: without the option (the default) a step
    /// keeps 8 bytes for it instead of 88, for as long as the journey is configured.
    pub detail: Option<Box<StepDetail>>,
}

/// A step's series under `metrics.step_detail`.
#[derive(Debug, Default)]
pub(super) struct StepDetail {
    pub duration: Option<Hist>,
    pub attempts: i64,
    /// resolve, connect, processing, transfer.
    pub http: [f64; 4],
}

impl JourneySeries {
    /// A journey declared now, keeping what `old` (the same journey before a reload) had:
    /// series of steps it no longer has are gone, and so is a step's completion histogram
    /// when the step now proves another backend (or none).
    pub fn declare(j: &Journey, old: Option<JourneySeries>, info: Vec<String>) -> Self {
        let mut s = old.unwrap_or_default();
        let mut old_steps = std::mem::take(&mut s.steps);
        s.steps = j
            .steps
            .iter()
            .map(|step| {
                let kept = old_steps
                    .iter()
                    .position(|o| *o.name == *step.name)
                    .map(|i| old_steps.swap_remove(i));
                let mut st = kept.unwrap_or_else(|| StepSeries {
                    name: step.name.as_str().into(),
                    ..StepSeries::default()
                });
                if st.backend.as_deref() != step.backend.as_deref() {
                    st.completion = None;
                    st.backend = step.backend.as_deref().map(Box::from);
                }
                st
            })
            .collect();
        s.info = info;
        s
    }

    /// Records a finished run's journey-level series.
    pub fn record_run(&mut self, run: &JourneyRun, finished: f64) {
        let passed = run.verdict == Verdict::Pass;
        self.runs[usize::from(!passed)] += 1;
        Hist::observe(&mut self.duration, JOURNEY_BUCKETS, run.duration_seconds);
        self.success = Some(passed);
        self.degraded = Some(passed && run.degraded);
        self.last_run = Some(finished);
        if passed {
            self.last_success = Some(finished);
        }
        if let Some(first) = run.steps.iter().filter_map(|s| s.cert_not_after).min() {
            self.cert_not_after = Some(first.timestamp() as f64);
        }
    }

    /// Counts a skipped start.
    pub fn skip(&mut self, reason: &str) {
        match self.skipped.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => self.skipped.push((reason.to_string(), 1)),
        }
    }

    /// The declared step of that name.
    pub fn step_mut(&mut self, name: &str) -> Option<&mut StepSeries> {
        self.steps.iter_mut().find(|s| &*s.name == name)
    }
}

impl StepSeries {
    /// Records a step's outcome; returns whether it passed, `None` when it was skipped
    /// (an earlier step failed: its series keep their last real values).
    pub fn record(&mut self, step: &StepOutcome, detail: bool) -> Option<bool> {
        let passed = match step.verdict {
            StepVerdict::Pass => true,
            StepVerdict::Fail => false,
            StepVerdict::Skipped => return None,
        };
        self.success = Some(passed);
        for reason in &step.retries {
            bump(&mut self.retries, *reason);
        }
        if detail {
            let d = self.detail.get_or_insert_default();
            Hist::observe(&mut d.duration, STEP_BUCKETS, step.duration_seconds);
            d.attempts = i64::from(step.attempts);
            let t = &step.timings;
            d.http = [t.resolve, t.connect, t.processing, t.transfer];
        }
        if let Some(failure) = step.failure.as_ref().filter(|_| !passed) {
            bump(&mut self.failures, failure.class);
        }
        // Completion is only exported for steps that name their backend: it is the label.
        // The runner sets it for finished waits and for timed-out ones (at the time watched).
        if let Some(secs) = step.backend_completion_seconds {
            self.observe_completion(secs);
        }
        Some(passed)
    }

    /// Observes how long the back-end took (or was watched), when the step names one.
    pub fn observe_completion(&mut self, secs: f64) {
        if self.backend.is_some() {
            let h =
                (self.completion).get_or_insert_with(|| Box::new(Hist::new(COMPLETION_BUCKETS)));
            h.add(COMPLETION_BUCKETS, secs);
        }
    }
}

fn bump(counts: &mut Box<[(FailureClass, u64)]>, class: FailureClass) {
    match counts.iter_mut().find(|(c, _)| *c == class) {
        Some((_, n)) => *n += 1,
        None => {
            // A class seen for the first time: rare (a closed set of a dozen).
            let mut grown = std::mem::take(counts).into_vec();
            grown.push((class, 1));
            *counts = grown.into_boxed_slice();
        }
    }
}
