//! The alert engine: feeds every run to its journey's [`AlertTracker`],
//! reconciles what should be firing with what receivers were told, and
//! writes state and notifications to the outbox in one transaction.
//!
//! Reconciling (instead of forwarding state-machine events) is what makes
//! holds simple and restarts safe: during a maintenance window, a silence or
//! a probe outage nothing is sent and `delivered` stays as it was; when the
//! hold ends the next tick sends exactly the difference. After a restart,
//! `delivered` is loaded back, so a firing alert is not paged again and a
//! resolve that was due is still sent.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::config::AlertingConfig;
use super::outbox::{AlertDb, DeliveryHandle, Silence};
use super::receivers::{Receiver, fingerprint};
use super::state::{Alert, AlertContext, AlertEvent, AlertTracker, Phase, RunFacts};
use crate::journey::Journey;
use crate::metrics::Metrics;
use crate::runner::{FailureClass, JourneyRun};

/// Key under which the probe's own alert is tracked.
const PROBE: &str = "__journeyd_probe__";

/// What receivers were told about one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Delivered {
    alert: Alert,
    receivers: Vec<String>,
    last_sent: DateTime<Utc>,
}

/// The persisted alert state of one journey.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct JourneyAlerts {
    tracker: AlertTracker,
    /// fingerprint → what receivers believe is firing.
    delivered: BTreeMap<String, Delivered>,
    /// Class of the last run's failure, for the network-loss check.
    #[serde(default)]
    last_class: Option<FailureClass>,
}

struct Inner {
    journeys: BTreeMap<String, JourneyAlerts>,
    contexts: BTreeMap<String, AlertContext>,
    probe: JourneyAlerts,
    probe_failing: bool,
    /// Last Alertmanager re-send per receiver.
    last_resend: BTreeMap<String, DateTime<Utc>>,
}

/// The daemon's alerting.
pub struct AlertEngine {
    config: AlertingConfig,
    db: AlertDb,
    delivery: DeliveryHandle,
    receivers: Vec<Arc<dyn Receiver>>,
    metrics: Arc<Metrics>,
    daemon_labels: BTreeMap<String, String>,
    base_url: String,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for AlertEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertEngine").finish_non_exhaustive()
    }
}

