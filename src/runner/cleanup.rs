//! Cleanup steps: run at the end of every run, what a run owes when they
//! cannot finish ([`owed`]), and running owed steps again later
//! ([`run_owed_cleanup`]) from the values a run persisted.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::handoff::OwedCleanup;
use super::http::{ClientOptions, HttpClient};
use super::options::{RunEvent, RunOptions, base_scope};
use super::result::{StepOutcome, StepVerdict};
use super::step::{StepCtx, run_step};
use crate::journey::model::{Journey, Step};
use crate::journey::template::{Engine, GENERATORS, Scope};
use crate::runner::redact::Redactor;
use crate::units::later;

/// Variables `step` reads that `scope` does not have (generators always exist).
fn missing<'a>(step: &'a Step, scope: &Scope) -> Vec<&'a str> {
    step.uses
        .iter()
        .filter(|u| !scope.vars.contains_key(u.as_str()) && !GENERATORS.contains(&u.as_str()))
        .map(String::as_str)
        .collect()
}

/// Names of every capture of the journey's main steps.
fn captured_names(journey: &Journey) -> impl Iterator<Item = &crate::journey::model::Capture> {
    journey.steps.iter().flat_map(|s| &s.captures)
}

/// What the run would owe if it stopped now: the cleanup steps that can run
/// (everything they read is known) and read at least one captured value (a
/// step reading only vars cleans up nothing the run created). `None` when
/// nothing is owed yet.
pub(super) fn owed(journey: &Journey, scope: &Scope, run_id: uuid::Uuid) -> Option<OwedCleanup> {
    let is_capture = |name: &str| captured_names(journey).any(|c| c.name == name);
    let steps: Vec<&Step> = journey
        .cleanup
        .iter()
        .filter(|s| missing(s, scope).is_empty())
        .filter(|s| s.uses.iter().any(|u| is_capture(u)))
        .collect();
    if steps.is_empty() {
        return None;
    }
    let is_secret = |name: &str| captured_names(journey).any(|c| c.secret && c.name == name);
    // Steps that capture a secret an owed step reads: run again by a retry.
    let refresh: Vec<&Step> = (journey.steps.iter())
        .filter(|m| {
            let gives = |u: &String| is_secret(u) && m.captures.iter().any(|c| &c.name == u);
            steps.iter().any(|s| s.uses.iter().any(gives))
        })
        .collect();
    let mut values = BTreeMap::new();
    let read_by = steps.iter().chain(&refresh).flat_map(|s| &s.uses);
    for name in read_by.filter(|n| !is_secret(n)) {
        if let Some(v) = scope.vars.get(name) {
            values.insert(name.clone(), v.clone());
        }
    }
    Some(OwedCleanup {
        journey: journey.name.clone(),
        run_id,
        steps: steps.iter().map(|s| s.name.clone()).collect(),
        values,
        refresh: refresh.iter().map(|s| s.name.clone()).collect(),
    })
}

/// Cleanup always runs; a step whose variables were never captured is skipped and says which.
pub(super) async fn run_cleanup(
    steps: &[Step],
    ctx: &StepCtx<'_>,
    scope: &mut Scope,
    redactor: &mut Redactor,
    on_event: &mut (dyn FnMut(RunEvent<'_>) + Send),
) -> Vec<StepOutcome> {
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let missing = missing(step, scope);
        let outcome = if missing.is_empty() {
            on_event(RunEvent::StepStarted {
                cleanup: true,
                name: &step.name,
            });
            run_step(step, ctx, scope, redactor).await
        } else {
            let names = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ");
            StepOutcome::skipped(
                &step.name,
                step.backend.as_deref(),
                format!("needs {names}, which was never captured"),
            )
        };
        on_event(RunEvent::StepFinished {
            cleanup: true,
            outcome: &outcome,
        });
        out.push(outcome);
    }
    out
}

/// Names of the owed steps that did not pass (still owed after this attempt).
pub fn still_owed(owed: &[String], outcomes: &[StepOutcome]) -> Vec<String> {
    owed.iter()
        .filter(|name| {
            !outcomes
                .iter()
                .any(|o| &o.name == *name && o.verdict == StepVerdict::Pass)
        })
        .cloned()
        .collect()
}

/// Runs the owed cleanup steps of `owed` again, with the values the run
/// persisted, the journey's current definition of those steps, and fresh
/// secrets. Steps no longer in the journey are reported as failed (so they
/// stay owed until the retention limit). Outcomes are redacted.
pub async fn run_owed_cleanup(
    journey: &Journey,
    engine: &Engine,
    opts: &RunOptions,
    owed: &OwedCleanup,
) -> Vec<StepOutcome> {
    let (mut scope, mut redactor, secret_errors) = base_scope(journey, opts);
    scope.vars.extend(owed.values.clone());
    let steps: Vec<Step> = (journey.cleanup.iter())
        .filter(|s| owed.steps.contains(&s.name))
        .cloned()
        .collect();
    let gone = (owed.steps.iter()).filter(|n| !steps.iter().any(|s| &s.name == *n));
    let mut out: Vec<StepOutcome> = gone
        .map(|n| failed(n, "the journey no longer has this cleanup step"))
        .collect();
    if !secret_errors.is_empty() {
        let why = crate::journey::secrets::describe(&secret_errors);
        out.extend(steps.iter().map(|s| failed(&s.name, &why)));
        return out;
    }
    let client = match HttpClient::new(&ClientOptions {
        tls: journey.tls.clone(),
        dns_servers: opts.dns_servers.clone(),
    }) {
        Ok(c) => c,
        Err(e) => {
            out.extend(
                (steps.iter()).map(|s| failed(&s.name, &format!("cannot set up HTTP: {e}"))),
            );
            return out;
        }
    };
    let budget = (steps.iter())
        .chain(
            journey
                .steps
                .iter()
                .filter(|s| owed.refresh.contains(&s.name)),
        )
        .fold(Duration::ZERO, |sum, s| sum.saturating_add(s.timeout));
    let ctx = StepCtx {
        engine,
        client: &client,
        max_body: journey.max_body_bytes,
        deadline: later(Instant::now(), budget),
        // A retry outside its run has no trace to join.
        trace: None,
    };
    // Fresh secret captures (a new session token); `run_step` registers them
    // with the redactor, which redacts every outcome below.
    let refresh = (journey.steps.iter()).filter(|s| owed.refresh.contains(&s.name));
    for step in refresh {
        let o = run_step(step, &ctx, &mut scope, &mut redactor).await;
        if let Some(f) = o.failure.filter(|_| o.verdict != StepVerdict::Pass) {
            let why = format!(
                "cannot refresh secret captures: step `{}` failed: {}",
                step.name, f.message
            );
            out.extend(steps.iter().map(|s| failed(&s.name, &why)));
            return out;
        }
    }
    let done = run_cleanup(&steps, &ctx, &mut scope, &mut redactor, &mut |_| {}).await;
    out.extend(done);
    out
}

fn failed(name: &str, message: &str) -> StepOutcome {
    StepOutcome::not_sent(name, None, message)
}
