//! One incident per broken back-end. When at least `backend_min_journeys`
//! journeys fail at steps of the same back-end (and one of them has reached
//! the point of paging), on-call gets one `BackendFailing` alert naming the
//! back-end, the journeys and their teams and channels, and the journeys'
//! own `JourneyFailing` alerts are held, as Alertmanager inhibition would hold
//! them. The back-end alert lasts while one of its journeys still fails there
//! (they recover one run apart; the last must not page on its way out); when
//! it resolves, each journey resolves or pages on its own again. A journey failing elsewhere (another back-end, a step with
//! no back-end) is not explained by the back-end and pages as before.
//!
//! The back-end alert is derived at reconcile time from every journey's
//! tracker, so there is no second state machine to keep in step: only what
//! receivers were told is stored (under `__journeyd_backend__:<name>`), so a
//! restart neither re-pages nor forgets a resolve.
//!
//! Journeys rarely fail in the same second: a new `JourneyFailing` of a
//! back-end other configured journeys use waits `backend_group_wait` (default
//! 30 s) for them, so the first page is the back-end's, not one journey's.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{AlertEngine, Inner, elapsed};
use crate::alert::outbox::Silence;
use crate::alert::receivers::fingerprint;
use crate::alert::state::{Alert, Phase};
use crate::journey::Journey;

/// Prefix of the stored state of a back-end's alert.
pub(super) const BACKEND_KEY: &str = "__journeyd_backend__:";

const JOURNEY_FAILING: &str = "JourneyFailing";

/// True for a journey's critical `JourneyFailing` alert, the one a back-end page holds.
pub(super) fn is_journey_failing(a: &Alert) -> bool {
    a.labels
        .get("alertname")
        .is_some_and(|n| n == JOURNEY_FAILING)
}

/// Back-end → number of configured journeys with a step at it.
pub(super) fn shared_backends<J: std::borrow::Borrow<Journey>>(
    journeys: &[J],
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for j in journeys {
        let j = j.borrow();
        let mine: BTreeSet<&String> = j.steps.iter().filter_map(|s| s.backend.as_ref()).collect();
        for b in mine {
            *out.entry(b.clone()).or_insert(0) += 1;
        }
    }
    out
}

/// The back-end a journey's `JourneyFailing` alert names, if it is firing.
fn firing_backend(a: Option<&Alert>) -> Option<&String> {
    a.filter(|a| is_journey_failing(a))
        .and_then(|a| a.labels.get("backend"))
}

/// The journeys that may be failing: all of them in a fleet (a location that
/// falls silent can tip a journey without a run) or when not known yet (start,
/// reload, a new leader's term), else those that failed a run since they were
/// last seen passing ([`Inner::suspects`]). The set is pruned here of journeys
/// that pass again, so the back-end scan after every run looks at the failing
/// few, not at every journey (it cost in proportion to the journeys).
fn suspects(inner: &mut Inner) -> Vec<String> {
    let failing =
        |s: &super::JourneyAlerts| s.tracker.phase != Phase::Ok || s.tracker.firing.is_some();
    match &mut inner.suspects {
        Some(set) if !inner.fleet => {
            set.retain(|n| inner.journeys.get(n).is_some_and(|s| failing(s)));
            set.iter().cloned().collect()
        }
        _ => {
            let all: Vec<String> = inner.journeys.keys().cloned().collect();
            if !inner.fleet {
                let now_failing = (inner.journeys.iter())
                    .filter(|(_, s)| failing(s))
                    .map(|(n, _)| n.clone());
                inner.suspects = Some(now_failing.collect());
            }
            all
        }
    }
}

