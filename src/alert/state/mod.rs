//! The alert lifecycle of one journey, as a pure state machine:
//! OK → PENDING → FIRING → OK, plus DEGRADED (slow but correct) at warning
//! severity. It sees each run's facts and says which alerts start and end;
//! it does no I/O and reads no clock, so every transition is table-tested.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::metrics::AlertLevel;

mod alerts;
mod flaky;

use alerts::{degraded_alert, failing_alert, identity};
pub use flaky::{FaultCount, FlakyPolicy};

use crate::runner::{FailureClass, JourneyRun, StepVerdict, Verdict};

/// When a journey's failures page and when they stop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlertPolicy {
    /// Re-runs right after a failed run, before the failure counts twice.
    pub confirm: u32,
    /// Pause before a confirmation re-run.
    pub confirm_delay: Duration,
    /// Consecutive failed runs (confirmations included) to fire.
    pub failure_threshold: u32,
    /// Consecutive passing runs to resolve.
    pub success_threshold: u32,
    /// Also fire when `m` of the last `n` runs failed.
    pub window: Option<(u32, u32)>,
    /// Reminder interval while firing.
    pub repeat_interval: Duration,
    /// When transient faults are reported as `JourneyFlaky` (warning).
    #[serde(default)]
    pub flaky: FlakyPolicy,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        Self {
            confirm: 1,
            confirm_delay: Duration::from_secs(2),
            failure_threshold: 2,
            success_threshold: 2,
            window: None,
            repeat_interval: Duration::from_secs(4 * 3600),
            flaky: FlakyPolicy::default(),
        }
    }
}

/// Where a journey stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Passing.
    #[default]
    Ok,
    /// Failing, below the threshold.
    Pending,
    /// Alert firing.
    Firing,
}

impl From<Phase> for AlertLevel {
    /// The metric's closed values mirror the phases one to one; the mapping
    /// lives here so the metrics do not depend on the alert engine.
    fn from(phase: Phase) -> Self {
        match phase {
            Phase::Ok => AlertLevel::Ok,
            Phase::Pending => AlertLevel::Pending,
            Phase::Firing => AlertLevel::Firing,
        }
    }
}

/// What of a run matters to alerting.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFacts {
    /// Run id.
    pub run_id: uuid::Uuid,
    /// Start of the run.
    pub started_at: DateTime<Utc>,
    /// Passed?
    pub passed: bool,
    /// Passed but slower than a warning threshold.
    pub degraded: bool,
    /// The failing (or, for degraded runs, the slow) step.
    pub step: Option<String>,
    /// Its backend.
    pub backend: Option<String>,
    /// Failure class.
    pub class: Option<FailureClass>,
    /// The failure message.
    pub message: Option<String>,
    /// First expected value.
    pub expected: Option<String>,
    /// First actual value.
    pub actual: Option<String>,
    /// Requests sent and transient faults met (for `JourneyFlaky`).
    pub faults: FaultCount,
    /// W3C trace id of the failing (or slow) step, else of the run.
    pub trace_id: Option<String>,
    /// What the failing step's on-failure diagnostics said, one `name: status excerpt`
    /// per diagnostic (already redacted by the runner).
    pub diagnostics: Option<String>,
    /// A durable step the run left pending: its verdict comes later, from the
    /// obligation (`daemon::obligation`).
    pub pending: Option<String>,
}

