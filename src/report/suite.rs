//! The result of a test suite (`journeyd test`): every journey run with its
//! retries, and the JSON report of it. JUnit ([`super::junit::suite_junit`])
//! and HTML ([`super::html`]) render the same [`SuiteReport`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::runner::{JourneyRun, Verdict};

/// How one journey run ended over its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Passed at the first attempt.
    Pass,
    /// Failed, then passed on a retry: counts as passed, reported as a warning.
    Flaky,
    /// Failed on every attempt.
    Fail,
}

impl Outcome {
    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Flaky => "flaky",
            Outcome::Fail => "fail",
        }
    }
}

/// One journey run of the suite: the deciding attempt and the failed ones before it.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteEntry {
    /// Journey name.
    pub journey: String,
    /// The journey file.
    pub file: String,
    /// Which repetition (1-based) of `--repeat`.
    pub iteration: u32,
    /// Pass, flaky or fail.
    pub result: Outcome,
    /// Attempts made (1 plus the retries used).
    pub attempts: u32,
    /// The last attempt, the one that decides the result (already redacted).
    pub run: JourneyRun,
    /// The failed attempts before it, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_attempts: Vec<JourneyRun>,
}

impl SuiteEntry {
    /// An entry from its attempts in order; `None` when there is none.
    pub fn new(
        journey: &str,
        file: &str,
        iteration: u32,
        mut attempts: Vec<JourneyRun>,
    ) -> Option<Self> {
        let run = attempts.pop()?;
        let result = match (run.verdict, attempts.is_empty()) {
            (Verdict::Fail, _) => Outcome::Fail,
            (Verdict::Pass, true) => Outcome::Pass,
            (Verdict::Pass, false) => Outcome::Flaky,
        };
        Some(Self {
            journey: journey.to_string(),
            file: file.to_string(),
            iteration,
            result,
            attempts: attempts.len() as u32 + 1,
            run,
            failed_attempts: attempts,
        })
    }

    /// The name shown in reports: the journey, with the repetition when repeated.
    pub fn label(&self, repeat: u32) -> String {
        if repeat > 1 {
            format!("{} #{}", self.journey, self.iteration)
        } else {
            self.journey.clone()
        }
    }

    /// Duration of all attempts, seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.failed_attempts
            .iter()
            .chain(std::iter::once(&self.run))
            .map(|r| r.duration_seconds)
            .sum()
    }
}

/// A whole `journeyd test` invocation.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    /// When the suite started.
    pub started_at: DateTime<Utc>,
    /// Wall time of the suite, seconds.
    pub duration_seconds: f64,
    /// `--repeat`.
    pub repeat: u32,
    /// Counts by result.
    pub totals: Totals,
    /// Every journey run, in journey then repetition order.
    pub runs: Vec<SuiteEntry>,
}

/// Counts of a suite by result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Passed first time.
    pub passed: usize,
    /// Passed on a retry.
    pub flaky: usize,
    /// Failed.
    pub failed: usize,
}

impl Totals {
    /// Counts of `entries`.
    pub fn of(entries: &[SuiteEntry]) -> Self {
        let mut t = Totals::default();
        for e in entries {
            match e.result {
                Outcome::Pass => t.passed += 1,
                Outcome::Flaky => t.flaky += 1,
                Outcome::Fail => t.failed += 1,
            }
        }
        t
    }
}

impl SuiteReport {
    /// A report of `runs`, sorted by journey then repetition so reports do not depend
    /// on which journey happened to finish first.
    pub fn new(
        started_at: DateTime<Utc>,
        duration_seconds: f64,
        repeat: u32,
        mut runs: Vec<SuiteEntry>,
    ) -> Self {
        runs.sort_by(|a, b| (&a.journey, a.iteration).cmp(&(&b.journey, b.iteration)));
        Self {
            started_at,
            duration_seconds,
            repeat,
            totals: Totals::of(&runs),
            runs,
        }
    }

    /// The report as pretty JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(verdict: Verdict, seconds: f64) -> JourneyRun {
        JourneyRun {
            run_id: uuid::Uuid::new_v4(),
            journey: "j".into(),
            started_at: Utc::now(),
            duration_seconds: seconds,
            verdict,
            degraded: false,
            captures: Default::default(),
            steps: Vec::new(),
            cleanup: Vec::new(),
        }
    }

    #[test]
    fn the_last_attempt_decides_and_an_earlier_failure_makes_it_flaky() {
        use Verdict::{Fail, Pass};
        let cases: [(&[Verdict], Outcome, u32); 4] = [
            (&[Pass], Outcome::Pass, 1),
            (&[Fail], Outcome::Fail, 1),
            (&[Fail, Pass], Outcome::Flaky, 2),
            (&[Fail, Fail, Fail], Outcome::Fail, 3),
        ];
        for (verdicts, want, attempts) in cases {
            let runs = verdicts.iter().map(|v| run(*v, 1.5)).collect();
            let e = SuiteEntry::new("j", "j.yaml", 1, runs).unwrap();
            assert_eq!((e.result, e.attempts), (want, attempts), "{verdicts:?}");
            assert_eq!(e.duration_seconds(), 1.5 * f64::from(attempts));
        }
        assert!(SuiteEntry::new("j", "j.yaml", 1, Vec::new()).is_none());
    }

    #[test]
    fn runs_are_ordered_and_counted() {
        let entry = |name: &str, i, v| SuiteEntry::new(name, "f", i, vec![run(v, 1.0)]).unwrap();
        let report = SuiteReport::new(
            Utc::now(),
            2.0,
            2,
            vec![
                entry("b", 2, Verdict::Pass),
                entry("a", 2, Verdict::Fail),
                entry("b", 1, Verdict::Pass),
                entry("a", 1, Verdict::Pass),
            ],
        );
        let order: Vec<String> = report.runs.iter().map(|e| e.label(2)).collect();
        assert_eq!(order, ["a #1", "a #2", "b #1", "b #2"]);
        assert_eq!(
            report.totals,
            Totals {
                passed: 3,
                flaky: 0,
                failed: 1
            }
        );
        assert_eq!(report.runs[0].label(1), "a");
    }
}
