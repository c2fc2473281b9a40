//! Runs one step: a single attempt, or for `eventually` steps, attempts
//! until the expectations hold, a `fail_fast` state is reached, or the
//! deadline passes.

use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use crate::units::later;

use super::capture::eval_capture;
use super::expect::{ResponseView, eval_expectations};
use super::http::{HttpClient, HttpResponse, TraceContext};
use super::prepare::{evidence, render_request};
use super::result::*;
use super::retry;
use crate::journey::model::{Eventually, Step};
use crate::journey::template::{Engine, Scope};
use crate::runner::redact::Redactor;

/// What a step needs from its run.
pub(super) struct StepCtx<'a> {
    pub engine: &'a Engine,
    pub client: &'a HttpClient,
    pub max_body: u64,
    /// Hard deadline for this step (journey timeout, minus the cleanup reserve for main steps).
    pub deadline: Instant,
    /// The run's trace, when the journey traces its requests.
    pub trace: Option<&'a TraceContext>,
}

/// How one attempt ended.
enum Verdict {
    Pass(Vec<(String, serde_json::Value, bool)>),
    /// Failed; worth retrying under `eventually`.
    Fail(Failure),
    /// Failed in a way retrying cannot fix (template, capture).
    Fatal(Failure),
    /// Every `fail_fast` expectation held: the back-end reached a terminal bad state.
    FailFast(Vec<Mismatch>),
}

struct Attempt {
    verdict: Verdict,
    status: Option<u16>,
    timings: PhaseTimings,
    elapsed: Duration,
    cert_not_after: Option<chrono::DateTime<Utc>>,
    evidence: Option<Evidence>,
    /// Requests sent again after a transient fault, by its class.
    retries: Vec<FailureClass>,
    /// Span id of the attempt's `traceparent`, when it carried one.
    span_id: Option<String>,
    started_at: chrono::DateTime<Utc>,
}

impl Attempt {
    /// The attempt as one span of the OTLP export.
    fn span(&self) -> AttemptSpan {
        let class = match &self.verdict {
            Verdict::Pass(_) => None,
            Verdict::Fail(f) | Verdict::Fatal(f) => Some(f.class),
            Verdict::FailFast(_) => Some(FailureClass::BackendFailed),
        };
        AttemptSpan {
            span_id: self.span_id.clone(),
            started_at: self.started_at,
            duration_seconds: self.elapsed.as_secs_f64(),
            http_status: self.status,
            class,
        }
    }
}

fn failure(class: FailureClass, message: impl Into<String>) -> Failure {
    Failure {
        class,
        message: message.into(),
        mismatches: Vec::new(),
    }
}

/// "`$.status`: expected eq "shipped", got "paid" (and 1 more)".
fn summarize(mismatches: &[Mismatch]) -> String {
    let Some(first) = mismatches.first() else {
        return String::new();
    };
    let mut s = format!(
        "{}: expected {}, got {}",
        first.subject, first.expected, first.actual
    );
    if mismatches.len() > 1 {
        s.push_str(&format!(" (and {} more)", mismatches.len() - 1));
    }
    s
}

fn parse_json(resp: &HttpResponse) -> Option<serde_json::Value> {
    let is_json = resp
        .headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.contains("json"));
    let looks_json = resp
        .body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[');
    if is_json || looks_json {
        serde_json::from_slice(&resp.body).ok()
    } else {
        None
    }
}

async fn attempt(
    step: &Step,
    ctx: &StepCtx<'_>,
    scope: &Scope,
    timeout: Duration,
    polling: bool,
) -> Attempt {
    let mut a = Attempt {
        verdict: Verdict::Fatal(failure(FailureClass::Template, "")),
        status: None,
        timings: PhaseTimings::default(),
        elapsed: Duration::ZERO,
        cert_not_after: None,
        evidence: None,
        retries: Vec::new(),
        span_id: None,
        started_at: Utc::now(),
    };
    let mut req = match render_request(&step.request, ctx.engine, scope) {
        Ok(r) => r,
        Err(e) => {
            a.verdict = Verdict::Fatal(failure(FailureClass::Template, e.message));
            return a;
        }
    };
    a.span_id = ctx.trace.and_then(|t| t.inject(&mut req));
    let ex = send_with_retries(step, ctx, &req, timeout, &mut a.retries).await;
    a.timings = ex.timings;
    a.elapsed = ex.elapsed;
    let resp = match ex.outcome {
        Ok(r) => r,
        Err(te) => {
            a.status = te.partial.as_ref().map(|p| p.status);
            a.evidence = Some(evidence(&req, te.partial.as_ref(), true));
            a.verdict = Verdict::Fail(failure(te.class, te.message));
            return a;
        }
    };
    a.status = Some(resp.status);
    a.cert_not_after = resp.cert_not_after;
    let json = parse_json(&resp);
    let view = ResponseView {
        status: resp.status,
        headers: &resp.headers,
        body: &resp.body,
        json: json.as_ref(),
        final_url: &resp.final_url,
        duration: ex.elapsed,
        cert_not_after: resp.cert_not_after,
        now: Utc::now(),
    };
    a.verdict = judge(step, ctx, scope, &view, polling);
    let failed = !matches!(a.verdict, Verdict::Pass(_));
    a.evidence = Some(evidence(&req, Some(&resp), failed));
    a
}

