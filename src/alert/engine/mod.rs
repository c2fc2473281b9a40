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

//!
//! The engine's `impl` is split by concern: `load` (restoring state, the
//! configured journeys), `reconcile` (routing, holds, what to send), `probe`
//! (the daemon's own network health), `backend` (one `BackendFailing` page for
//! journeys failing at one back-end, their own alerts held), `resend`
//! (reminders and Alertmanager re-sends), `io` (the outbox calls) and `deploys`
//! (naming the deploy a journey started failing after), `locations` and
//! `consensus` (a fleet's locations voting on each journey's alert).

mod backend;
pub mod consensus;
pub mod deploys;
mod io;
mod load;
mod locations;
mod probe;
mod reconcile;
mod resend;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::config::AlertingConfig;
use super::outbox::{AlertDb, DeliveryHandle};
use super::receivers::Receiver;
use super::state::{Alert, AlertContext, AlertTracker, RunFacts};
use crate::metrics::Metrics;
use crate::runner::{FailureClass, JourneyRun};
use consensus::LocationVote;
pub use locations::LocationState;

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
    /// Back-end of the last run's failing step, for grouping by back-end.
    #[serde(default)]
    last_backend: Option<String>,
    /// Receivers fixed by the engine instead of the routes (`BackendFailing`).
    #[serde(default)]
    route_to: Option<Vec<String>>,
    /// In a fleet: each location's own view, from which `tracker` is voted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    locations: BTreeMap<String, LocationVote>,
    /// What the stored copy of this state says; kept here rather than in a map
    /// of its own keyed by name, one fewer copy of every journey's name.
    #[serde(skip)]
    stored: io::StoredSig,
}

struct Inner {
    /// Boxed, like the status board's entries: a `JourneyAlerts` is about 400 bytes, and a
    /// B-tree node keeps room for eleven inline, half of them empty when names arrive
    /// in order.
    journeys: BTreeMap<String, Box<JourneyAlerts>>,
    contexts: BTreeMap<String, AlertContext>,
    probe: JourneyAlerts,
    probe_failing: bool,
    /// Alert state of each back-end's `BackendFailing`.
    backends: BTreeMap<String, JourneyAlerts>,
    /// Back-end → configured journeys with a step at it.
    shared: BTreeMap<String, usize>,
    /// Last Alertmanager re-send per receiver.
    last_resend: BTreeMap<String, DateTime<Utc>>,
    /// Runs carry a location that votes (`locations`).
    fleet: bool,
    /// Location → its own probe alert (its network).
    probes: BTreeMap<String, JourneyAlerts>,
    /// Journeys whose state changed only in counters since it was stored:
    /// written together at the next tick ([`AlertEngine::store_states`]).
    dirty: std::collections::BTreeSet<String>,
    /// Journeys that failed a run since they were last seen passing (a
    /// superset of the failing ones), or `None` until a scan of all of them
    /// ([`backend::suspects`]). Outside a fleet only.
    suspects: Option<std::collections::BTreeSet<String>>,
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
    /// Feeds one run.
    pub async fn observe(&self, run: &JourneyRun) {
        self.observe_at(run, Utc::now()).await;
    }

    /// [`observe`](Self::observe) at a given time (tests drive the clock).
    pub async fn observe_at(&self, run: &JourneyRun, now: DateTime<Utc>) {
        self.observe_in(run, None, now).await;
    }

    /// One run, seen at `location` when the engine is a fleet's.
    pub(super) async fn observe_in(
        &self,
        run: &JourneyRun,
        location: Option<&str>,
        now: DateTime<Utc>,
    ) {
        let mut inner = self.inner.lock().await;
        let Some(ctx) = inner.contexts.get(&run.journey).cloned() else {
            return;
        };
        let facts = RunFacts::of(run);
        if !facts.passed
            && facts
                .message
                .as_deref()
                .is_some_and(probe::out_of_descriptors)
        {
            // journeyd's own exhaustion, not the customer's outage: the run
            // says nothing about the journey, so its alert state stays as it was.
            drop(inner);
            self.set_probe(true, probe::OUT_OF_DESCRIPTORS).await;
            return;
        }
        let held_by_probe = inner.probe_failing;
        if !facts.passed
            && let Some(suspects) = &mut inner.suspects
        {
            suspects.insert(run.journey.clone());
        }
        let location = location.filter(|_| inner.fleet);
        let mut regrouped = match location {
            Some(loc) => self.observe_vote(&mut inner, &facts, &ctx, loc, now).await,
            None => {
                let state = inner.journeys.entry(run.journey.clone()).or_default();
                state.tracker.observe(&facts, &self.config.policy, &ctx);
                self.annotate_deploy(&run.journey, &mut state.tracker).await;
                false
            }
        };
        let state = inner.journeys.entry(run.journey.clone()).or_default();
        state.last_class = facts.class;
        state.last_backend = facts.backend.clone().filter(|_| !facts.passed);
        let phase = state.tracker.phase;
        self.metrics.set_alert_state(&run.journey, phase.into());
        let silences = self.silences(now).await;
        // The back-end page first: a journey it releases pages after it resolves.
        regrouped |= self
            .reconcile_backends(&mut inner, now, held_by_probe, &silences)
            .await;
        let names: Vec<String> = if regrouped {
            inner.journeys.keys().cloned().collect()
        } else {
            vec![run.journey.clone()]
        };
        for name in names {
            let always = name == run.journey;
            self.reconcile_journey(&mut inner, &name, now, &silences, always)
                .await;
        }
        // In a fleet each location has its own network check (`locations`).
        let all_down = location.is_none() && self.network_looks_down(&inner);
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
        if inner.fleet {
            // A location that fell silent stops voting.
            self.decide_all(&mut inner, now);
        }
        let held_by_probe = inner.probe_failing;
        self.reconcile_backends(&mut inner, now, held_by_probe, &silences)
            .await;
        let names: Vec<String> = inner.journeys.keys().cloned().collect();
        for name in names {
            self.reconcile_journey(&mut inner, &name, now, &silences, false)
                .await;
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
        self.store_dirty(&mut inner).await;
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
}

fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> std::time::Duration {
    (now - since).to_std().unwrap_or_default()
}

#[cfg(test)]
mod tests;
