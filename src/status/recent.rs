//! A journey's recent runs, as the status strip and the duration sparkline show
//! them. The board keeps [`RECENT_RUNS`] of them per journey for the daemon's life,
//! so an entry is 32 bytes: the strip needs the id, start, duration, verdict, class
//! and failing step, and the history has the whole run.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::runner::{FailureClass, RunSummary, Verdict};

/// How many recent runs each journey keeps in memory (status strip, sparkline).
pub const RECENT_RUNS: usize = 30;

/// One recent run. The failing step is an index into its ring's names, since a
/// journey fails at few distinct steps; the start is kept to the millisecond and
/// the duration to the millisecond, up to 49 days, which is all a cell shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecentRun {
    /// Run id (the cell links to it).
    pub run_id: uuid::Uuid,
    started_ms: i64,
    duration_ms: u32,
    /// Pass or fail.
    pub verdict: Verdict,
    /// Passed but slow.
    pub degraded: bool,
    /// The failure class of a failed run.
    pub failure_class: Option<FailureClass>,
    /// 0 for none, else 1 + the index of the step's name in [`RecentRuns`].
    failed_step: u8,
}

impl RecentRun {
    /// Wall-clock start.
    pub fn started_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.started_ms).unwrap_or_default()
    }

    /// Duration, seconds.
    pub fn duration_seconds(&self) -> f64 {
        f64::from(self.duration_ms) / 1000.0
    }
}

/// The ring, newest first, and the names of the steps its failed runs failed at.
#[derive(Debug, Clone, Default)]
pub struct RecentRuns {
    runs: VecDeque<RecentRun>,
    /// At most [`RECENT_RUNS`] + 1 (compacted to those in use when it grows past).
    names: Vec<Box<str>>,
}

impl RecentRuns {
    /// Adds a finished run in front, dropping the oldest past [`RECENT_RUNS`].
    pub fn push(&mut self, run: &RunSummary) {
        // Grown in exact steps up to RECENT_RUNS and trimmed before the push, so the
        // ring never holds unused slots past its bound.
        self.runs.truncate(RECENT_RUNS.saturating_sub(1));
        if self.runs.len() == self.runs.capacity() {
            let more = self.runs.len().clamp(1, RECENT_RUNS - self.runs.len());
            self.runs.reserve_exact(more);
        }
        let failed_step = run.failed_step.as_deref().map_or(0, |s| self.name_slot(s));
        let duration_ms = (run.duration_seconds * 1000.0).round();
        self.runs.push_front(RecentRun {
            run_id: run.run_id,
            started_ms: run.started_at.timestamp_millis(),
            // `as` saturates: a negative or NaN duration is 0, a longer one is u32::MAX.
            duration_ms: duration_ms as u32,
            verdict: run.verdict,
            degraded: run.degraded,
            failure_class: run.failure_class,
            failed_step,
        });
    }

    /// The step `run` failed at, for a failed run of this ring.
    pub fn failed_step(&self, run: &RecentRun) -> Option<&str> {
        let i = usize::from(run.failed_step).checked_sub(1)?;
        self.names.get(i).map(AsRef::as_ref)
    }

    /// Newest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &RecentRun> + ExactSizeIterator {
        self.runs.iter()
    }

    /// The newest run.
    pub fn front(&self) -> Option<&RecentRun> {
        self.runs.front()
    }

    /// How many runs the ring holds.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// No run yet.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The ring holds this run.
    pub fn contains(&self, run_id: &uuid::Uuid) -> bool {
        self.runs.iter().any(|r| r.run_id == *run_id)
    }

    /// The 1-based slot of `name`, added if new. Names no run uses any more are
    /// dropped once more than the ring could use are kept, so slots stay below 255.
    fn name_slot(&mut self, name: &str) -> u8 {
        if let Some(i) = self.names.iter().position(|n| &**n == name) {
            return slot(i);
        }
        if self.names.len() > RECENT_RUNS {
            self.compact();
        }
        self.names.push(name.into());
        slot(self.names.len() - 1)
    }

    /// Keeps only the names the ring's runs use, renumbering them.
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.names);
        for run in &mut self.runs {
            let Some(i) = usize::from(run.failed_step).checked_sub(1) else {
                continue;
            };
            let Some(name) = old.get(i) else {
                run.failed_step = 0;
                continue;
            };
            run.failed_step = match self.names.iter().position(|n| n == name) {
                Some(j) => slot(j),
                None => {
                    self.names.push(name.clone());
                    slot(self.names.len() - 1)
                }
            };
        }
        self.names.shrink_to_fit();
    }
}