/// Sends `req`, sending it again after transient faults the step's retry policy allows,
/// all within `timeout`; returns the last exchange.
async fn send_with_retries(
    step: &Step,
    ctx: &StepCtx<'_>,
    req: &super::http::PreparedRequest,
    timeout: Duration,
    retries: &mut Vec<FailureClass>,
) -> super::http::Exchange {
    let started = Instant::now();
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        let ex = ctx.client.send(req, left, ctx.max_body).await;
        let tried = u32::try_from(retries.len()).unwrap_or(u32::MAX);
        let left = timeout.saturating_sub(started.elapsed());
        match retry::decide(step, req, &ex, tried, left) {
            Some((reason, pause)) => {
                retries.push(reason);
                tokio::time::sleep(pause).await;
            }
            None => return ex,
        }
    }
}

/// Expectations, then fail_fast (while polling), then captures.
fn judge(
    step: &Step,
    ctx: &StepCtx<'_>,
    scope: &Scope,
    view: &ResponseView<'_>,
    polling: bool,
) -> Verdict {
    let mismatches = match eval_expectations(&step.expect, view, ctx.engine, scope) {
        Ok(m) => m,
        Err(e) => return Verdict::Fatal(failure(FailureClass::Template, e.message)),
    };
    if !mismatches.is_empty() {
        if polling && !step.fail_fast().is_empty() {
            match eval_expectations(step.fail_fast(), view, ctx.engine, scope) {
                Ok(ff) if ff.is_empty() => return Verdict::FailFast(mismatches),
                Ok(_) => {}
                Err(e) => return Verdict::Fatal(failure(FailureClass::Template, e.message)),
            }
        }
        let class = if mismatches.iter().any(|m| m.subject == "status") {
            FailureClass::HttpStatus
        } else {
            FailureClass::Assertion
        };
        return Verdict::Fail(Failure {
            class,
            message: summarize(&mismatches),
            mismatches,
        });
    }
    let mut captured = Vec::with_capacity(step.captures.len());
    for c in &step.captures {
        match eval_capture(c, view) {
            Ok(v) => captured.push((c.name.clone(), v, c.secret)),
            Err(why) => {
                return Verdict::Fatal(failure(
                    FailureClass::Capture,
                    format!("capture `{}`: {why}", c.name),
                ));
            }
        }
    }
    Verdict::Pass(captured)
}

