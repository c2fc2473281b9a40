//! A realistic [`JourneyRun`] for store tests, built directly.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::runner::{
    Evidence, Failure, FailureClass, JourneyRun, Mismatch, PhaseTimings, RequestExcerpt,
    ResponseExcerpt, StepOutcome, StepVerdict, Verdict,
};

/// Seconds the way the runner computes them (`Duration::as_secs_f64`).
fn secs(nanos: u64) -> f64 {
    std::time::Duration::from_nanos(nanos).as_secs_f64()
}

/// A run: a passing step, then (for failures) a failing `eventually` step with
/// evidence, then a skipped cleanup step.
pub(in crate::store) fn sample_run(
    journey: &str,
    started_at: DateTime<Utc>,
    verdict: Verdict,
) -> JourneyRun {
    let mut steps = vec![login_step()];
    if verdict == Verdict::Fail {
        steps.push(failed_ship_step());
    }
    JourneyRun {
        run_id: uuid::Uuid::new_v4(),
        journey: journey.into(),
        started_at,
        duration_seconds: secs(30_234_567_891),
        verdict,
        degraded: false,
        captures: BTreeMap::from([("order_id".to_string(), "42".to_string())]),
        steps,
        cleanup: vec![StepOutcome::skipped("delete order", None, "no order_id")],
        trace_id: None,
    }
}

fn login_step() -> StepOutcome {
    StepOutcome {
        verdict: StepVerdict::Pass,
        skip_reason: None,
        http_status: Some(200),
        duration_seconds: secs(123_456_789),
        timings: PhaseTimings {
            resolve: secs(1_234_567),
            connect: secs(2_345_678),
            processing: secs(98_765_432),
            transfer: secs(345_678),
        },
        attempts: 1,
        captured: vec!["token".into()],
        ..StepOutcome::skipped("login", None, "")
    }
}

fn failed_ship_step() -> StepOutcome {
    StepOutcome {
        verdict: StepVerdict::Fail,
        skip_reason: None,
        http_status: Some(200),
        duration_seconds: secs(30_001_234_567),
        attempts: 31,
        failure: Some(Failure {
            class: FailureClass::BackendTimeout,
            message: "order never reached 'shipped' within 30s".into(),
            mismatches: vec![Mismatch {
                subject: "$.status".into(),
                expected: "eq \"shipped\"".into(),
                actual: "\"paid\"".into(),
            }],
        }),
        evidence: Some(Evidence {
            request: RequestExcerpt {
                method: "GET".into(),
                url: "http://127.0.0.1:1/orders/42".into(),
                headers: vec![("authorization".into(), "***".into())],
                body: None,
            },
            response: Some(ResponseExcerpt {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: "{\"status\":\"paid\"}".into(),
                truncated: false,
            }),
        }),
        ..StepOutcome::skipped("ship", Some("fulfillment"), "")
    }
}