impl RunFacts {
    /// Facts of a finished run.
    pub fn of(run: &JourneyRun) -> Self {
        let failed = run.failed_step();
        let slow = run
            .steps
            .iter()
            .find(|s| s.verdict == StepVerdict::Pass && s.degraded);
        let step = failed.or(slow);
        let failure = failed.and_then(|s| s.failure.as_ref());
        let first = failure.and_then(|f| f.mismatches.first());
        Self {
            run_id: run.run_id,
            started_at: run.started_at,
            passed: run.verdict == Verdict::Pass,
            degraded: run.degraded,
            step: step.map(|s| s.name.clone()),
            backend: step.and_then(|s| s.backend.clone()),
            class: failure.map(|f| f.class),
            message: failure.map(|f| f.message.clone()),
            expected: first.map(|m| format!("{} {}", m.subject, m.expected)),
            actual: first.map(|m| m.actual.clone()),
            faults: FaultCount::of(run),
            trace_id: step
                .and_then(|s| s.trace_id.clone())
                .or_else(|| run.trace_id.clone()),
            diagnostics: failed.filter(|s| !s.diagnostics.is_empty()).map(|s| {
                (s.diagnostics.iter())
                    .map(|d| d.line())
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
            pending: run
                .steps
                .iter()
                .find(|s| s.obligation.is_some())
                .map(|s| s.name.clone()),
        }
    }
}

/// What a firing alert says; its labels are its identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Identity: alertname, journey, severity, step, backend, class, static labels.
    pub labels: BTreeMap<String, String>,
    /// Human text: summary, expected, actual, streak, last success, run link, runbook.
    pub annotations: BTreeMap<String, String>,
    /// When it started firing.
    pub starts_at: DateTime<Utc>,
}

/// A change receivers must hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertEvent {
    /// Starts (or restates) an alert.
    Firing(Alert),
    /// Ends an alert, at this time.
    Resolved(Alert, DateTime<Utc>),
}

/// Static context for building alerts, one per configured journey. Its parts are
/// shared (`Arc`): the engine clones a journey's context for every run, and the
/// links and the daemon's labels are the same for every journey.
#[derive(Debug, Clone, Default)]
pub struct AlertContext {
    /// Journey name.
    pub journey: Arc<str>,
    /// Journey labels (team, channel) and daemon labels (location).
    pub labels: Arc<BTreeMap<String, String>>,
    /// Runbook link.
    pub runbook: Option<Arc<str>>,
    /// Base URL of the status page, for run links (`http://host:9750`).
    pub base_url: Option<Arc<str>>,
    /// Link to a trace, `{trace_id}` replaced (`alerting.trace_url`).
    pub trace_url: Option<Arc<str>>,
    /// The journey's interval (in a fleet, how long a location's vote lasts).
    pub interval: Duration,
}

/// The alert state of one journey; persisted so restarts neither re-page nor forget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertTracker {
    /// Where the journey stands.
    pub phase: Phase,
    /// Consecutive failed runs.
    pub failures: u32,
    /// Consecutive passing runs.
    pub passes: u32,
    /// Last runs, newest last: true = failed (for M-of-N).
    pub recent: VecDeque<bool>,
    /// Consecutive degraded runs.
    pub slow_runs: u32,
    /// The critical alert currently firing.
    pub firing: Option<Box<Alert>>,
    /// The warning (degraded) alert currently firing.
    pub degraded: Option<Box<Alert>>,
    /// Start of the last passing run.
    pub last_success: Option<DateTime<Utc>>,
    /// Step and class of the current failure streak: a failure elsewhere starts a new
    /// streak, so random failures spread over different steps never add up to a page.
    #[serde(default)]
    pub streak_of: Option<(String, FailureClass)>,
    /// The last run failed in a sustained way ([`is_sustained`]): it fires without a
    /// confirmation.
    #[serde(default)]
    pub sustained: bool,
    /// Faults of the last runs, newest last (for `JourneyFlaky`).
    #[serde(default)]
    pub flaky_window: VecDeque<FaultCount>,
    /// The flaky warning currently firing.
    #[serde(default)]
    pub flaky: Option<Box<Alert>>,
}

