//! Durable steps beyond their run: what a run hands over when the back-end has
//! not finished at its poll ([`owed_obligation`]), and one later poll of it
//! ([`poll_obligation`]) from the values the run persisted, the journey's
//! current definition of the step and fresh secrets.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::handoff::Obligation;
use super::http::{ClientOptions, HttpClient};
use super::options::{RunOptions, base_scope, render_vars};
use super::result::{FailureClass, StepOutcome, StepVerdict};
use super::step::{StepCtx, run_step};
use crate::journey::model::{Journey, Step};
use crate::journey::template::{Engine, Scope};
use crate::runner::redact::Redactor;
use crate::units::later;

/// How one poll of an obligation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PollResult {
    /// The expectations hold: the back-end finished.
    Fulfilled(StepOutcome),
    /// Every `fail_fast` expectation held: the back-end reached a terminal bad state.
    Failed(StepOutcome),
    /// Not yet (or the poll itself could not be made); the outcome says why.
    NotYet(StepOutcome),
}

/// The obligation a run leaves when its durable `step` did not pass at its poll
/// (`first_poll` carries the deadline); `None` for any other step.
pub(super) fn owed_obligation(
    journey: &Journey,
    step: &Step,
    scope: &Scope,
    redactor: &Redactor,
    run_id: uuid::Uuid,
    first_poll: &StepOutcome,
) -> Option<Obligation> {
    let ev = step.eventually().filter(|e| e.durable)?;
    let pending = first_poll.obligation.as_ref()?;
    let secret_capture = |name: &str| {
        (journey.steps.iter())
            .flat_map(|s| &s.captures)
            .any(|c| c.secret && c.name == name)
    };
    // Main steps before this one that capture a secret it reads (a log-in).
    let refresh: Vec<&Step> = (journey.steps.iter())
        .take_while(|s| s.name != step.name)
        .filter(|m| (m.captures.iter()).any(|c| c.secret && step.uses.iter().any(|u| u == &c.name)))
        .collect();
    let mut values = BTreeMap::new();
    for name in step.uses.iter().chain(refresh.iter().flat_map(|s| &s.uses)) {
        let Some(v) = scope.vars.get(name).filter(|_| !secret_capture(name)) else {
            continue;
        };
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // A var built from a secret is rendered again at each poll instead.
        if redactor.redact(&text) == text {
            values.insert(name.clone(), v.clone());
        }
    }
    let now = chrono::Utc::now();
    Some(Obligation {
        id: uuid::Uuid::new_v4(),
        journey: journey.name.clone(),
        run_id,
        step: step.name.clone(),
        backend: step.backend.clone(),
        values,
        refresh: refresh.iter().map(|s| s.name.clone()).collect(),
        created_at: now,
        deadline: pending.deadline,
        every: ev.every,
        backoff: ev.backoff,
        max_every: ev.max_every,
        first_poll: first_poll.clone(),
    })
}

/// Polls `ob` once: the journey's vars rendered again (fresh secrets), the
/// stored values over them, the refresh steps, then the durable step. Never
/// fails: a poll that cannot be made is [`PollResult::NotYet`] with the reason.
pub async fn poll_obligation(
    journey: &Journey,
    engine: &Engine,
    opts: &RunOptions,
    ob: &Obligation,
) -> PollResult {
    let Some(step) = (journey.steps.iter())
        .find(|s| s.name == ob.step && s.eventually().is_some_and(|e| e.durable))
    else {
        return not_yet(ob, "the journey no longer has this durable step");
    };
    let (mut scope, mut redactor, secret_errors) = base_scope(journey, opts);
    if !secret_errors.is_empty() {
        return not_yet(ob, &crate::journey::secrets::describe(&secret_errors));
    }
    // Daemon polls never take `--var` overrides: the stored values already hold them.
    let plain = RunOptions {
        overrides: BTreeMap::new(),
        ..opts.clone()
    };
    if let Err(f) = render_vars(journey, engine, &plain, &mut scope) {
        return not_yet(ob, &f.message);
    }
    scope.vars.extend(ob.values.clone());
    let client = match HttpClient::new(&ClientOptions {
        tls: journey.tls.clone(),
        dns_servers: opts.dns_servers.clone(),
    }) {
        Ok(c) => c,
        Err(e) => return not_yet(ob, &format!("cannot set up HTTP: {e}")),
    };
    let refresh: Vec<&Step> = (journey.steps.iter())
        .filter(|s| ob.refresh.contains(&s.name))
        .collect();
    let budget = (refresh.iter().copied().chain([step]))
        .fold(Duration::ZERO, |sum, s| sum.saturating_add(s.timeout));
    let ctx = StepCtx {
        engine,
        client: &client,
        max_body: journey.max_body_bytes,
        deadline: later(Instant::now(), budget),
        trace: None,
    };
    for r in refresh {
        let o = run_step(r, &ctx, &mut scope, &mut redactor).await;
        if o.verdict != StepVerdict::Pass {
            let why = o.failure.map(|f| f.message).unwrap_or_default();
            let why = format!("cannot refresh secret captures: step `{}`: {why}", r.name);
            return not_yet(ob, &why);
        }
    }
    let o = run_step(step, &ctx, &mut scope, &mut redactor).await;
    match (o.verdict, &o.obligation) {
        (StepVerdict::Pass, None) => PollResult::Fulfilled(o),
        (StepVerdict::Fail, _)
            if o.failure.as_ref().map(|f| f.class) == Some(FailureClass::BackendFailed) =>
        {
            PollResult::Failed(o)
        }
        _ => PollResult::NotYet(o),
    }
}

