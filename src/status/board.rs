//! The status board: each journey's live state, as the API and the status
//! page show it. The scheduler writes it after every run; readers take a
//! snapshot. It is rebuilt from the store at start-up, so a restart shows the
//! same states.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::journey::Journey;
use crate::runner::{FailureClass, RunSummary, Verdict};

/// How many recent runs each journey keeps in memory (status strip, sparkline).
pub const RECENT_RUNS: usize = 30;

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

/// One of a journey's recent runs, as the status strip shows it: what a cell
/// and its tooltip need. The board keeps [`RECENT_RUNS`] of these per journey
/// for the daemon's life, so it is ~60 bytes where a [`RunSummary`] is ~150
/// plus its strings (journey name, back-end, message), which the strip never
/// shows; the history has the whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecentRun {
    /// Run id (the cell links to it).
    pub run_id: uuid::Uuid,
    /// Wall-clock start.
    pub started_at: DateTime<Utc>,
    /// Duration, seconds.
    pub duration_seconds: f64,
    /// Pass or fail.
    pub verdict: Verdict,
    /// Passed but slow.
    pub degraded: bool,
    /// The failure class of a failed run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_class: Option<FailureClass>,
    /// The failing step of a failed run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<Box<str>>,
}

impl From<&RunSummary> for RecentRun {
    fn from(run: &RunSummary) -> Self {
        Self {
            run_id: run.run_id,
            started_at: run.started_at,
            duration_seconds: run.duration_seconds,
            verdict: run.verdict,
            degraded: run.degraded,
            failure_class: run.failure_class,
            failed_step: run.failed_step.as_deref().map(Box::from),
        }
    }
}

/// One journey on the board.
#[derive(Debug, Clone, Serialize)]
pub struct JourneyStatus {
    /// Journey name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Static labels.
    pub labels: BTreeMap<String, String>,
    /// Runbook link.
    pub runbook: Option<String>,
    /// Interval, seconds.
    pub interval_seconds: f64,
    /// Step names in order.
    pub steps: Vec<String>,
    /// Back-end processes it proves.
    pub backends: Vec<String>,
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
    /// The most recent runs, newest first (at most [`RECENT_RUNS`]).
    pub recent: VecDeque<RecentRun>,
    /// Recent runs the store failed to write: shown, but not linked.
    #[serde(skip)]
    pub unstored: BTreeSet<uuid::Uuid>,
    /// In a fleet, on the alerting leader: each location's own alert phase
    /// (`ok`, `pending`, `firing`), or `unknown` while its network is down.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub locations: BTreeMap<String, String>,
}

impl JourneyStatus {
    /// A journey with no runs yet.
    pub fn new(j: &Journey) -> Self {
        let mut backends: Vec<String> = j.steps.iter().filter_map(|s| s.backend.clone()).collect();
        backends.dedup();
        Self {
            name: j.name.clone(),
            description: j.description.clone(),
            labels: j.labels.clone(),
            runbook: j.runbook.clone(),
            interval_seconds: j.interval.as_secs_f64(),
            steps: j.steps.iter().map(|s| s.name.clone()).collect(),
            backends,
            state: JourneyState::Unknown,
            last_run: None,
            last_success: None,
            next_run: None,
            running: false,
            recent: VecDeque::new(),
            unstored: BTreeSet::new(),
            locations: BTreeMap::new(),
        }
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
        // Grown in exact steps up to RECENT_RUNS and trimmed before the push, so the
        // ring never holds unused slots past its bound (per journey for the
        // daemon's life).
        self.recent.truncate(RECENT_RUNS.saturating_sub(1));
        if self.recent.len() == self.recent.capacity() {
            let more = self.recent.len().clamp(1, RECENT_RUNS - self.recent.len());
            self.recent.reserve_exact(more);
        }
        self.recent.push_front(RecentRun::from(&run));
        let recent = &self.recent;
        self.unstored
            .retain(|id| recent.iter().any(|r| r.run_id == *id));
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
    pub fn set_journeys<J: Borrow<Journey>>(&self, journeys: &[J]) {
        self.write(|m| {
            let mut next = BTreeMap::new();
            for j in journeys {
                let j = j.borrow();
                let mut fresh = JourneyStatus::new(j);
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
            if s.recent.iter().any(|r| r.run_id == run_id) {
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
    fn the_recent_ring_keeps_the_newest_runs_without_spare_slots() {
        let src = "name: j\nsteps:\n  - name: s\n    request: { url: \"http://h/\" }\n";
        let j = parse_journey(std::path::Path::new("j.yaml"), src, &Engine::new()).unwrap();
        let mut s = JourneyStatus::new(&j);
        s.record(summary(0));
        assert_eq!(s.recent.capacity(), 1);
        for n in 1..100 {
            s.record(summary(n));
        }
        assert_eq!(s.recent.len(), RECENT_RUNS);
        assert_eq!(s.recent.capacity(), RECENT_RUNS);
        assert_eq!(s.recent.front().map(|r| r.started_at.timestamp()), Some(99));
        assert_eq!(s.recent.back().map(|r| r.started_at.timestamp()), Some(70));
    }

    #[test]
    fn a_recent_run_keeps_what_the_strip_shows_in_a_small_entry() {
        // Thirty per journey, for the daemon's life: the budget is what keeps
        // memory per journey small (docs/benchmarks.md, "Per journey").
        assert!(std::mem::size_of::<RecentRun>() <= 64);
        let failed = RunSummary {
            verdict: Verdict::Fail,
            failed_step: Some("pay".into()),
            failed_backend: Some("payments".into()),
            failure_class: Some(FailureClass::HttpStatus),
            failure_message: Some("status 502".into()),
            ..summary(7)
        };
        let r = RecentRun::from(&failed);
        assert_eq!(r.run_id, failed.run_id);
        assert_eq!(r.started_at.timestamp(), 7);
        assert_eq!((r.verdict, r.degraded), (Verdict::Fail, false));
        assert_eq!(r.failure_class, Some(FailureClass::HttpStatus));
        assert_eq!(r.failed_step.as_deref(), Some("pay"));
        assert_eq!(RecentRun::from(&summary(8)).failed_step, None);
    }
}
