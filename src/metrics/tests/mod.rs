//! Tests of the exported text: exact sample lines, series deletion, backend_up, journey_info
//! and `promtool check metrics`.

mod alerting;
mod budget;
mod daemon;
mod expose;
mod reload;
mod runs;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::DateTime;

use super::*;
use crate::journey::parse::parse_journey;
use crate::journey::template::Engine;
use crate::runner::{
    Evidence, Failure, FailureClass, PhaseTimings, RequestExcerpt, StepOutcome, StepVerdict,
    Verdict,
};

const PURCHASE: &str = r#"
name: purchase
labels: { team: shop }
steps:
  - name: place order
    request: { method: POST, url: "https://shop.example/api/orders" }
    expect: { status: 201 }
  - name: order shipped
    backend: fulfillment
    request: { url: "https://shop.example/api/orders/1" }
    eventually: { within: 30s, every: 1s }
    expect: { status: 200 }
cleanup:
  - name: cancel order
    request: { method: DELETE, url: "https://shop.example/api/orders/1" }
"#;

/// A journey with one step proving `backend`.
fn single(name: &str, step: &str, backend: &str, labels: &str) -> Journey {
    journey(&format!(
        "name: {name}\nlabels: {labels}\nsteps:\n  - name: {step}\n    backend: {backend}\n    \
         request: {{ url: \"http://127.0.0.1:1/x\" }}\n    expect: {{ status: 200 }}\n"
    ))
}

fn journey(src: &str) -> Journey {
    parse_journey(Path::new("t.yaml"), src, &Engine::new()).unwrap_or_else(|d| panic!("{d:?}"))
}

/// Metrics with every series, the per-step detail included.
fn metrics() -> Metrics {
    let labels = BTreeMap::from([("location".to_string(), "lab".to_string())]);
    Metrics::with_options(&labels, MetricsOptions { step_detail: true }).unwrap()
}

/// Metrics as a daemon exports them by default (the series budget).
fn default_metrics() -> Metrics {
    let labels = BTreeMap::from([("location".to_string(), "lab".to_string())]);
    Metrics::new(&labels).unwrap()
}

fn passed(name: &str, backend: Option<&str>) -> StepOutcome {
    StepOutcome {
        verdict: StepVerdict::Pass,
        skip_reason: None,
        http_status: Some(200),
        duration_seconds: 0.3,
        timings: PhaseTimings {
            resolve: 0.001,
            connect: 0.02,
            processing: 0.25,
            transfer: 0.004,
        },
        attempts: 1,
        cert_not_after: DateTime::from_timestamp(1_800_000_000, 0),
        ..StepOutcome::skipped(name, backend, "")
    }
}

fn failed(name: &str, backend: Option<&str>, class: FailureClass) -> StepOutcome {
    let message = "GET https://shop.example/api/orders/1 still said \"paid\"".to_string();
    let request = RequestExcerpt {
        url: "https://shop.example/api/orders/1".into(),
        ..Default::default()
    };
    StepOutcome {
        verdict: StepVerdict::Fail,
        attempts: 7,
        failure: Some(Failure {
            class,
            message,
            mismatches: Vec::new(),
        }),
        evidence: Some(Evidence {
            request,
            response: None,
        }),
        ..passed(name, backend)
    }
}

fn run(journey: &str, verdict: Verdict, steps: Vec<StepOutcome>) -> JourneyRun {
    JourneyRun {
        run_id: uuid::Uuid::new_v4(),
        journey: journey.to_string(),
        started_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        duration_seconds: 2.5,
        verdict,
        degraded: false,
        captures: BTreeMap::from([("order_id".to_string(), "ord-4711".to_string())]),
        steps,
        cleanup: vec![passed("cancel order", None)],
        trace_id: None,
    }
}

fn passing_purchase() -> JourneyRun {
    let mut shipped = passed("order shipped", Some("fulfillment"));
    shipped.attempts = 4;
    shipped.backend_completion_seconds = Some(3.2);
    run(
        "purchase",
        Verdict::Pass,
        vec![passed("place order", None), shipped],
    )
}

fn failing_purchase() -> JourneyRun {
    let shipped = failed(
        "order shipped",
        Some("fulfillment"),
        FailureClass::BackendTimeout,
    );
    run(
        "purchase",
        Verdict::Fail,
        vec![passed("place order", None), shipped],
    )
}

#[track_caller]
fn assert_lines(text: &str, expected: &[&str]) {
    for line in expected {
        assert!(
            text.lines().any(|l| l == *line),
            "missing `{line}` in:\n{text}"
        );
    }
}

/// Asserts that `promtool check metrics` accepts `text` without a lint.
///
/// Fails (never skips) when `promtool` is missing: `scripts/test.sh` installs
/// Debian's `prometheus` package, so a missing tool is a broken set-up.
fn assert_promtool_accepts(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => panic!(
            "cannot run promtool ({e}): install Debian's `prometheus` package (scripts/test.sh does)"
        ),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{text}"
    );
}
