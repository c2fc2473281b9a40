//! Reconciling: routing an alert to receivers, holds (maintenance windows,
//! silences, the probe) and the notifications that bring receivers in line
//! with the tracker.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::backend::is_journey_failing;
use super::probe::is_probe;
use super::{AlertEngine, Delivered, JourneyAlerts, elapsed};
use crate::alert::outbox::Silence;
use crate::alert::receivers::fingerprint;
use crate::alert::state::{Alert, AlertEvent};

impl AlertEngine {
    fn held(&self, labels: &BTreeMap<String, String>, now: DateTime<Utc>, by_probe: bool) -> bool {
        by_probe || self.config.maintenance.iter().any(|w| w.holds(labels, now))
    }

    /// Receivers for an alert: the first matching route, else every receiver.
    pub(super) fn route(&self, labels: &BTreeMap<String, String>) -> Vec<String> {
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

    /// The notifications that bring receivers in line with the tracker. With
    /// `inhibit`, a `JourneyFailing` alert is held (a `BackendFailing` page
    /// explains it); its resolve still goes to receivers already told.
    pub(super) fn reconcile(
        &self,
        state: &mut JourneyAlerts,
        now: DateTime<Utc>,
        by_probe: bool,
        silences: &[Silence],
        inhibit: bool,
    ) -> Vec<(String, AlertEvent)> {
        let desired: BTreeMap<String, Alert> = [
            &state.tracker.firing,
            &state.tracker.degraded,
            &state.tracker.flaky,
        ]
        .into_iter()
        .flatten()
        .map(|a| (fingerprint(&a.labels), Alert::clone(a)))
        .collect();
        let hold = |labels: &BTreeMap<String, String>, alert: &Alert| {
            silences.iter().any(|s| s.matches(labels))
                || (self.held(labels, now, by_probe) && !is_probe(alert))
        };
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
            if hold(&d.alert.labels, &d.alert) {
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
            let inhibited = inhibit && is_journey_failing(&alert);
            if !(hold(&alert.labels, &alert) || inhibited) {
                self.notify_desired(state, fp, alert, now, &mut notes);
            }
        }
        notes
    }

    /// One alert that should be firing: first notification, reminder after
    /// `repeat_interval` (receivers that re-send on their own excepted), or
    /// just fresher annotations.
    fn notify_desired(
        &self,
        state: &mut JourneyAlerts,
        fp: String,
        alert: Alert,
        now: DateTime<Utc>,
        notes: &mut Vec<(String, AlertEvent)>,
    ) {
        match state.delivered.get_mut(&fp) {
            None => {
                let receivers = match &state.route_to {
                    Some(fixed) => fixed.clone(),
                    None => self.route(&alert.labels),
                };
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
}