impl AlertEngine {
    /// Back-ends with a group: enough journeys failing at them (firing there, or
    /// pending with their last failure there), at least one of them firing; a
    /// back-end already paged keeps its group while one journey still fails there.
    fn backend_groups(&self, inner: &mut Inner) -> BTreeMap<String, Vec<String>> {
        let g = self.config.backends;
        if !g.enabled {
            return BTreeMap::new();
        }
        let suspects = suspects(inner);
        let mut groups: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
        for (name, s) in suspects
            .iter()
            .filter_map(|n| Some((n, inner.journeys.get(n)?)))
        {
            let firing = firing_backend(s.tracker.firing.as_deref());
            let pending = (s.tracker.phase == Phase::Pending)
                .then_some(s.last_backend.as_ref())
                .flatten();
            // The name lookup only for the few failing journeys: this scan runs
            // after every run, and a lookup per journey was most of its cost.
            let failing = firing.or(pending);
            if let Some(b) = failing.filter(|_| inner.contexts.contains_key(name)) {
                let entry = groups.entry(b.clone()).or_default();
                entry.0.push(name.clone());
                entry.1 |= firing.is_some();
            }
        }
        // A group forms at `min_journeys` but lasts while any member still fails:
        // journeys recover one run apart, and the last ones must not page on
        // their own on the way out.
        let paged = |b: &String| {
            inner
                .backends
                .get(b)
                .is_some_and(|s| s.tracker.firing.is_some())
        };
        groups
            .into_iter()
            .filter(|(b, (members, firing))| {
                *firing && (paged(b) || members.len() >= g.min_journeys)
            })
            .map(|(b, (members, _))| (b, members))
            .collect()
    }

    /// Whether `journey`'s `JourneyFailing` is held: a back-end page explains it,
    /// or it is new and still waits for other journeys of its back-end.
    fn inhibited(&self, inner: &mut Inner, journey: &str, now: DateTime<Utc>) -> bool {
        let Some(state) = inner.journeys.get(journey) else {
            return false;
        };
        let Some(b) = firing_backend(state.tracker.firing.as_deref()).cloned() else {
            return false;
        };
        let b = &b;
        // Only a firing journey needs the groups: scanning every journey for a
        // passing one made each run (and each tick, once per journey) cost in
        // proportion to the number of journeys.
        let groups = self.backend_groups(inner);
        let Some(state) = inner.journeys.get(journey) else {
            return false;
        };
        let alert = state.tracker.firing.as_ref();
        if groups
            .get(b)
            .is_some_and(|m| m.iter().any(|j| j == journey))
        {
            return true;
        }
        let g = self.config.backends;
        let shared = inner.shared.get(b).copied().unwrap_or(0) >= g.min_journeys;
        let told = alert.is_some_and(|a| state.delivered.contains_key(&fingerprint(&a.labels)));
        g.enabled
            && shared
            && !told
            && alert.is_some_and(|a| elapsed(a.starts_at, now) < g.group_wait)
    }

    /// Reconciles one journey (holding what a back-end page explains) and stores
    /// its state when something was sent, or, for `always` (the journey just
    /// ran), when what the state says changed ([`super::io::Sig`]); a change
    /// in counters only is stored at the next tick.
    pub(super) async fn reconcile_journey(
        &self,
        inner: &mut Inner,
        name: &str,
        now: DateTime<Utc>,
        silences: &[Silence],
        always: bool,
    ) {
        let inhibit = self.inhibited(inner, name, now);
        let by_probe = inner.probe_failing;
        let Some(state) = inner.journeys.get_mut(name) else {
            return;
        };
        let notes = self.reconcile(state, now, by_probe, silences, inhibit);
        let sig = super::io::Sig::of(state);
        // A journey with no stored state reads back as the default one. In a
        // fleet every change is stored at once: leadership moves (a lease
        // lost while PostgreSQL is away stores nothing more), and the next
        // leader must see every location's vote as it was.
        let changed = inner.fleet
            || state.stored.0.as_ref().map_or_else(
                || sig != super::io::Sig::of(&Default::default()),
                |s| *s != sig,
            );
        if !notes.is_empty() || (always && changed) {
            let json = serde_json::to_string(&*state).unwrap_or_default();
            self.commit(name, &json, &notes).await;
            state.stored = super::io::StoredSig(Some(sig));
            inner.dirty.remove(name);
        } else if always {
            inner.dirty.insert(name.to_string());
        }
    }

