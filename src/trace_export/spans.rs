//! A finished run as OTLP spans, in the OTLP/HTTP JSON encoding (the protobuf
//! JSON mapping: ids in lower-case hex, 64-bit integers as decimal strings,
//! enums as numbers). Pure: no I/O, no clock.
//!
//! One trace per run, with the id the run's requests carried in `traceparent`:
//! a root span for the run, a child per step (cleanup steps too, with
//! `journeyd.cleanup = true`), and a child per attempt of a step whose id is the
//! span id that attempt sent, so the back-end's own spans hang under the
//! attempt that caused them. Skipped steps did nothing and have no span.
//!
//! What a span says comes only from configuration (journey, step, back-end
//! names, labels) or from the run after redaction (`Redactor::redact_step` ran on
//! every step: failure messages are scrubbed); URLs, headers, bodies and
//! captured values are never exported.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::runner::http::new_span_id;
use crate::runner::{AttemptSpan, JourneyRun, StepOutcome, StepVerdict, Verdict};

/// `SPAN_KIND_INTERNAL`: the run and its steps happen inside journeyd.
pub const KIND_INTERNAL: u8 = 1;
/// `SPAN_KIND_CLIENT`: an attempt is an outgoing HTTP request.
pub const KIND_CLIENT: u8 = 3;
/// `STATUS_CODE_OK`.
pub const STATUS_OK: u8 = 1;
/// `STATUS_CODE_ERROR`.
pub const STATUS_ERROR: u8 = 2;

/// `ExportTraceServiceRequest`: the body of `POST /v1/traces`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    resource_spans: Vec<ResourceSpans>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans {
    resource: Resource,
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Debug, Clone, Serialize)]
struct Resource {
    attributes: Vec<KeyValue>,
}

#[derive(Debug, Clone, Serialize)]
struct ScopeSpans {
    scope: Scope,
    spans: Vec<Span>,
}

#[derive(Debug, Clone, Serialize)]
struct Scope {
    name: &'static str,
    version: &'static str,
}

/// One OTLP span.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// Empty for the run's root span.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub parent_span_id: String,
    /// `journey purchase`, `step order ships`, `GET attempt 3`.
    pub name: String,
    /// [`KIND_INTERNAL`] or [`KIND_CLIENT`].
    pub kind: u8,
    /// Unix nanoseconds, as a decimal string.
    pub start_time_unix_nano: String,
    /// Unix nanoseconds, as a decimal string.
    pub end_time_unix_nano: String,
    /// Attributes.
    pub attributes: Vec<KeyValue>,
    /// OK or ERROR, with the (redacted) failure message.
    pub status: Status,
}

/// A span's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// Why it failed; empty when it did not.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// [`STATUS_OK`] or [`STATUS_ERROR`].
    pub code: u8,
}

/// One attribute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyValue {
    /// Name, e.g. `journeyd.journey`.
    pub key: String,
    /// Value.
    pub value: AnyValue,
}

/// An attribute value (`{"stringValue": ...}` and the like).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AnyValue {
    /// A string.
    StringValue(String),
    /// A 64-bit integer (a decimal string in JSON, per the mapping).
    IntValue(String),
    /// A boolean.
    BoolValue(bool),
}

fn string(key: &str, v: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: AnyValue::StringValue(v.into()),
    }
}

fn int(key: &str, v: impl ToString) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: AnyValue::IntValue(v.to_string()),
    }
}

impl ExportRequest {
    /// One request for `spans` of a daemon whose resource is `service_name` plus
    /// its static `labels` (e.g. `location`).
    pub fn new(service_name: &str, labels: &BTreeMap<String, String>, spans: Vec<Span>) -> Self {
        let mut attributes = vec![string("service.name", service_name)];
        attributes.extend(labels.iter().map(|(k, v)| string(k, v.as_str())));
        Self {
            resource_spans: vec![ResourceSpans {
                resource: Resource { attributes },
                scope_spans: vec![ScopeSpans {
                    scope: Scope {
                        name: "journeyd",
                        version: env!("CARGO_PKG_VERSION"),
                    },
                    spans,
                }],
            }],
        }
    }
}

fn nanos(t: DateTime<Utc>) -> String {
    t.timestamp_nanos_opt().unwrap_or(0).max(0).to_string()
}

fn end_of(start: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
    let d = TimeDelta::from_std(std::time::Duration::from_secs_f64(seconds.max(0.0)))
        .unwrap_or(TimeDelta::zero());
    start.checked_add_signed(d).unwrap_or(start)
}

fn status(failed: bool, message: Option<&str>) -> Status {
    Status {
        message: message.unwrap_or_default().to_string(),
        code: if failed { STATUS_ERROR } else { STATUS_OK },
    }
}

