//! The engine in a fleet (issue 8): runs arrive with their location, each
//! (journey, location) has its own tracker, and the journey's alert is voted
//! ([`super::consensus`]). A location whose every journey fails at DNS or
//! connect raises its own `JourneydProbeUnhealthy{location}` and does not
//! vote; it holds nobody else's alerts (the other locations still see).
//!
//! Without a fleet none of this runs: one location, the engine as before.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::consensus::{eval_consensus, stale_after};
use super::{AlertEngine, Inner, JourneyAlerts, PROBE};
use crate::alert::state::{AlertContext, Phase, RunFacts};
use crate::runner::FailureClass;

/// Stored key of a location's probe alert.
pub(super) fn probe_key(location: &str) -> String {
    format!("{PROBE}@{location}")
}

/// The location of a stored probe key, if it is one.
pub(super) fn probe_location(key: &str) -> Option<&str> {
    key.strip_prefix(PROBE)?.strip_prefix('@')
}

/// What a location reports about one journey, for the API.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LocationState {
    /// The location.
    pub location: String,
    /// Its network looks down: it does not vote.
    pub unknown: bool,
    /// Journey → the location's own phase for it.
    pub journeys: std::collections::BTreeMap<String, Phase>,
}

impl AlertEngine {
    /// Runs from now on carry their location and vote (the fleet's leader).
    pub async fn enable_locations(&self) {
        self.inner.lock().await.fleet = true;
    }

    /// Feeds one run seen at `location` (the fleet's inbox).
    pub async fn observe_from(&self, run: &crate::runner::JourneyRun, location: &str) {
        self.observe_in(run, Some(location), Utc::now()).await;
    }

    /// The location's tracker takes the run, then the journey is voted again.
    /// True when a location's network state changed (every journey's vote
    /// changed with it).
    pub(super) async fn observe_vote(
        &self,
        inner: &mut Inner,
        facts: &RunFacts,
        ctx: &AlertContext,
        location: &str,
        now: DateTime<Utc>,
    ) -> bool {
        let journey: &str = &ctx.journey;
        let state = inner.journeys.entry(journey.to_string()).or_default();
        let vote = state.locations.entry(location.to_string()).or_default();
        vote.tracker.observe(facts, &self.config.policy, ctx);
        self.annotate_deploy(journey, &mut vote.tracker).await;
        vote.last_class = facts.class;
        vote.seen = Some(now);
        let changed = self.location_probe(inner, location, now).await;
        if changed {
            self.decide_all(inner, now);
        } else {
            self.decide(inner, journey, now);
        }
        changed
    }

    /// Votes every journey again (a location went up or down, or time passed).
    pub(super) fn decide_all(&self, inner: &mut Inner, now: DateTime<Utc>) {
        let names: Vec<String> = inner.journeys.keys().cloned().collect();
        for name in names {
            self.decide(inner, &name, now);
        }
    }

    fn decide(&self, inner: &mut Inner, journey: &str, now: DateTime<Utc>) {
        let down: BTreeSet<&String> = (inner.probes.iter())
            .filter(|(_, p)| p.tracker.firing.is_some())
            .map(|(l, _)| l)
            .collect();
        let interval = inner.contexts.get(journey).map(|c| c.interval);
        let stale = stale_after(interval.unwrap_or(Duration::from_secs(60)));
        let Some(state) = inner.journeys.get_mut(journey) else {
            return;
        };
        if state.locations.is_empty() {
            return;
        }
        let (tracker, failing) = eval_consensus(
            &state.tracker,
            &state.locations,
            &|l: &str| down.iter().any(|d| d.as_str() == l),
            stale,
            self.config.consensus.min_locations,
            now,
        );
        state.tracker = tracker;
        self.metrics
            .set_alert_state(journey, state.tracker.phase.into());
        self.metrics
            .set_alert_locations_failing(journey, failing.len());
    }

    /// True when `location` runs at least two journeys and every one last
    /// failed at DNS or connect (the engine's network check, per location).
    fn location_down(inner: &Inner, location: &str) -> bool {
        let mut reported = 0;
        for (name, state) in &inner.journeys {
            let Some(v) = state.locations.get(location) else {
                continue;
            };
            if !inner.contexts.contains_key(name) {
                continue;
            }
            if !matches!(
                v.last_class,
                Some(FailureClass::Dns | FailureClass::Connect)
            ) {
                return false;
            }
            reported += 1;
        }
        reported >= 2
    }

    /// Raises or clears `location`'s probe alert; true when it changed.
    async fn location_probe(&self, inner: &mut Inner, location: &str, now: DateTime<Utc>) -> bool {
        let down = Self::location_down(inner, location);
        self.metrics.set_location_up(location, !down);
        let state: &mut JourneyAlerts = inner.probes.entry(location.to_string()).or_default();
        if state.tracker.firing.is_some() == down {
            return false;
        }
        state.tracker.firing = down.then(|| {
            let why = format!("every journey at location {location} fails to resolve or connect");
            let mut a = self.probe_alert(&why, now);
            a.labels.insert("location".into(), location.to_string());
            Box::new(a)
        });
        state.tracker.phase = if down { Phase::Firing } else { Phase::Ok };
        let notes = self.reconcile(state, now, false, &[], false);
        let json = serde_json::to_string(&*state).unwrap_or_default();
        self.commit(&probe_key(location), &json, &notes).await;
        if down {
            tracing::error!(
                location,
                "A location lost its network: it does not vote until it is back."
            );
        } else {
            tracing::info!(location, "A location's network is back: it votes again.");
        }
        true
    }

    /// Each location's view: its network state and its own phase per journey.
    pub async fn locations(&self) -> Vec<LocationState> {
        let inner = self.inner.lock().await;
        let mut out: std::collections::BTreeMap<String, LocationState> = Default::default();
        for (journey, state) in &inner.journeys {
            for (loc, v) in &state.locations {
                let entry = out.entry(loc.clone()).or_insert_with(|| LocationState {
                    location: loc.clone(),
                    unknown: inner
                        .probes
                        .get(loc)
                        .is_some_and(|p| p.tracker.firing.is_some()),
                    journeys: Default::default(),
                });
                entry.journeys.insert(journey.clone(), v.tracker.phase);
            }
        }
        out.into_values().collect()
    }
}
