//! The status board: each journey's live state, as the API and the status
//! page show it. The scheduler writes it after every run; readers take a
//! snapshot. It is rebuilt from the store at start-up, so a restart shows the
//! same states.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::recent::RecentRuns;
use crate::journey::Journey;
use crate::runner::{RunSummary, Verdict};

/// A journey's state at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JourneyState {
    /// Not run yet.
    Unknown,
    /// Last run passed.
    Passing,
    /// Last run passed, slower than a warning threshold.
    Degraded,
    /// Last run failed.
    Failing,
}

/// One journey on the board.
#[derive(Debug, Clone)]
pub struct JourneyStatus {
    /// The journey as configured, shared with the scheduler and the runner: its
    /// name, labels and steps are read from it, not copied (per journey, for as
    /// long as it is configured; "Lean" in docs/benchmarks.md).
    pub journey: Arc<Journey>,
    /// State at a glance.
    pub state: JourneyState,
    /// Last run.
    pub last_run: Option<RunSummary>,
    /// Last passing run's start.
    pub last_success: Option<DateTime<Utc>>,
    /// When it runs next.
    pub next_run: Option<DateTime<Utc>>,
    /// A run is in progress.
    pub running: bool,
    /// The most recent runs, newest first (at most [`super::recent::RECENT_RUNS`]).
    pub recent: RecentRuns,
    /// Recent runs the store failed to write: shown, but not linked.
    pub unstored: BTreeSet<uuid::Uuid>,
    /// In a fleet, on the alerting leader: each location's own alert phase
    /// (`ok`, `pending`, `firing`), or `unknown` while its network is down.
    pub locations: BTreeMap<String, String>,
}

impl JourneyStatus {
    /// A journey with no runs yet.
    pub fn new(journey: Arc<Journey>) -> Self {
        Self {
            journey,
            state: JourneyState::Unknown,
            last_run: None,
            last_success: None,
            next_run: None,
            running: false,
            recent: RecentRuns::default(),
            unstored: BTreeSet::new(),
            locations: BTreeMap::new(),
        }
    }

    /// Journey name.
    pub fn name(&self) -> &str {
        &self.journey.name
    }

    /// Description.
    pub fn description(&self) -> Option<&str> {
        self.journey.description.as_deref()
    }

    /// Static labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.journey.labels
    }

    /// Runbook link.
    pub fn runbook(&self) -> Option<&str> {
        self.journey.runbook.as_deref()
    }

    /// Interval, seconds.
    pub fn interval_seconds(&self) -> f64 {
        self.journey.interval.as_secs_f64()
    }

    /// Step names in order (cleanup steps not included).
    pub fn steps(&self) -> impl Iterator<Item = &str> {
        self.journey.steps.iter().map(|s| s.name.as_str())
    }

    /// Back-end processes it proves, in step order (a run of steps at one back-end
    /// names it once).
    pub fn backends(&self) -> Vec<&str> {
        let mut out: Vec<&str> = (self.journey.steps.iter())
            .filter_map(|s| s.backend.as_deref())
            .collect();
        out.dedup();
        out
    }

    /// False for a run the store failed to write: there is nothing to link to.
    pub fn is_stored(&self, run_id: &uuid::Uuid) -> bool {
        !self.unstored.contains(run_id)
    }

    /// Applies a finished run.
    pub fn record(&mut self, run: RunSummary) {
        self.state = match (run.verdict, run.degraded) {
            (Verdict::Fail, _) => JourneyState::Failing,
            (Verdict::Pass, true) => JourneyState::Degraded,
            (Verdict::Pass, false) => JourneyState::Passing,
        };
        if run.verdict == Verdict::Pass {
            self.last_success = Some(run.started_at);
        }
        self.recent.push(&run);
        let recent = &self.recent;
        self.unstored.retain(|id| recent.contains(id));
        self.last_run = Some(run);
    }
}

/// All journeys' states.
///
/// Each boxed: a `JourneyStatus` is 400 bytes, and a B-tree node keeps room for
/// eleven values inline, about half of them empty when names arrive in order,
/// so an unboxed board held some 800 bytes per journey (heaptrack, "Lean" in
/// docs/benchmarks.md).
#[derive(Debug, Default)]
pub struct StatusBoard {
    inner: RwLock<Board>,
}