impl AlertTracker {
    /// Applies one run; returns the alerts that start or end.
    pub fn observe(
        &mut self,
        f: &RunFacts,
        policy: &AlertPolicy,
        ctx: &AlertContext,
    ) -> Vec<AlertEvent> {
        if f.passed && f.pending.is_some() && self.failing_at(f.pending.as_deref()) {
            // The step that fails is the durable one, and this run only handed it
            // over: it says nothing yet. Counting it as a pass would resolve a breach
            // at the next run while the back-end is still stuck, and page again at
            // the next breach. The obligation's end is observed instead.
            return Vec::new();
        }
        self.count(f, policy);
        let mut events = Vec::new();
        if f.passed {
            self.last_success = Some(f.started_at);
            if self.phase == Phase::Firing && self.passes >= policy.success_threshold.max(1) {
                events.extend(
                    self.firing
                        .take()
                        .map(|a| AlertEvent::Resolved(*a, f.started_at)),
                );
                self.phase = Phase::Ok;
            } else if self.phase == Phase::Pending {
                self.phase = Phase::Ok;
            }
        } else if self.should_fire(policy) {
            let alert = failing_alert(f, self, ctx);
            match self.firing.take() {
                // Same thing still broken: keep the alert, refresh its text silently.
                Some(old) if old.labels == alert.labels => {
                    self.firing = Some(Box::new(Alert {
                        starts_at: old.starts_at,
                        ..alert
                    }));
                }
                // What broke changed (another step, class): end the old, start the new.
                Some(old) => {
                    events.push(AlertEvent::Resolved(*old, f.started_at));
                    events.push(AlertEvent::Firing(alert.clone()));
                    self.firing = Some(Box::new(alert));
                }
                None => {
                    events.push(AlertEvent::Firing(alert.clone()));
                    self.firing = Some(Box::new(alert));
                }
            }
            self.phase = Phase::Firing;
        } else if self.phase == Phase::Ok {
            self.phase = Phase::Pending;
        }
        events.extend(self.observe_degraded(f, policy, ctx));
        events.extend(self.observe_flaky(f, &policy.flaky, ctx));
        events
    }

    fn count(&mut self, f: &RunFacts, policy: &AlertPolicy) {
        if f.passed {
            self.passes += 1;
            self.failures = 0;
            self.streak_of = None;
            self.sustained = false;
        } else {
            let what = f.step.clone().zip(f.class);
            // The same step failing the same way counts on; anything else starts over.
            self.failures = if what.is_some() && what == self.streak_of {
                self.failures.saturating_add(1)
            } else {
                1
            };
            self.streak_of = what;
            self.sustained = f.class.is_some_and(is_sustained);
            self.passes = 0;
        }
        let keep = policy.window.map_or(0, |(_, n)| n as usize);
        self.recent.push_back(!f.passed);
        while self.recent.len() > keep {
            self.recent.pop_front();
        }
    }

    /// Is `step` the one the firing alert is about? (A failure not yet confirmed is
    /// cleared by a hand-over as by any pass: one blip must not wait for a deadline.)
    fn failing_at(&self, step: Option<&str>) -> bool {
        let firing = self.firing.as_ref().and_then(|a| a.labels.get("step"));
        step.is_some() && firing.map(String::as_str) == step
    }

    fn should_fire(&self, policy: &AlertPolicy) -> bool {
        let streak = self.failures >= policy.failure_threshold.max(1) || self.sustained;
        let window = policy.window.is_some_and(|(m, n)| {
            self.recent.len() >= n as usize
                && self.recent.iter().filter(|x| **x).count() >= m as usize
        });
        streak || window
    }

    /// Degraded: warning severity, same thresholds; never while the journey fails.
    fn observe_degraded(
        &mut self,
        f: &RunFacts,
        policy: &AlertPolicy,
        ctx: &AlertContext,
    ) -> Vec<AlertEvent> {
        let slow = f.passed && f.degraded;
        self.slow_runs = if slow { self.slow_runs + 1 } else { 0 };
        match (&self.degraded, slow) {
            (None, true) if self.slow_runs >= policy.failure_threshold.max(1) => {
                let alert = degraded_alert(f, ctx);
                self.degraded = Some(Box::new(alert.clone()));
                vec![AlertEvent::Firing(alert)]
            }
            (Some(_), false) if f.passed && self.passes >= policy.success_threshold.max(1) => self
                .degraded
                .take()
                .map(|a| AlertEvent::Resolved(*a, f.started_at))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A failure that is already a sustained observation: `backend_timeout` means the
/// back-end was watched for the whole `eventually.within` and never finished, every
/// poll answered. A confirmation run would only wait that long again (detection issue).
pub fn is_sustained(class: FailureClass) -> bool {
    class == FailureClass::BackendTimeout
}

#[cfg(test)]
mod tests;
