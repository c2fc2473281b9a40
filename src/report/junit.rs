//! JUnit XML for CI pipelines: one test suite per journey, one test case per
//! step (cleanup steps prefixed `cleanup: `), failures typed by their class.
//! For `journeyd test`, earlier failed attempts of a retried journey become
//! `flakyFailure` (it passed in the end) or `rerunFailure` elements on the step
//! that failed, as Maven Surefire and nextest write them, and the suite carries
//! `result`, `attempts` and `file` properties.

use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::suite::{Outcome, SuiteEntry, SuiteReport};
use crate::runner::{JourneyRun, StepOutcome, StepVerdict};

/// A JUnit report of one or more runs.
pub fn junit(runs: &[JourneyRun]) -> String {
    let mut report = Report::new("journeyd");
    for run in runs {
        let mut suite = TestSuite::new(run.journey.as_str());
        suite.set_time(Duration::from_secs_f64(run.duration_seconds));
        suite.set_timestamp(run.started_at.fixed_offset());
        for s in &run.steps {
            suite.add_test_case(case(&run.journey, s, ""));
        }
        for s in &run.cleanup {
            suite.add_test_case(case(&run.journey, s, "cleanup: "));
        }
        report.add_test_suite(suite);
    }
    render(&report)
}

fn render(report: &Report) -> String {
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot render JUnit: {e} -->"))
}

/// The JUnit report of a `journeyd test` suite: one test suite per journey run.
pub fn suite_junit(suite: &SuiteReport) -> String {
    let mut report = Report::new("journeyd test");
    report.set_timestamp(suite.started_at.fixed_offset());
    report.set_time(Duration::from_secs_f64(suite.duration_seconds));
    for entry in &suite.runs {
        report.add_test_suite(entry_suite(entry, suite.repeat));
    }
    render(&report)
}

fn entry_suite(entry: &SuiteEntry, repeat: u32) -> TestSuite {
    let run = &entry.run;
    let mut suite = TestSuite::new(entry.label(repeat));
    suite.set_time(Duration::from_secs_f64(entry.duration_seconds()));
    suite.set_timestamp(run.started_at.fixed_offset());
    suite.add_property(Property::new("file", entry.file.as_str()));
    suite.add_property(Property::new("result", entry.result.as_str()));
    suite.add_property(Property::new("attempts", entry.attempts.to_string()));
    for s in &run.steps {
        let mut tc = case(&run.journey, s, "");
        for earlier in &entry.failed_attempts {
            if let Some(rerun) = rerun_of(earlier, &s.name) {
                tc.status.add_rerun(rerun);
            }
        }
        suite.add_test_case(tc);
    }
    for s in &run.cleanup {
        suite.add_test_case(case(&run.journey, s, "cleanup: "));
    }
    if entry.result == Outcome::Flaky {
        let notes: Vec<String> = entry
            .failed_attempts
            .iter()
            .enumerate()
            .map(|(i, r)| format!("attempt {} failed: {}", i + 1, failure_line(r)))
            .collect();
        suite.set_system_out(format!(
            "flaky: passed on attempt {}\n{}\n",
            entry.attempts,
            notes.join("\n")
        ));
    }
    suite
}

/// The earlier attempt's failure, when it failed at the step named `step`.
fn rerun_of(earlier: &JourneyRun, step: &str) -> Option<TestRerun> {
    let failed = earlier.failed_step().filter(|s| s.name == step)?;
    let f = failed.failure.as_ref()?;
    let mut rerun = TestRerun::new(NonSuccessKind::Failure);
    rerun
        .set_message(f.message.as_str())
        .set_type(f.class.as_str())
        .set_timestamp(earlier.started_at.fixed_offset())
        .set_time(Duration::from_secs_f64(failed.duration_seconds));
    Some(rerun)
}

fn failure_line(run: &JourneyRun) -> String {
    match run
        .failed_step()
        .and_then(|s| Some((s, s.failure.as_ref()?)))
    {
        Some((s, f)) => format!("step \"{}\" ({}): {}", s.name, f.class, f.message),
        None => "no step failed".to_string(),
    }
}

fn case(journey: &str, s: &StepOutcome, prefix: &str) -> TestCase {
    let status = match (&s.verdict, &s.failure) {
        (StepVerdict::Pass, _) => TestCaseStatus::success(),
        (StepVerdict::Skipped, _) => {
            let mut st = TestCaseStatus::skipped();
            if let Some(r) = &s.skip_reason {
                st.set_message(r.as_str());
            }
            st
        }
        (StepVerdict::Fail, f) => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            if let Some(f) = f {
                st.set_message(f.message.as_str());
                st.set_type(f.class.as_str());
                let details: Vec<String> = f
                    .mismatches
                    .iter()
                    .map(|m| {
                        format!(
                            "{}: expected {}, actual {}",
                            m.subject, m.expected, m.actual
                        )
                    })
                    .collect();
                st.set_description(details.join("\n"));
            }
            st
        }
    };
    let mut tc = TestCase::new(format!("{prefix}{}", s.name), status);
    tc.set_classname(journey);
    tc.set_time(Duration::from_secs_f64(s.duration_seconds));
    if let Some(e) = &s.evidence {
        let mut text = format!("{} {}\n", e.request.method, e.request.url);
        if let Some(r) = &e.response {
            text.push_str(&format!("-> {}\n{}\n", r.status, r.body));
        }
        // On-failure diagnostics: what the back office said, one line each.
        for d in &s.diagnostics {
            text.push_str(&format!("diagnostic {}\n", d.line()));
        }
        tc.set_system_out(text);
    }
    tc
}
