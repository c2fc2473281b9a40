//! The engine's outbox calls: state and notifications committed together,
//! and the delivery worker woken. Errors are logged: alerting must not stop
//! the daemon, and the outbox retries what it holds.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{AlertEngine, Inner, JourneyAlerts};
use crate::alert::outbox::Silence;
use crate::alert::state::{AlertEvent, Phase};
use crate::runner::FailureClass;

/// Most alert states one tick writes in a transaction. All of them at once
/// made the tick's JSON the daemon's largest transient allocation, a copy of
/// every journey's state (heaptrack: 2.7 KiB per journey at its peak with
/// 500 journeys, docs/benchmarks.md "Lean"); in commits of this many it is
/// bounded, whatever the number of journeys.
pub(super) const STATES_PER_COMMIT: usize = 128;

/// What a journey's stored state says, as far as a restart cares: its phase,
/// which alerts fire, and the failure streak. A run that changes any of these
/// is committed at once (with its notifications); one that changes only
/// counters (passes, failures, the flaky window, last success) is written at
/// the next tick with the others, in one transaction: `alerts.db` commits
/// with `synchronous=FULL`, and an fsync per run was 12 % of the daemon's CPU
/// in the peers benchmark's profile. A crash loses at most one tick of
/// counters: a resolve may then wait one more passing run. Not in a fleet:
/// there the leader stores every change at once (see `reconcile_journey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sig {
    phase: Phase,
    firing: bool,
    degraded: bool,
    flaky: bool,
    sustained: bool,
    streak_of: Option<(String, FailureClass)>,
    delivered: usize,
}

/// The [`Sig`] a journey's state was last stored with (`None`: never, this
/// process). Bookkeeping beside the state: never stored, and equal to any other,
/// so two states compare by what they say.
#[derive(Debug, Clone, Default)]
pub(super) struct StoredSig(pub(super) Option<Sig>);

impl PartialEq for StoredSig {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Sig {
    pub(super) fn of(state: &JourneyAlerts) -> Sig {
        let t = &state.tracker;
        Sig {
            phase: t.phase,
            firing: t.firing.is_some(),
            degraded: t.degraded.is_some(),
            flaky: t.flaky.is_some(),
            sustained: t.sustained,
            streak_of: t.streak_of.clone(),
            delivered: state.delivered.len(),
        }
    }
}

impl AlertEngine {
    pub(super) async fn silences(&self, now: DateTime<Utc>) -> Vec<Silence> {
        self.db.active_silences(now).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "Cannot read silences.");
            Vec::new()
        })
    }

    pub(super) async fn commit(&self, journey: &str, json: &str, notes: &[(String, AlertEvent)]) {
        if let Err(e) = self.db.commit(journey, json, notes).await {
            tracing::error!(journey, error = %e, "Cannot store alert state; notifications may be late.");
        }
        if !notes.is_empty() {
            self.delivery.wake();
        }
    }

    /// Writes the states changed only in counters since they were stored
    /// ([`Sig`]), [`STATES_PER_COMMIT`] to a transaction; the tick calls it,
    /// and shutdown.
    pub async fn store_states(&self) {
        let mut inner = self.inner.lock().await;
        self.store_dirty(&mut inner).await;
    }

    pub(super) async fn store_dirty(&self, inner: &mut Inner) {
        let mut names = std::mem::take(&mut inner.dirty).into_iter().peekable();
        while names.peek().is_some() {
            let mut states = BTreeMap::new();
            for name in names.by_ref().take(STATES_PER_COMMIT) {
                if let Some(state) = inner.journeys.get_mut(&name) {
                    let json = serde_json::to_string(&**state).unwrap_or_default();
                    state.stored = StoredSig(Some(Sig::of(state)));
                    states.insert(name, json);
                }
            }
            let count = states.len();
            if let Err(e) = self.db.commit_states(states).await {
                tracing::error!(journeys = count, error = %e, "Cannot store alert state.");
            }
        }
    }

    pub(super) async fn send(&self, notes: &[(String, AlertEvent)]) {
        if let Err(e) = self.db.enqueue(notes).await {
            tracing::error!(error = %e, "Cannot queue notifications.");
        }
        self.delivery.wake();
    }
}