type Board = BTreeMap<String, Box<JourneyStatus>>;

impl StatusBoard {
    /// Every journey, by name.
    pub fn snapshot(&self) -> Vec<JourneyStatus> {
        self.read(|m| m.values().map(|s| JourneyStatus::clone(s)).collect())
    }

    /// One journey.
    pub fn get(&self, name: &str) -> Option<JourneyStatus> {
        self.read(|m| m.get(name).map(|s| JourneyStatus::clone(s)))
    }

    /// One journey's state at a glance, without copying its recent runs (the
    /// daemon asks after every run).
    pub fn state(&self, name: &str) -> Option<JourneyState> {
        self.read(|m| m.get(name).map(|s| s.state))
    }

    /// Replaces the set of journeys (after a reload), keeping the state of those that stay.
    pub fn set_journeys(&self, journeys: &[Arc<Journey>]) {
        self.write(|m| {
            let mut next = BTreeMap::new();
            for j in journeys {
                let mut fresh = JourneyStatus::new(j.clone());
                if let Some(old) = m.remove(&j.name) {
                    fresh.state = old.state;
                    fresh.last_run = old.last_run;
                    fresh.last_success = old.last_success;
                    fresh.next_run = old.next_run;
                    fresh.running = old.running;
                    fresh.recent = old.recent;
                    fresh.unstored = old.unstored;
                }
                next.insert(j.name.clone(), Box::new(fresh));
            }
            *m = next;
        });
    }

    /// Marks a run the store failed to write (it stays on the board, unlinked).
    pub fn mark_unstored(&self, journey: &str, run_id: uuid::Uuid) {
        self.update(journey, |s| {
            if s.recent.contains(&run_id) {
                s.unstored.insert(run_id);
            }
        });
    }

    /// Changes one journey's status, if it exists.
    pub fn update(&self, name: &str, f: impl FnOnce(&mut JourneyStatus)) {
        self.write(|m| {
            if let Some(s) = m.get_mut(name) {
                f(s);
            }
        });
    }

    fn read<T>(&self, f: impl FnOnce(&Board) -> T) -> T {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    fn write(&self, f: impl FnOnce(&mut Board)) {
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        f(&mut guard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::parse::parse_journey;
    use crate::journey::template::Engine;
    use crate::status::recent::RECENT_RUNS;

    fn summary(n: i64) -> RunSummary {
        RunSummary {
            run_id: uuid::Uuid::new_v4(),
            journey: "j".to_string(),
            started_at: DateTime::from_timestamp(n, 0).unwrap_or_default(),
            duration_seconds: 0.1,
            verdict: Verdict::Pass,
            degraded: false,
            failed_step: None,
            failed_backend: None,
            failure_class: None,
            failure_message: None,
        }
    }

    #[test]
    fn a_recorded_run_sets_the_state_and_an_unstored_run_stays_marked_while_in_the_ring() {
        let src = "name: j\nsteps:\n  - name: s\n    request: { url: \"http://h/\" }\n";
        let j = parse_journey(std::path::Path::new("j.yaml"), src, &Engine::new()).unwrap();
        let board = StatusBoard::default();
        board.set_journeys(&[Arc::new(j)]);
        let first = summary(1);
        board.update("j", |s| s.record(first.clone()));
        board.mark_unstored("j", first.run_id);
        let failed = RunSummary {
            verdict: Verdict::Fail,
            failed_step: Some("s".into()),
            ..summary(2)
        };
        board.update("j", |s| s.record(failed.clone()));
        let mut seen = None;
        board.update("j", |s| {
            seen = Some((
                s.state,
                s.recent.len(),
                s.is_stored(&first.run_id),
                s.last_success,
            ));
        });
        assert_eq!(
            seen,
            Some((JourneyState::Failing, 2, false, Some(first.started_at)))
        );
        for n in 3..3 + RECENT_RUNS as i64 {
            board.update("j", |s| s.record(summary(n)));
        }
        board.update("j", |s| {
            assert_eq!(s.recent.len(), RECENT_RUNS);
            assert!(
                s.is_stored(&first.run_id),
                "gone from the ring, so no longer marked"
            );
            assert_eq!(s.state, JourneyState::Passing);
        });
    }
}
