//! JUnit XML for CI pipelines: one test suite per journey, one test case per
//! step (cleanup steps prefixed `cleanup: `), failures typed by their class.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

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
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot render JUnit: {e} -->"))
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
        tc.set_system_out(text);
    }
    tc
}