fn slot(index: usize) -> u8 {
    // At most RECENT_RUNS + 1 names: far below u8::MAX.
    u8::try_from(index + 1).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(n: i64, failed_at: Option<&str>) -> RunSummary {
        RunSummary {
            run_id: uuid::Uuid::new_v4(),
            journey: "j".to_string(),
            started_at: DateTime::from_timestamp(n, 1_000_000).unwrap_or_default(),
            duration_seconds: 0.1234,
            verdict: if failed_at.is_some() {
                Verdict::Fail
            } else {
                Verdict::Pass
            },
            degraded: false,
            failed_step: failed_at.map(str::to_string),
            failed_backend: failed_at.map(|_| "payments".to_string()),
            failure_class: failed_at.map(|_| FailureClass::HttpStatus),
            failure_message: failed_at.map(|_| "status 502".to_string()),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_runs_without_spare_slots() {
        let mut r = RecentRuns::default();
        r.push(&summary(0, None));
        assert_eq!(r.runs.capacity(), 1);
        for n in 1..100 {
            r.push(&summary(n, None));
        }
        assert_eq!(r.len(), RECENT_RUNS);
        assert_eq!(r.runs.capacity(), RECENT_RUNS);
        assert_eq!(r.front().map(|r| r.started_at().timestamp()), Some(99));
        assert_eq!(
            r.iter().last().map(|r| r.started_at().timestamp()),
            Some(70)
        );
    }

    #[test]
    fn a_recent_run_keeps_what_the_strip_shows_in_32_bytes() {
        // Thirty per journey, for the daemon's life (docs/benchmarks.md, "Lean").
        assert_eq!(std::mem::size_of::<RecentRun>(), 32);
        let mut r = RecentRuns::default();
        let failed = summary(7, Some("pay"));
        r.push(&failed);
        r.push(&summary(8, None));
        let (newest, older) = (r.iter().next().unwrap(), r.iter().nth(1).unwrap());
        assert_eq!(older.run_id, failed.run_id);
        assert_eq!(older.started_at(), failed.started_at);
        assert_eq!(older.duration_seconds(), 0.123);
        assert_eq!((older.verdict, older.degraded), (Verdict::Fail, false));
        assert_eq!(older.failure_class, Some(FailureClass::HttpStatus));
        assert_eq!(r.failed_step(older), Some("pay"));
        assert_eq!(r.failed_step(newest), None);
        assert!(r.contains(&failed.run_id));
    }

    #[test]
    fn many_distinct_failing_steps_keep_their_names_and_a_bounded_list() {
        let mut r = RecentRuns::default();
        for n in 0..500 {
            r.push(&summary(n, Some(&format!("step {n}"))));
        }
        assert!(r.names.len() <= RECENT_RUNS + 1, "{} names", r.names.len());
        for (i, run) in r.iter().enumerate() {
            assert_eq!(
                r.failed_step(run),
                Some(format!("step {}", 499 - i).as_str())
            );
        }
        // A step failing again and again takes one name.
        let mut same = RecentRuns::default();
        for n in 0..100 {
            same.push(&summary(n, Some("pay")));
        }
        assert_eq!(same.names.len(), 1);
    }
}
