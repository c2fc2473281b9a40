//! On-failure diagnostics: when a main step fails, the requests it and the
//! journey declare under `diagnostics:` are sent once each, after the failing
//! step and before cleanup, to record what the back office (a queue, a
//! status endpoint) said at that moment.
//!
//! They are evidence, never judged: their own failures (timeout, refused,
//! a 500) are recorded in [`DiagnosticResult::error`] and the run's verdict
//! and failed step stay what they were. Each has its own short timeout, cut
//! by the run's deadline (they never eat the cleanup's reserve), reads at most
//! the journey's `max_body`, and keeps a short excerpt. A diagnostic whose
//! variables the run never captured is skipped with a note. Results are
//! redacted by [`crate::runner::redact::Redactor::redact_step`] with the step
//! they belong to.

use tokio::time::Instant;

use super::http::PreparedRequest;
use super::prepare::render_request;
use super::result::{DiagnosticResult, one_line};
use super::step::StepCtx;
use crate::journey::diagnostic::{DiagnosticRequest, MAX_DIAGNOSTICS_PER_RUN};
use crate::journey::model::{Journey, Step};
use crate::journey::template::{GENERATORS, Scope};

/// Bytes of a diagnostic's response body kept.
pub const BODY_EXCERPT: usize = 1024;
/// Characters of the JSONPath excerpt kept.
pub const EXCERPT_CHARS: usize = 200;

/// The diagnostics a failure of `step` runs: its own first, then the journey's.
fn declared<'a>(
    journey: &'a Journey,
    step: &'a Step,
) -> impl Iterator<Item = &'a DiagnosticRequest> {
    step.diagnostics()
        .iter()
        .chain(&journey.diagnostics)
        .take(MAX_DIAGNOSTICS_PER_RUN)
}

/// Sends the diagnostics of the failed `step`, one after the other (a run's client
/// serves one request at a time), and returns their (unredacted) results.
pub(super) async fn run_diagnostics(
    journey: &Journey,
    step: &Step,
    ctx: &StepCtx<'_>,
    scope: &Scope,
) -> Vec<DiagnosticResult> {
    let mut out = Vec::new();
    for d in declared(journey, step) {
        let mut r = DiagnosticResult {
            name: d.name.clone(),
            source: Some(format!(
                "{}:{}:{}",
                journey.source.display(),
                d.loc.line,
                d.loc.col
            )),
            method: d.request.method.to_string(),
            ..DiagnosticResult::default()
        };
        run_one(d, ctx, scope, &mut r).await;
        out.push(r);
    }
    out
}

async fn run_one(
    d: &DiagnosticRequest,
    ctx: &StepCtx<'_>,
    scope: &Scope,
    r: &mut DiagnosticResult,
) {
    let missing: Vec<&str> = (d.uses.iter())
        .filter(|u| !scope.vars.contains_key(u.as_str()) && !GENERATORS.contains(&u.as_str()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        r.skip_reason = Some(format!(
            "the run did not capture {}",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return;
    }
    let mut req = match render_request(&d.request, ctx.engine, scope) {
        Ok(req) => req,
        Err(e) => {
            r.error = Some(format!("template: {}", e.message));
            return;
        }
    };
    r.url = req.url.clone();
    let timeout = d
        .timeout
        .min(ctx.deadline.saturating_duration_since(Instant::now()));
    if timeout.is_zero() {
        r.skip_reason = Some("no time left before the journey's timeout".into());
        return;
    }
    if let Some(t) = ctx.trace
        && t.inject(&mut req).is_some()
    {
        r.trace_id = Some(t.trace_id.clone());
    }
    send(&req, timeout, d, ctx, r).await;
}

async fn send(
    req: &PreparedRequest,
    timeout: std::time::Duration,
    d: &DiagnosticRequest,
    ctx: &StepCtx<'_>,
    r: &mut DiagnosticResult,
) {
    let ex = ctx.client.send(req, timeout, ctx.max_body).await;
    r.duration_seconds = ex.elapsed.as_secs_f64();
    let resp = match ex.outcome {
        Ok(resp) => resp,
        Err(te) => {
            r.error = Some(format!("{}: {}", te.class, te.message));
            if let Some(p) = te.partial {
                r.status = Some(p.status);
                keep_body(&p.body, r);
            }
            return;
        }
    };
    r.status = Some(resp.status);
    keep_body(&resp.body, r);
    r.excerpt = match &d.excerpt {
        Some(x) => Some(select(&x.path, &x.source, &resp.body)),
        None => r
            .body
            .as_deref()
            .map(|b| truncate(&one_line(b), EXCERPT_CHARS)),
    };
}

fn keep_body(body: &[u8], r: &mut DiagnosticResult) {
    if body.is_empty() {
        return;
    }
    let cut = body.len().min(BODY_EXCERPT);
    r.body = Some(String::from_utf8_lossy(&body[..cut]).into_owned());
    r.truncated = body.len() > cut;
}

/// The JSON selected by `path` (one node as is, several as an array), bounded.
fn select(path: &serde_json_path::JsonPath, source: &str, body: &[u8]) -> String {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return format!("(not JSON, no {source})");
    };
    let nodes = path.query(&json).all();
    let text = match nodes.as_slice() {
        [] => format!("(nothing at {source})"),
        [one] => one.to_string(),
        many => serde_json::Value::Array(many.iter().map(|v| (*v).clone()).collect()).to_string(),
    };
    truncate(&text, EXCERPT_CHARS)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> serde_json_path::JsonPath {
        serde_json_path::JsonPath::parse(p).unwrap()
    }

    #[test]
    fn excerpt_selects_one_node_many_nodes_or_says_nothing() {
        let body = br#"{"status":"paid","items":[{"id":1},{"id":2}]}"#;
        assert_eq!(select(&path("$.status"), "$.status", body), "\"paid\"");
        assert_eq!(
            select(&path("$.items[*].id"), "$.items[*].id", body),
            "[1,2]"
        );
        assert_eq!(
            select(&path("$.nope"), "$.nope", body),
            "(nothing at $.nope)"
        );
        assert_eq!(select(&path("$.a"), "$.a", b"<html>"), "(not JSON, no $.a)");
    }

    #[test]
    fn excerpt_is_bounded() {
        let long = format!(r#"{{"s":"{}"}}"#, "x".repeat(1000));
        let out = select(&path("$.s"), "$.s", long.as_bytes());
        assert_eq!(out.chars().count(), EXCERPT_CHARS + 1);
    }

    #[test]
    fn line_says_status_and_excerpt_error_or_skip() {
        let ok = DiagnosticResult {
            name: "back office".into(),
            status: Some(200),
            excerpt: Some("{\n \"a\": 1\n}".into()),
            ..DiagnosticResult::default()
        };
        assert_eq!(ok.line(), "back office: 200 { \"a\": 1 }");
        let err = DiagnosticResult {
            name: "queue".into(),
            error: Some("timeout: no response within 2s".into()),
            ..DiagnosticResult::default()
        };
        assert_eq!(err.line(), "queue: timeout: no response within 2s");
        let skipped = DiagnosticResult {
            name: "q".into(),
            skip_reason: Some("the run did not capture `order_id`".into()),
            ..DiagnosticResult::default()
        };
        assert_eq!(
            skipped.line(),
            "q: skipped (the run did not capture `order_id`)"
        );
    }
}