/// Runs a step and applies its captures to `scope`, registering secret ones with the redactor.
pub(super) async fn run_step(
    step: &Step,
    ctx: &StepCtx<'_>,
    scope: &mut Scope,
    redactor: &mut Redactor,
) -> StepOutcome {
    let started = Instant::now();
    let mut out = StepOutcome::skipped(&step.name, step.backend.as_deref(), "");
    out.skip_reason = None;
    out.started_at = Some(Utc::now());
    // `completion`: how long the back-end took, or was watched when it timed out.
    let (last, attempts, completion) = match step.eventually() {
        None => {
            let timeout = step
                .timeout
                .min(ctx.deadline.saturating_duration_since(started));
            let mut a = attempt(step, ctx, scope, timeout, false).await;
            if timeout < step.timeout {
                note_journey_deadline(&mut a.verdict);
            }
            out.attempt_spans.push(a.span());
            (a, 1, None)
        }
        Some(ev) if ev.durable => {
            // A durable step polls once in the run; the daemon polls the rest.
            let first = Instant::now();
            let a = attempt(step, ctx, scope, step.timeout.min(ev.within), true).await;
            out.attempt_spans.push(a.span());
            let done = matches!(a.verdict, Verdict::Pass(_)).then(|| first.elapsed());
            (a, 1, done)
        }
        Some(ev) => poll(step, &ev, ctx, scope, &mut out.attempt_spans).await,
    };
    out.attempts = attempts;
    out.retries = last.retries.clone();
    out.http_status = last.status;
    out.timings = last.timings;
    out.cert_not_after = last.cert_not_after;
    out.evidence = last.evidence;
    out.trace_id = last
        .span_id
        .is_some()
        .then(|| ctx.trace.map(|t| t.trace_id.clone()))
        .flatten();
    out.span_id = last.span_id;
    out.duration_seconds = started.elapsed().as_secs_f64();
    match last.verdict {
        Verdict::Pass(captured) => {
            out.verdict = StepVerdict::Pass;
            out.backend_completion_seconds = completion.map(|d: Duration| d.as_secs_f64());
            out.degraded = is_degraded(step, last.elapsed, completion);
            for (name, value, secret) in captured {
                if secret {
                    redactor.add(&value_text(&value));
                }
                out.captured.push(name.clone());
                scope.vars.insert(name, value);
            }
        }
        Verdict::Fail(f) if step.eventually().is_some_and(|e| e.durable) => {
            out.verdict = StepVerdict::Pass;
            let within = step.eventually().map(|e| e.within).unwrap_or_default();
            let mut pending = PendingObligation::starting_now(within);
            pending.reason = Some(redactor.redact(&f.message).into_owned());
            out.obligation = Some(pending);
        }
        Verdict::Fail(f) | Verdict::Fatal(f) => {
            out.verdict = StepVerdict::Fail;
            // A timed-out wait feeds the completion histogram at the time watched,
            // so its percentiles do not read low while a back-end is stuck.
            if f.class == FailureClass::BackendTimeout {
                out.backend_completion_seconds = completion.map(|d| d.as_secs_f64());
            }
            out.failure = Some(f);
        }
        Verdict::FailFast(m) => {
            out.verdict = StepVerdict::Fail;
            out.failure = Some(backend_failed(step, attempts, m));
        }
    }
    redactor.redact_step(&mut out);
    out
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_degraded(step: &Step, elapsed: Duration, completion: Option<Duration>) -> bool {
    let slow_step = step.warn_duration().is_some_and(|w| elapsed > w);
    let slow_backend = match (step.eventually().and_then(|e| e.warn_after), completion) {
        (Some(w), Some(c)) => c > w,
        _ => false,
    };
    slow_step || slow_backend
}

fn note_journey_deadline(v: &mut Verdict) {
    if let Verdict::Fail(f) = v
        && f.class == FailureClass::Timeout
    {
        f.message
            .push_str(" (the journey's own timeout was reached)");
    }
}

fn process_name(step: &Step) -> String {
    match &step.backend {
        Some(b) => format!("back-end process `{b}`"),
        None => "the back-end process".to_string(),
    }
}

fn backend_failed(step: &Step, attempts: u32, mismatches: Vec<Mismatch>) -> Failure {
    Failure {
        class: FailureClass::BackendFailed,
        message: format!(
            "{} reached a terminal failure state after {attempts} attempt(s): {}",
            process_name(step),
            summarize(&mismatches)
        ),
        mismatches,
    }
}

/// Shortest time budget worth a polling attempt.
const MIN_ATTEMPT: Duration = Duration::from_millis(250);

/// Attempts until pass, fail_fast, a fatal failure, or `within` (or the step deadline) passes.
async fn poll(
    step: &Step,
    ev: &Eventually,
    ctx: &StepCtx<'_>,
    scope: &Scope,
    spans: &mut Vec<AttemptSpan>,
) -> (Attempt, u32, Option<Duration>) {
    let first = Instant::now();
    let until = later(first, ev.within).min(ctx.deadline);
    let cut_by_journey = until < later(first, ev.within);
    let mut pause = ev.every;
    let mut attempts = 0;
    // Transient retries of every poll, reported together on the step.
    let mut retries = Vec::new();
    loop {
        attempts += 1;
        let remaining = until.saturating_duration_since(Instant::now());
        let mut a = attempt(step, ctx, scope, step.timeout.min(remaining), true).await;
        spans.push(a.span());
        retries.append(&mut a.retries);
        match &a.verdict {
            Verdict::Pass(_) => {
                a.retries = retries;
                return (a, attempts, Some(first.elapsed()));
            }
            Verdict::Fatal(_) | Verdict::FailFast(_) => {
                a.retries = retries;
                return (a, attempts, None);
            }
            Verdict::Fail(_) => {}
        }
        // The next attempt must keep a meaningful time budget: one squeezed into
        // the last milliseconds (or after a sleep that overshot on a busy machine)
        // would report its own timeout instead of the back-end's real state.
        let min_attempt = MIN_ATTEMPT.min(step.timeout);
        let left = until.saturating_duration_since(Instant::now());
        if left >= min_attempt {
            tokio::time::sleep(pause.min(left - min_attempt)).await;
            pause = Duration::try_from_secs_f64(pause.as_secs_f64() * ev.backoff)
                .unwrap_or(ev.max_every)
                .min(ev.max_every);
        }
        if until.saturating_duration_since(Instant::now()) < min_attempt {
            let mut waited = None;
            if let Verdict::Fail(f) = &mut a.verdict {
                give_up(f, step, ev, attempts, cut_by_journey);
                waited = (f.class == FailureClass::BackendTimeout).then(|| first.elapsed());
            }
            a.retries = retries;
            return (a, attempts, waited);
        }
    }
}

/// The final failure of a poll: an unmet expectation means the back-end did not finish in time.
fn give_up(f: &mut Failure, step: &Step, ev: &Eventually, attempts: u32, cut_by_journey: bool) {
    let limit = if cut_by_journey {
        "before the journey's timeout".to_string()
    } else {
        format!("within {}", humantime::format_duration(ev.within))
    };
    if f.class == FailureClass::Assertion {
        f.class = FailureClass::BackendTimeout;
        f.message = format!(
            "{} did not finish {limit} ({attempts} attempts): {}",
            process_name(step),
            f.message
        );
    } else {
        f.message = format!(
            "still failing {limit} after {attempts} attempts: {}",
            f.message
        );
    }
}