    /// Brings every back-end's `BackendFailing` in line with the groups; true
    /// when one started or ended (every journey's holds must then be looked at).
    pub(super) async fn reconcile_backends(
        &self,
        inner: &mut Inner,
        now: DateTime<Utc>,
        by_probe: bool,
        silences: &[Silence],
    ) -> bool {
        let groups = self.backend_groups(inner);
        let names: BTreeSet<String> = groups
            .keys()
            .chain(inner.backends.keys())
            .cloned()
            .collect();
        let mut regrouped = false;
        for b in names {
            let members = groups.get(&b);
            let alert = members.map(|m| self.backend_alert(inner, &b, m, now));
            let receivers = members.map(|m| self.member_receivers(inner, m));
            let state = inner.backends.entry(b.clone()).or_default();
            regrouped |= state.tracker.firing.is_some() != alert.is_some();
            state.tracker.firing = alert.map(|mut a| {
                if let Some(old) = &state.tracker.firing {
                    a.starts_at = old.starts_at;
                }
                Box::new(a)
            });
            state.tracker.phase = if members.is_some() {
                Phase::Firing
            } else {
                Phase::Ok
            };
            if receivers.is_some() {
                state.route_to = receivers;
            }
            let before = state.delivered.len();
            let notes = self.reconcile(state, now, by_probe, silences, false);
            if !notes.is_empty() || before != state.delivered.len() {
                let json = serde_json::to_string(&*state).unwrap_or_default();
                self.commit(&format!("{BACKEND_KEY}{b}"), &json, &notes)
                    .await;
            }
        }
        regrouped
    }

    /// Everyone a member's own page would have reached, so holding it hides
    /// nothing from them; the back-end alert's own route when that is nobody.
    fn member_receivers(&self, inner: &Inner, members: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in members {
            let labels = inner
                .journeys
                .get(m)
                .and_then(|s| s.tracker.firing.as_ref())
                .map(|a| a.labels.clone())
                .or_else(|| inner.contexts.get(m).map(|c| BTreeMap::clone(&c.labels)))
                .unwrap_or_default();
            out.extend(self.route(&labels));
        }
        out.sort();
        out.dedup();
        out
    }

    fn backend_alert(
        &self,
        inner: &Inner,
        backend: &str,
        members: &[String],
        now: DateTime<Utc>,
    ) -> Alert {
        let mut labels = self.daemon_labels.clone();
        labels.insert("alertname".into(), "BackendFailing".into());
        labels.insert("backend".into(), backend.into());
        labels.insert("severity".into(), "critical".into());
        let mut details = Vec::new();
        let mut teams = BTreeSet::new();
        let mut channels = BTreeSet::new();
        let mut starts_at = now;
        for m in members {
            let ctx = inner.contexts.get(m);
            let get = |k: &str| ctx.and_then(|c| c.labels.get(k)).cloned();
            let mut about = Vec::new();
            if let Some(t) = get("team") {
                about.push(format!("team {t}"));
                teams.insert(t);
            }
            if let Some(c) = get("channel") {
                about.push(format!("channel {c}"));
                channels.insert(c);
            }
            let firing = inner
                .journeys
                .get(m)
                .and_then(|s| s.tracker.firing.as_ref());
            if let Some(step) = firing.and_then(|a| a.labels.get("step")) {
                about.push(format!("step '{step}'"));
            }
            if let Some(a) = firing {
                starts_at = starts_at.min(a.starts_at);
            }
            details.push(if about.is_empty() {
                m.clone()
            } else {
                format!("{m} ({})", about.join(", "))
            });
        }
        let join = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>().join(", ");
        let mut a = BTreeMap::new();
        a.insert(
            "summary".to_string(),
            format!(
                "backend {backend} is failing: {} journeys fail at its steps: {}",
                members.len(),
                details.join("; ")
            ),
        );
        a.insert("journeys".into(), members.join(", "));
        a.insert("teams".into(), join(teams));
        a.insert("channels".into(), join(channels));
        a.insert("run_url".into(), format!("{}/", self.base_url));
        Alert {
            labels,
            annotations: a,
            starts_at,
        }
    }
}
