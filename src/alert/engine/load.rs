//! Start-up and reload: restoring persisted alert state, and taking in the
//! configured journeys (alerts of removed journeys are resolved).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::Mutex;

use super::backend::BACKEND_KEY;
use super::locations::{probe_key, probe_location};
use super::{AlertEngine, Inner, JourneyAlerts, PROBE};
use crate::alert::config::AlertingConfig;
use crate::alert::outbox::{AlertDb, DeliveryHandle};
use crate::alert::receivers::Receiver;
use crate::alert::state::{AlertContext, AlertEvent, Phase};
use crate::journey::Journey;
use crate::metrics::Metrics;

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
        let mut backends = BTreeMap::new();
        let mut probe = JourneyAlerts::default();
        let mut probes = BTreeMap::new();
        match db.load_states().await {
            Ok(states) => {
                for (name, json) in states {
                    match serde_json::from_str::<JourneyAlerts>(&json) {
                        Ok(s) if name == PROBE => probe = s,
                        Ok(s) if probe_location(&name).is_some() => {
                            let loc = probe_location(&name).unwrap_or_default();
                            probes.insert(loc.to_string(), s);
                        }
                        Ok(s) if name.starts_with(BACKEND_KEY) => {
                            backends.insert(name[BACKEND_KEY.len()..].to_string(), s);
                        }
                        Ok(mut s) => {
                            s.stored = super::io::StoredSig(Some(super::io::Sig::of(&s)));
                            journeys.insert(name, Box::new(s));
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
                backends,
                shared: BTreeMap::new(),
                last_resend: BTreeMap::new(),
                fleet: false,
                probes,
                dirty: std::collections::BTreeSet::new(),
                suspects: None,
            }),
        }
    }

    /// The journeys now configured; alerts of removed journeys are resolved.
    pub async fn set_journeys<J: std::borrow::Borrow<Journey>>(&self, journeys: &[J]) {
        let mut inner = self.inner.lock().await;
        // Journeys come and go: the next back-end scan looks at all of them.
        inner.suspects = None;
        // Restored state shows in /metrics at once, not only after the next run.
        for j in journeys {
            let j = j.borrow();
            let phase = inner
                .journeys
                .get(&j.name)
                .map_or(Phase::Ok, |s| s.tracker.phase);
            self.metrics.set_alert_state(&j.name, phase.into());
        }
        let shared = self.shared_context();
        inner.contexts = journeys
            .iter()
            .map(|j| (j.borrow().name.clone(), context(j.borrow(), &shared)))
            .collect();
        inner.shared = super::backend::shared_backends(journeys);
        let removed: Vec<String> = inner
            .journeys
            .keys()
            .filter(|k| !inner.contexts.contains_key(*k))
            .cloned()
            .collect();
        let now = Utc::now();
        let mut notes = Vec::new();
        for name in removed {
            self.metrics.remove_alert_locations_failing(&name);
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
            .chain(inner.backends.keys().map(|b| format!("{BACKEND_KEY}{b}")))
            .chain(inner.probes.keys().map(|l| probe_key(l)))
            .collect();
        if let Err(e) = self.db.remove_journeys(&keep).await {
            tracing::error!(error = %e, "Cannot forget alert state of removed journeys.");
        }
    }

    /// What every journey's context shares: the links and the daemon's labels.
    fn shared_context(&self) -> AlertContext {
        AlertContext {
            labels: Arc::new(self.daemon_labels.clone()),
            base_url: Some(self.base_url.as_str().into()),
            trace_url: self.config.trace_url.as_deref().map(Arc::from),
            ..AlertContext::default()
        }
    }
}

/// A journey's context; its labels are the daemon's own (shared) when it has none.
fn context(j: &Journey, shared: &AlertContext) -> AlertContext {
    let labels = if j.labels.is_empty() {
        shared.labels.clone()
    } else {
        let mut labels = j.labels.clone();
        labels.extend(shared.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        Arc::new(labels)
    };
    AlertContext {
        journey: j.name.as_str().into(),
        labels,
        runbook: j.runbook.as_deref().map(Arc::from),
        interval: j.interval,
        ..shared.clone()
    }
}
