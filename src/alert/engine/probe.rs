//! The probe: journeyd's own network health. When every journey fails to
//! resolve or connect (or the connectivity check fails), one probe alert fires
//! and journey alerts are held, so a lost uplink pages once, not per journey.

use chrono::{DateTime, Utc};

use super::{AlertEngine, Inner, PROBE};
use crate::alert::state::{Alert, Phase};
use crate::runner::FailureClass;

impl AlertEngine {
    /// The probe's own health (connectivity check or all journeys failing to connect).
    pub async fn set_probe(&self, failing: bool, why: &str) {
        let mut inner = self.inner.lock().await;
        if inner.probe_failing == failing {
            return;
        }
        inner.probe_failing = failing;
        let now = Utc::now();
        let alert = failing.then(|| Box::new(self.probe_alert(why, now)));
        let state = &mut inner.probe;
        state.tracker.firing = alert;
        state.tracker.phase = if failing { Phase::Firing } else { Phase::Ok };
        let notes = self.reconcile(state, now, false, &[], false);
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

    pub(super) fn probe_alert(&self, why: &str, now: DateTime<Utc>) -> Alert {
        let mut labels = self.daemon_labels.clone();
        labels.insert("alertname".into(), "JourneydProbeUnhealthy".into());
        labels.insert("severity".into(), "critical".into());
        let annotations = [
            (
                "summary".to_string(),
                format!("journeyd cannot probe: {why}; journey alerts are held until it can"),
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
    pub(super) fn network_looks_down(&self, inner: &Inner) -> bool {
        // Stops at the first journey that is not down: this runs after every run.
        inner.contexts.len() >= 2
            && inner.contexts.keys().all(|k| {
                let class = inner.journeys.get(k).and_then(|s| s.last_class);
                matches!(class, Some(FailureClass::Dns | FailureClass::Connect))
            })
    }
}

/// The probe reason when journeyd itself ran out of file descriptors.
pub(super) const OUT_OF_DESCRIPTORS: &str =
    "journeyd ran out of file descriptors (EMFILE/ENFILE); raise LimitNOFILE";

/// True when a failure message says the process (or the system) ran out of
/// file descriptors: `Too many open files` is EMFILE (os error 24), `Too many
/// open files in system` ENFILE (23). Such a run failed inside journeyd. The
/// runner marks other exhaustion it detects itself (ENOMEM reading a secret)
/// with the prefix `journeyd is out of resources`.
pub(super) fn out_of_descriptors(message: &str) -> bool {
    message.contains("Too many open files")
        || message.starts_with(crate::journey::secrets::OUT_OF_RESOURCES)
        || message.contains("os error 24")
        || message.contains("os error 23")
}

/// The probe's own alert is never held (it is what explains the hold).
pub(super) fn is_probe(a: &Alert) -> bool {
    a.labels
        .get("alertname")
        .is_some_and(|n| n == "JourneydProbeUnhealthy")
}