/// A poll that could not be made: a failed outcome saying why.
fn not_yet(ob: &Obligation, why: &str) -> PollResult {
    PollResult::NotYet(StepOutcome::not_sent(&ob.step, ob.backend.as_deref(), why))
}

/// Why a poll did not pass, in one line (for logs, the API and a breach's message).
pub fn poll_summary(o: &StepOutcome) -> String {
    let why = (o.failure.as_ref().map(|f| f.message.clone()))
        .or_else(|| o.obligation.as_ref().and_then(|p| p.reason.clone()))
        .unwrap_or_else(|| "passed".to_string());
    match o.http_status {
        Some(s) => format!("HTTP {s}: {why}"),
        None => why,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::journey::parse::parse_journey;

    const JOURNEY: &str = r#"
name: refund
vars:
  base: "http://127.0.0.1:9"
  auth: "Basic {{ secret.api_key }}"
steps:
  - name: log in
    request: { method: POST, url: "{{ base }}/login", headers: { authorization: "{{ auth }}" } }
    capture: { token: { json: "$.token", secret: true } }
  - name: request refund
    request: { method: POST, url: "{{ base }}/refunds" }
    capture: { refund_id: { json: "$.id" } }
  - name: refund booked
    backend: refunds
    request:
      url: "{{ base }}/refunds/{{ refund_id }}"
      headers: { authorization: "Bearer {{ token }}", x-auth: "{{ auth }}" }
    eventually: { within: 2d, durable: true }
    expect: { json: { "$.status": booked } }
"#;

    #[test]
    fn an_obligation_keeps_no_secret_and_refreshes_the_log_in() {
        let journey = parse_journey(Path::new("refund.yaml"), JOURNEY, &Engine::new())
            .unwrap_or_else(|d| panic!("{d:?}"));
        let mut scope = Scope::default();
        let mut redactor = Redactor::default();
        redactor.add("k-secret-4711");
        redactor.add("t-session-0042");
        for (k, v) in [
            ("base", "http://127.0.0.1:9"),
            ("auth", "Basic k-secret-4711"),
            ("token", "t-session-0042"),
            ("refund_id", "r-9"),
        ] {
            scope.vars.insert(k.into(), serde_json::json!(v));
        }
        let step = &journey.steps[2];
        let mut first = StepOutcome::skipped(&step.name, Some("refunds"), "");
        first.obligation = Some(super::super::result::PendingObligation::starting_now(
            Duration::from_secs(3600),
        ));
        let run_id = uuid::Uuid::new_v4();
        let ob = owed_obligation(&journey, step, &scope, &redactor, run_id, &first)
            .expect("a durable step that did not pass is owed");
        assert_eq!(ob.refresh, ["log in"]);
        let names: Vec<&str> = ob.values.keys().map(String::as_str).collect();
        assert_eq!(names, ["base", "refund_id"]);
        let stored = serde_json::to_string(&ob).unwrap();
        assert!(!stored.contains("k-secret-4711") && !stored.contains("t-session-0042"));
        // Not durable, or passed: nothing is owed.
        assert!(
            owed_obligation(
                &journey,
                &journey.steps[1],
                &scope,
                &redactor,
                run_id,
                &first
            )
            .is_none()
        );
        first.obligation = None;
        assert!(owed_obligation(&journey, step, &scope, &redactor, run_id, &first).is_none());
    }
}
