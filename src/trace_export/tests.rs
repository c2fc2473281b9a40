//! The run-to-spans mapping on in-memory runs, and the headers secret format.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::parse_headers;
use super::spans::*;
use crate::runner::*;

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::milliseconds(ms)
}

fn attempt(span: &str, start_ms: i64, status: u16, class: Option<FailureClass>) -> AttemptSpan {
    AttemptSpan {
        span_id: Some(span.into()),
        started_at: at(start_ms),
        duration_seconds: 0.1,
        http_status: Some(status),
        class,
    }
}

fn run() -> JourneyRun {
    let login = StepOutcome {
        verdict: StepVerdict::Pass,
        skip_reason: None,
        http_status: Some(200),
        duration_seconds: 0.1,
        attempts: 1,
        started_at: Some(at(0)),
        attempt_spans: vec![attempt("00000000000000a1", 0, 200, None)],
        ..StepOutcome::skipped("login", Some("auth"), "")
    };
    let ships = StepOutcome {
        verdict: StepVerdict::Fail,
        skip_reason: None,
        http_status: Some(200),
        duration_seconds: 2.5,
        attempts: 2,
        started_at: Some(at(100)),
        attempt_spans: vec![
            attempt("00000000000000b1", 100, 200, Some(FailureClass::Assertion)),
            attempt("00000000000000b2", 2500, 200, Some(FailureClass::Assertion)),
        ],
        failure: Some(Failure {
            class: FailureClass::BackendTimeout,
            message: "back-end process `fulfillment` did not finish".into(),
            mismatches: Vec::new(),
        }),
        ..StepOutcome::skipped("order ships", Some("fulfillment"), "")
    };
    JourneyRun {
        run_id: uuid::Uuid::nil(),
        journey: "purchase".into(),
        started_at: at(0),
        duration_seconds: 2.7,
        verdict: Verdict::Fail,
        degraded: false,
        captures: BTreeMap::new(),
        steps: vec![
            login,
            ships,
            StepOutcome::skipped("receipt", None, "an earlier step failed"),
        ],
        cleanup: Vec::new(),
        trace_id: Some(TRACE.into()),
    }
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a AnyValue> {
    s.attributes.iter().find(|a| a.key == key).map(|a| &a.value)
}

fn text(v: &str) -> Option<AnyValue> {
    Some(AnyValue::StringValue(v.into()))
}

#[test]
fn a_run_is_one_trace_of_run_step_and_attempt_spans_with_the_sent_ids() {
    let labels = BTreeMap::from([("team".to_string(), "checkout".to_string())]);
    let spans = eval_spans(&run(), &labels);
    // Root, two steps that ran (the skipped one has none), three attempts.
    assert_eq!(spans.len(), 6, "{spans:#?}");
    assert!(spans.iter().all(|s| s.trace_id == TRACE));
    let root = &spans[0];
    assert_eq!(root.parent_span_id, "");
    assert_eq!(root.name, "journey purchase");
    assert_eq!(root.status.code, STATUS_ERROR);
    assert_eq!(attr(root, "journeyd.label.team").cloned(), text("checkout"));
    assert_eq!(attr(root, "error.type").cloned(), text("backend_timeout"));
    let (login, ships) = (&spans[1], &spans[3]);
    assert_eq!(login.parent_span_id, root.span_id);
    assert_eq!(login.status.code, STATUS_OK);
    assert_eq!(attr(login, "journeyd.backend").cloned(), text("auth"));
    assert_eq!(spans[2].span_id, "00000000000000a1");
    assert_eq!(spans[2].parent_span_id, login.span_id);
    assert_eq!(spans[2].kind, KIND_CLIENT);
    assert_eq!(ships.name, "step order ships");
    assert_eq!(ships.status.code, STATUS_ERROR);
    assert!(ships.status.message.contains("fulfillment"));
    let ids: Vec<&str> = spans[4..].iter().map(|s| s.span_id.as_str()).collect();
    assert_eq!(ids, ["00000000000000b1", "00000000000000b2"]);
    assert!(spans[4..].iter().all(|s| s.parent_span_id == ships.span_id));
    assert!(spans[4..].iter().all(|s| s.status.code == STATUS_ERROR));
    assert_eq!(
        spans[4].status.message, "",
        "only the deciding attempt has the message"
    );
    assert_ne!(spans[5].status.message, "");
    assert_eq!(
        attr(&spans[5], "http.response.status_code").cloned(),
        Some(AnyValue::IntValue("200".into()))
    );
}

#[test]
fn the_json_follows_the_otlp_mapping() {
    let spans = eval_spans(&run(), &BTreeMap::new());
    let labels = BTreeMap::from([("location".to_string(), "lab".to_string())]);
    let body = serde_json::to_value(ExportRequest::new("journeyd", &labels, spans)).unwrap();
    let rs = &body["resourceSpans"][0];
    assert_eq!(
        rs["resource"]["attributes"][0],
        serde_json::json!({"key": "service.name", "value": {"stringValue": "journeyd"}})
    );
    assert_eq!(rs["resource"]["attributes"][1]["key"], "location");
    let s = &rs["scopeSpans"][0]["spans"][0];
    assert_eq!(s["traceId"], TRACE);
    assert!(s.get("parentSpanId").is_none());
    assert_eq!(s["startTimeUnixNano"], "1800000000000000000");
    assert_eq!(s["endTimeUnixNano"], "1800000002700000000");
    assert_eq!(s["status"]["code"], 2);
    assert_eq!(s["kind"], 1);
}

#[test]
fn a_run_without_a_trace_id_exports_nothing() {
    let mut r = run();
    r.trace_id = None;
    assert!(eval_spans(&r, &BTreeMap::new()).is_empty());
}

#[test]
fn an_untraced_attempt_gets_an_id_of_its_own() {
    let mut r = run();
    r.steps[0].attempt_spans[0].span_id = None;
    let spans = eval_spans(&r, &BTreeMap::new());
    assert_eq!(spans[2].span_id.len(), 16);
    assert_ne!(spans[2].span_id, "0000000000000000");
}

#[test]
fn headers_secret_is_the_otel_format_and_errors_never_repeat_values() {
    let h = parse_headers("authorization=Bearer a=b, x-scope-orgid = tenant1\n").unwrap();
    assert_eq!(h["authorization"], "Bearer a=b");
    assert_eq!(h["x-scope-orgid"], "tenant1");
    let e = parse_headers("authorization").unwrap_err().to_string();
    assert!(e.contains("no `=`"), "{e}");
    let e = parse_headers("bad name=s3cret-value")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("s3cret"), "{e}");
    let e = parse_headers("x-key=s3cret\u{7f}value")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("s3cret"), "{e}");
}