/// The spans of `run` (a journey with `labels`); none when the run has no trace
/// id (the journey turned tracing off: its requests carried none either).
pub fn eval_spans(run: &JourneyRun, labels: &BTreeMap<String, String>) -> Vec<Span> {
    let Some(trace_id) = &run.trace_id else {
        return Vec::new();
    };
    let root_id = new_span_id();
    let failed = run.verdict == Verdict::Fail;
    let failed_step = run.failed_step();
    let mut attributes = vec![
        string("journeyd.journey", run.journey.as_str()),
        string("journeyd.run_id", run.run_id.to_string()),
        string("journeyd.result", if failed { "fail" } else { "pass" }),
    ];
    if let Some(s) = failed_step {
        attributes.push(string("journeyd.failed_step", s.name.as_str()));
        if let Some(f) = &s.failure {
            attributes.push(string("error.type", f.class.as_str()));
        }
    }
    attributes.extend(
        labels
            .iter()
            .map(|(k, v)| string(&format!("journeyd.label.{k}"), v.as_str())),
    );
    let message = failed_step
        .and_then(|s| s.failure.as_ref())
        .map(|f| f.message.as_str());
    let mut spans = vec![Span {
        trace_id: trace_id.clone(),
        span_id: root_id.clone(),
        parent_span_id: String::new(),
        name: format!("journey {}", run.journey),
        kind: KIND_INTERNAL,
        start_time_unix_nano: nanos(run.started_at),
        end_time_unix_nano: nanos(end_of(run.started_at, run.duration_seconds)),
        attributes,
        status: status(failed, message),
    }];
    let parent = Parent {
        run,
        trace_id,
        span_id: &root_id,
    };
    for (s, cleanup) in
        (run.steps.iter().map(|s| (s, false))).chain(run.cleanup.iter().map(|s| (s, true)))
    {
        if s.verdict != StepVerdict::Skipped {
            step_spans(&parent, s, cleanup, &mut spans);
        }
    }
    spans
}

struct Parent<'a> {
    run: &'a JourneyRun,
    trace_id: &'a str,
    span_id: &'a str,
}

fn step_attributes(run: &JourneyRun, s: &StepOutcome) -> Vec<KeyValue> {
    let mut a = vec![
        string("journeyd.journey", run.journey.as_str()),
        string("journeyd.step", s.name.as_str()),
    ];
    if let Some(b) = &s.backend {
        a.push(string("journeyd.backend", b.as_str()));
    }
    a
}

fn step_spans(p: &Parent<'_>, s: &StepOutcome, cleanup: bool, out: &mut Vec<Span>) {
    let failed = s.verdict == StepVerdict::Fail;
    let start = s.started_at.unwrap_or(p.run.started_at);
    let step_id = new_span_id();
    let mut attributes = step_attributes(p.run, s);
    attributes.push(string(
        "journeyd.result",
        if failed { "fail" } else { "pass" },
    ));
    attributes.push(int("journeyd.attempts", s.attempts));
    if cleanup {
        attributes.push(KeyValue {
            key: "journeyd.cleanup".into(),
            value: AnyValue::BoolValue(true),
        });
    }
    if let Some(code) = s.http_status {
        attributes.push(int("http.response.status_code", code));
    }
    if let Some(f) = &s.failure {
        attributes.push(string("error.type", f.class.as_str()));
    }
    let message = s.failure.as_ref().map(|f| f.message.as_str());
    out.push(Span {
        trace_id: p.trace_id.to_string(),
        span_id: step_id.clone(),
        parent_span_id: p.span_id.to_string(),
        name: format!("step {}", s.name),
        kind: KIND_INTERNAL,
        start_time_unix_nano: nanos(start),
        end_time_unix_nano: nanos(end_of(start, s.duration_seconds)),
        attributes,
        status: status(failed, message),
    });
    let last = s.attempt_spans.len();
    for (i, a) in s.attempt_spans.iter().enumerate() {
        // Only the deciding attempt carries the step's (redacted) message;
        // earlier ones say their class, which is all a poll needs.
        let message = if i + 1 == last { message } else { None };
        out.push(attempt_span(p, s, &step_id, i + 1, a, message));
    }
}

fn attempt_span(
    p: &Parent<'_>,
    s: &StepOutcome,
    step_id: &str,
    n: usize,
    a: &AttemptSpan,
    message: Option<&str>,
) -> Span {
    let mut attributes = step_attributes(p.run, s);
    attributes.push(int("journeyd.attempt", n));
    attributes.push(string(
        "journeyd.result",
        if a.class.is_some() { "fail" } else { "pass" },
    ));
    if let Some(code) = a.http_status {
        attributes.push(int("http.response.status_code", code));
    }
    if let Some(c) = a.class {
        attributes.push(string("error.type", c.as_str()));
    }
    let method = (s.evidence.as_ref())
        .map(|e| e.request.method.as_str())
        .filter(|m| !m.is_empty());
    if let Some(m) = method {
        attributes.push(string("http.request.method", m));
    }
    Span {
        trace_id: p.trace_id.to_string(),
        // An attempt whose host is not traced sent no id: it gets one of its own.
        span_id: a.span_id.clone().unwrap_or_else(new_span_id),
        parent_span_id: step_id.to_string(),
        name: format!("{} attempt {n}", method.unwrap_or("request")),
        kind: KIND_CLIENT,
        start_time_unix_nano: nanos(a.started_at),
        end_time_unix_nano: nanos(end_of(a.started_at, a.duration_seconds)),
        attributes,
        status: status(a.class.is_some(), message.filter(|_| a.class.is_some())),
    }
}