impl AlertEngine {
    /// Loads persisted state (a restart neither re-pages nor forgets).
    pub async fn new(
        config: AlertingConfig,
        db: AlertDb,
        delivery: DeliveryHandle,
        receivers: Vec<Arc<dyn Receiver>>,
        metrics: Arc<Metrics>,
        daemon_labels: BTreeMap<String, String>,
        base_url: String,
    ) -> Self {
        let mut journeys = BTreeMap::new();
        let mut probe = JourneyAlerts::default();
        match db.load_states().await {
            Ok(states) => {
                for (name, json) in states {
                    match serde_json::from_str::<JourneyAlerts>(&json) {
                        Ok(s) if name == PROBE => probe = s,
                        Ok(s) => {
                            journeys.insert(name, s);
                        }
                        Err(e) => {
                            tracing::warn!(journey = %name, error = %e, "Stored alert state unreadable; starting it fresh.")
                        }
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "Cannot read alert state; starting fresh."),
        }
        let probe_failing = !probe.delivered.is_empty();
        Self {
            config,
            db,
            delivery,
            receivers,
            metrics,
            daemon_labels,
            base_url,
            inner: Mutex::new(Inner {
                journeys,
                contexts: BTreeMap::new(),
                probe,
                probe_failing,
                last_resend: BTreeMap::new(),
            }),
        }
    }

    /// The journeys now configured; alerts of removed journeys are resolved.
    pub async fn set_journeys(&self, journeys: &[Journey]) {
        let mut inner = self.inner.lock().await;
        // Restored state shows in /metrics at once, not only after the next run.
        for j in journeys {
            let phase = inner
                .journeys
                .get(&j.name)
                .map_or(Phase::Ok, |s| s.tracker.phase);
            self.metrics.set_alert_state(&j.name, phase.into());
        }
        inner.contexts = journeys
            .iter()
            .map(|j| (j.name.clone(), self.context(j)))
            .collect();
        let removed: Vec<String> = inner
            .journeys
            .keys()
            .filter(|k| !inner.contexts.contains_key(*k))
            .cloned()
            .collect();
        let now = Utc::now();
        let mut notes = Vec::new();
        for name in removed {
            if let Some(state) = inner.journeys.remove(&name) {
                for d in state.delivered.into_values() {
                    for r in d.receivers {
                        notes.push((r, AlertEvent::Resolved(d.alert.clone(), now)));
                    }
                }
            }
        }
        if !notes.is_empty() {
            self.send(&notes).await;
        }
        let keep: Vec<String> = inner
            .contexts
            .keys()
            .cloned()
            .chain([PROBE.to_string()])
            .collect();
        if let Err(e) = self.db.remove_journeys(&keep).await {
            tracing::error!(error = %e, "Cannot forget alert state of removed journeys.");
        }
    }

    fn context(&self, j: &Journey) -> AlertContext {
        let mut labels = j.labels.clone();
        labels.extend(self.daemon_labels.clone());
        AlertContext {
            journey: j.name.clone(),
            labels,
            runbook: j.runbook.clone(),
            base_url: Some(self.base_url.clone()),
        }
    }

    /// Feeds one run.
    pub async fn observe(&self, run: &JourneyRun) {
        self.observe_at(run, Utc::now()).await;
    }

    /// [`observe`](Self::observe) at a given time (tests drive the clock).
    pub async fn observe_at(&self, run: &JourneyRun, now: DateTime<Utc>) {
        let mut inner = self.inner.lock().await;
        let Some(ctx) = inner.contexts.get(&run.journey).cloned() else {
            return;
        };
        let facts = RunFacts::of(run);
        let held_by_probe = inner.probe_failing;
        let state = inner.journeys.entry(run.journey.clone()).or_default();
        state.tracker.observe(&facts, &self.config.policy, &ctx);
        state.last_class = facts.class;
        let phase = state.tracker.phase;
        let silences = self.silences(now).await;
        let notes = self.reconcile(state, now, held_by_probe, &silences);
        let json = serde_json::to_string(&*state).unwrap_or_default();
        self.metrics.set_alert_state(&run.journey, phase.into());
        self.commit(&run.journey, &json, &notes).await;
        let all_down = self.network_looks_down(&inner);
        let probe_failing = inner.probe_failing;
        drop(inner);
        if all_down {
            self.set_probe(true, "every journey fails to resolve or connect")
                .await;
        } else if probe_failing && self.config.connectivity_check.is_none() && facts.passed {
            self.set_probe(false, "").await;
        }
    }

    /// Reminders, held notifications whose hold ended, Alertmanager re-sends.
    pub async fn tick(&self) {
        self.tick_at(Utc::now()).await;
    }

    /// [`tick`](Self::tick) at a given time (tests drive the clock).
    pub async fn tick_at(&self, now: DateTime<Utc>) {
        let silences = self.silences(now).await;
        let mut inner = self.inner.lock().await;
        let held_by_probe = inner.probe_failing;
        let names: Vec<String> = inner.journeys.keys().cloned().collect();
        for name in names {
            let Some(state) = inner.journeys.get_mut(&name) else {
                continue;
            };
            let notes = self.reconcile(state, now, held_by_probe, &silences);
            if !notes.is_empty() {
                let json = serde_json::to_string(&*state).unwrap_or_default();
                self.commit(&name, &json, &notes).await;
            }
        }
        // Queued while holding the lock, so a resolve committed by a concurrent
        // run cannot land between computing a re-send and queueing it.
        let resends = self.resends(&mut inner, now);
        if !resends.is_empty() {
            if let Err(e) = self.db.enqueue(&resends).await {
                tracing::error!(error = %e, "Cannot queue Alertmanager re-sends.");
            }
            self.delivery.wake();
        }
    }

    /// How often [`tick`](Self::tick) must run: often enough that Alertmanager
    /// re-sends keep each alert's `endsAt` in the future.
    pub fn tick_interval(&self) -> std::time::Duration {
        self.receivers
            .iter()
            .filter_map(|r| r.resend_interval())
            .map(|every| every / 2)
            .fold(std::time::Duration::from_secs(5), std::cmp::min)
            .max(std::time::Duration::from_millis(200))
    }

    /// The probe's own health (connectivity check or all journeys failing to connect).
    pub async fn set_probe(&self, failing: bool, why: &str) {
        let mut inner = self.inner.lock().await;
        if inner.probe_failing == failing {
            return;
        }
        inner.probe_failing = failing;
        let now = Utc::now();
        let alert = failing.then(|| self.probe_alert(why, now));
        let state = &mut inner.probe;
        state.tracker.firing = alert;
        state.tracker.phase = if failing { Phase::Firing } else { Phase::Ok };
        let notes = self.reconcile(state, now, false, &[]);
        let json = serde_json::to_string(&*state).unwrap_or_default();
        self.commit(PROBE, &json, &notes).await;
        if failing {
            tracing::error!(
                reason = why,
                "journeyd lost its network; journey alerts are held."
            );
        } else {
            tracing::info!("journeyd's network is back; held journey alerts are released.");
        }
    }

    fn probe_alert(&self, why: &str, now: DateTime<Utc>) -> Alert {
        let mut labels = self.daemon_labels.clone();
        labels.insert("alertname".into(), "JourneydProbeUnhealthy".into());
        labels.insert("severity".into(), "critical".into());
        let annotations = [
            (
                "summary".to_string(),
                format!(
                    "journeyd cannot reach the network: {why}; journey alerts are held until it can"
                ),
            ),
            ("run_url".to_string(), format!("{}/", self.base_url)),
        ]
        .into();
        Alert {
            labels,
            annotations,
            starts_at: now,
        }
    }

    /// True when at least two journeys exist and every one last failed at dns/connect.
    fn network_looks_down(&self, inner: &Inner) -> bool {
        // Stops at the first journey that is not down: this runs after every run.
        inner.contexts.len() >= 2
            && inner.contexts.keys().all(|k| {
                let class = inner.journeys.get(k).and_then(|s| s.last_class);
                matches!(class, Some(FailureClass::Dns | FailureClass::Connect))
            })
    }

    fn held(&self, labels: &BTreeMap<String, String>, now: DateTime<Utc>, by_probe: bool) -> bool {
        by_probe || self.config.maintenance.iter().any(|w| w.holds(labels, now))
    }

    /// Receivers for an alert: the first matching route, else every receiver.
    fn route(&self, labels: &BTreeMap<String, String>) -> Vec<String> {
        match self.config.routes.iter().find(|r| r.matches(labels)) {
            Some(r) => r.receivers.clone(),
            None if self.config.routes.is_empty() => self
                .receivers
                .iter()
                .map(|r| r.name().to_string())
                .collect(),
            None => Vec::new(),
        }
    }

    /// The notifications that bring receivers in line with the tracker.
    fn reconcile(
        &self,
        state: &mut JourneyAlerts,
        now: DateTime<Utc>,
        by_probe: bool,
        silences: &[Silence],
    ) -> Vec<(String, AlertEvent)> {
        let desired: BTreeMap<String, Alert> = [&state.tracker.firing, &state.tracker.degraded]
            .into_iter()
            .flatten()
            .map(|a| (fingerprint(&a.labels), a.clone()))
            .collect();
        let mut notes = Vec::new();
        let gone: Vec<String> = state
            .delivered
            .keys()
            .filter(|k| !desired.contains_key(*k))
            .cloned()
            .collect();
        for fp in gone {
            let Some(d) = state.delivered.get(&fp) else {
                continue;
            };
            let silenced = silences.iter().any(|s| s.matches(&d.alert.labels));
            if silenced || (self.held(&d.alert.labels, now, by_probe) && !is_probe(&d.alert)) {
                continue;
            }
            if let Some(d) = state.delivered.remove(&fp) {
                notes.extend(
                    d.receivers
                        .iter()
                        .map(|r| (r.clone(), AlertEvent::Resolved(d.alert.clone(), now))),
                );
            }
        }
        for (fp, alert) in desired {
            let silenced = silences.iter().any(|s| s.matches(&alert.labels));
            if silenced || (self.held(&alert.labels, now, by_probe) && !is_probe(&alert)) {
                continue;
            }
            match state.delivered.get_mut(&fp) {
                None => {
                    let receivers = self.route(&alert.labels);
                    notes.extend(
                        receivers
                            .iter()
                            .map(|r| (r.clone(), AlertEvent::Firing(alert.clone()))),
                    );
                    state.delivered.insert(
                        fp,
                        Delivered {
                            alert,
                            receivers,
                            last_sent: now,
                        },
                    );
                }
                Some(d) if elapsed(d.last_sent, now) >= self.config.policy.repeat_interval => {
                    d.alert.annotations = alert.annotations.clone();
                    d.last_sent = now;
                    for r in d
                        .receivers
                        .iter()
                        .filter(|r| self.resend_interval(r).is_none())
                    {
                        notes.push((r.clone(), AlertEvent::Firing(d.alert.clone())));
                    }
                }
                Some(d) => d.alert.annotations = alert.annotations,
            }
        }
        notes
    }

    fn resend_interval(&self, receiver: &str) -> Option<std::time::Duration> {
        self.receivers
            .iter()
            .find(|r| r.name() == receiver)
            .and_then(|r| r.resend_interval())
    }

    /// Firing alerts due for a re-send to Alertmanager receivers (their `endsAt` must move on).
    fn resends(&self, inner: &mut Inner, now: DateTime<Utc>) -> Vec<(String, AlertEvent)> {
        let mut due = Vec::new();
        for r in &self.receivers {
            let Some(every) = r.resend_interval() else {
                continue;
            };
            let last = inner.last_resend.get(r.name()).copied();
            if last.is_none_or(|l| elapsed(l, now) >= every) {
                inner.last_resend.insert(r.name().to_string(), now);
                due.push(r.name().to_string());
            }
        }
        let mut out = Vec::new();
        for state in inner.journeys.values().chain([&inner.probe]) {
            for d in state.delivered.values() {
                for r in d.receivers.iter().filter(|r| due.contains(r)) {
                    out.push((r.clone(), AlertEvent::Firing(d.alert.clone())));
                }
            }
        }
        out
    }

    async fn silences(&self, now: DateTime<Utc>) -> Vec<Silence> {
        self.db.active_silences(now).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "Cannot read silences.");
            Vec::new()
        })
    }

    async fn commit(&self, journey: &str, json: &str, notes: &[(String, AlertEvent)]) {
        if let Err(e) = self.db.commit(journey, json, notes).await {
            tracing::error!(journey, error = %e, "Cannot store alert state; notifications may be late.");
        }
        if !notes.is_empty() {
            self.delivery.wake();
        }
    }

    async fn send(&self, notes: &[(String, AlertEvent)]) {
        if let Err(e) = self.db.enqueue(notes).await {
            tracing::error!(error = %e, "Cannot queue notifications.");
        }
        self.delivery.wake();
    }
}

fn is_probe(a: &Alert) -> bool {
    a.labels
        .get("alertname")
        .is_some_and(|n| n == "JourneydProbeUnhealthy")
}

fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> std::time::Duration {
    (now - since).to_std().unwrap_or_default()
}

#[cfg(test)]
mod tests;
