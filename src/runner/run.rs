//! Runs a whole journey: renders its vars, builds a fresh HTTP client (a new
//! customer), runs the steps in order, always runs cleanup, and assembles the
//! [`JourneyRun`].

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use crate::units::later;

use super::cleanup::{owed, run_cleanup, still_owed};
use super::diagnostics::run_diagnostics;
use super::handoff::HandOff;
use super::http::{ClientOptions, HttpClient, TraceContext};
use super::obligation::owed_obligation;
use super::options::{RunEvent, RunOptions, base_scope, render_vars};
use super::result::*;
use super::step::{StepCtx, run_step};
use crate::journey::model::{Journey, Step, TraceScope};
use crate::journey::secrets::{self, SecretError};
use crate::journey::template::{Engine, Scope};
use crate::runner::redact::Redactor;

/// Runs `journey` once. Never fails: every problem of the target is data in the result.
pub async fn run_journey(
    journey: &Journey,
    engine: &Engine,
    opts: &RunOptions,
    on_event: &mut (dyn FnMut(RunEvent<'_>) + Send),
) -> JourneyRun {
    let started_at = Utc::now();
    let start = Instant::now();
    // Time-ordered (UUIDv7: a millisecond timestamp, then 74 random bits), so the
    // history's `run_id` index grows at its right edge instead of dirtying a
    // random leaf page per run.
    let run_id = uuid::Uuid::now_v7();
    let (mut scope, mut redactor, secret_errors) = base_scope(journey, opts);
    let unreadable = secrets_failure(&secret_errors);
    // Cleanup gets its own share of the hard timeout, so a hanging step cannot starve it.
    let reserve = cleanup_reserve(journey);
    let hard_deadline = later(start, journey.timeout);
    let steps_deadline = hard_deadline.checked_sub(reserve).unwrap_or(start);

    let setup = unreadable.map_or(Ok(()), Err);
    let setup = setup.and_then(|()| render_vars(journey, engine, opts, &mut scope));
    let setup = setup.and_then(|()| {
        HttpClient::new(&ClientOptions {
            tls: journey.tls.clone(),
            dns_servers: opts.dns_servers.clone(),
        })
        .map_err(|e| Failure {
            class: FailureClass::Tls,
            message: format!("cannot set up the HTTP client: {e}"),
            mismatches: Vec::new(),
        })
    });
    let trace = setup
        .is_ok()
        .then(|| trace_context(journey, engine, &scope))
        .flatten();
    let (mut steps, mut cleanup) = match setup {
        Ok(client) => {
            let ctx = StepCtx {
                engine,
                client: &client,
                max_body: journey.max_body_bytes,
                deadline: steps_deadline,
                trace: trace.as_ref(),
            };
            let mut owing = Owing::new(journey, run_id, opts);
            let mut steps = run_steps(
                &journey.steps,
                &ctx,
                &mut scope,
                &mut redactor,
                on_event,
                &mut owing,
            )
            .await;
            // After the failing step, before cleanup (which may delete what they look at).
            on_failure(journey, &mut steps, &ctx, &scope, &redactor).await;
            let held = hand_over(journey, &mut steps, &scope, &redactor, run_id, opts).await;
            let cleanup = match held {
                // The obligation still needs what cleanup would delete: it waits.
                Some(step) => {
                    owing.hold().await;
                    held_cleanup(journey, &step, on_event)
                }
                None => {
                    let ctx = StepCtx {
                        deadline: hard_deadline,
                        ..ctx
                    };
                    let cleanup =
                        run_cleanup(&journey.cleanup, &ctx, &mut scope, &mut redactor, on_event)
                            .await;
                    owing.settle(&cleanup).await;
                    cleanup
                }
            };
            (steps, cleanup)
        }
        Err(f) => (setup_failed(journey, f, &redactor, on_event), Vec::new()),
    };
    set_sources(journey, &journey.steps, &mut steps);
    set_sources(journey, &journey.cleanup, &mut cleanup);
    let verdict = if steps.iter().all(|s| s.verdict == StepVerdict::Pass) {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    JourneyRun {
        run_id,
        journey: journey.name.clone(),
        started_at,
        duration_seconds: start.elapsed().as_secs_f64(),
        verdict,
        degraded: verdict == Verdict::Pass && steps.iter().any(|s| s.degraded),
        captures: captured_values(journey, &scope, &redactor),
        steps,
        cleanup,
        trace_id: trace.map(|t| t.trace_id),
    }
}

/// Sends the failed step's diagnostics and keeps their redacted results on it.
async fn on_failure(
    journey: &Journey,
    outcomes: &mut [StepOutcome],
    ctx: &StepCtx<'_>,
    scope: &Scope,
    redactor: &Redactor,
) {
    let failed = (journey.steps.iter().zip(outcomes.iter_mut()))
        .find(|(_, o)| o.verdict == StepVerdict::Fail);
    let Some((step, outcome)) = failed else {
        return;
    };
    outcome.diagnostics = run_diagnostics(journey, step, ctx, scope).await;
    redactor.redact_step(outcome);
}

/// The run's trace: the default own host is the first step's, rendered with the
/// run's vars (it cannot use captures, nothing was captured yet).
fn trace_context(journey: &Journey, engine: &Engine, scope: &Scope) -> Option<TraceContext> {
    // Only the own-host scope needs the first URL: do not render it for nothing.
    let first = matches!(journey.trace, TraceScope::OwnHost)
        .then(|| journey.steps.first())
        .flatten()
        .and_then(|s| engine.render(&s.request.url, scope).ok());
    TraceContext::new(&journey.trace, first.as_deref())
}

fn cleanup_reserve(journey: &Journey) -> Duration {
    let total =
        (journey.cleanup.iter()).fold(Duration::ZERO, |sum, s| sum.saturating_add(s.timeout));
    total.min(journey.timeout / 2)
}

/// Stamps each outcome with where its step is written (outcomes are in step order).
fn set_sources(journey: &Journey, steps: &[Step], outcomes: &mut [StepOutcome]) {
    for (step, outcome) in steps.iter().zip(outcomes) {
        outcome.source = Some(format!(
            "{}:{}:{}",
            journey.source.display(),
            step.loc.line,
            step.loc.col
        ));
    }
}

/// The failure of a run whose secret files could not be read, if any.
fn secrets_failure(errors: &[SecretError]) -> Option<Failure> {
    (!errors.is_empty()).then(|| Failure {
        class: FailureClass::Template,
        message: secrets::describe(errors),
        mismatches: Vec::new(),
    })
}

/// The run could not start: the first step carries the failure, the rest are skipped.
fn setup_failed(
    journey: &Journey,
    f: Failure,
    redactor: &Redactor,
    on_event: &mut (dyn FnMut(RunEvent<'_>) + Send),
) -> Vec<StepOutcome> {
    let mut out = Vec::new();
    for (i, step) in journey.steps.iter().enumerate() {
        let mut o = StepOutcome::skipped(
            &step.name,
            step.backend.as_deref(),
            "the run could not start",
        );
        if i == 0 {
            o.verdict = StepVerdict::Fail;
            o.skip_reason = None;
            o.failure = Some(f.clone());
        }
        redactor.redact_step(&mut o);
        on_event(RunEvent::StepFinished {
            cleanup: false,
            outcome: &o,
        });
        out.push(o);
    }
    out
}

async fn run_steps(
    steps: &[Step],
    ctx: &StepCtx<'_>,
    scope: &mut Scope,
    redactor: &mut Redactor,
    on_event: &mut (dyn FnMut(RunEvent<'_>) + Send),
    owing: &mut Owing<'_>,
) -> Vec<StepOutcome> {
    let mut out: Vec<StepOutcome> = Vec::with_capacity(steps.len());
    let mut failed: Option<String> = None;
    for step in steps {
        let outcome = match &failed {
            Some(f) => StepOutcome::skipped(
                &step.name,
                step.backend.as_deref(),
                format!("step `{f}` failed"),
            ),
            None => {
                on_event(RunEvent::StepStarted {
                    cleanup: false,
                    name: &step.name,
                });
                let o = run_step(step, ctx, scope, redactor).await;
                if !o.captured.is_empty() {
                    owing.update(scope).await;
                }
                o
            }
        };
        if outcome.verdict == StepVerdict::Fail {
            failed = Some(step.name.clone());
        }
        on_event(RunEvent::StepFinished {
            cleanup: false,
            outcome: &outcome,
        });
        out.push(outcome);
    }
    out
}

/// What the run owes in cleanup, kept in step with the hand-off (if any).
struct Owing<'a> {
    journey: &'a Journey,
    run_id: uuid::Uuid,
    handoff: Option<&'a dyn HandOff>,
    /// Steps reported as owed so far.
    steps: Vec<String>,
}

impl<'a> Owing<'a> {
    fn new(journey: &'a Journey, run_id: uuid::Uuid, opts: &'a RunOptions) -> Self {
        Self {
            journey,
            run_id,
            handoff: opts.handoff.as_deref(),
            steps: Vec::new(),
        }
    }

    /// After a step captured values: persist what is owed before the next request.
    async fn update(&mut self, scope: &Scope) {
        let Some(handoff) = self.handoff else { return };
        if let Some(owed) = owed(self.journey, scope, self.run_id) {
            handoff.cleanup_owed(&owed).await;
            self.steps = owed.steps;
        }
    }

    /// The run ends with an obligation pending: everything owed waits for it.
    async fn hold(&self) {
        let Some(handoff) = self.handoff else { return };
        handoff
            .cleanup_held(&self.journey.name, self.run_id, &self.steps)
            .await;
    }

    /// After the run's own cleanup: what failed stays owed, for background retries.
    async fn settle(&self, outcomes: &[StepOutcome]) {
        let Some(handoff) = self.handoff else { return };
        if self.steps.is_empty() {
            return;
        }
        let remaining = still_owed(&self.steps, outcomes);
        handoff
            .cleanup_settled(&self.journey.name, self.run_id, &remaining)
            .await;
    }
}

/// Hands a pending durable step (always the last main step) to the daemon;
/// returns its name when the daemon took it (then cleanup is held). Without a
/// daemon (`once`, `test`) the step stays pending, unwatched, and cleanup runs.
async fn hand_over(
    journey: &Journey,
    steps: &mut [StepOutcome],
    scope: &Scope,
    redactor: &Redactor,
    run_id: uuid::Uuid,
    opts: &RunOptions,
) -> Option<String> {
    let handoff = opts.handoff.as_deref()?;
    let outcome = steps.last_mut().filter(|o| o.obligation.is_some())?;
    let step = journey.steps.iter().find(|s| s.name == outcome.name)?;
    let ob = owed_obligation(journey, step, scope, redactor, run_id, outcome)?;
    if !handoff.obligation_pending(&ob).await {
        return None;
    }
    if let Some(p) = &mut outcome.obligation {
        p.watched = true;
        p.id = Some(ob.id);
    }
    Some(step.name.clone())
}

/// Cleanup outcomes of a run whose obligation is pending: every step waits for it.
fn held_cleanup(
    journey: &Journey,
    step: &str,
    on_event: &mut (dyn FnMut(RunEvent<'_>) + Send),
) -> Vec<StepOutcome> {
    let reason = format!("held until the obligation of step `{step}` ends");
    (journey.cleanup.iter())
        .map(|s| {
            let o = StepOutcome::skipped(&s.name, s.backend.as_deref(), reason.clone());
            on_event(RunEvent::StepFinished {
                cleanup: true,
                outcome: &o,
            });
            o
        })
        .collect()
}

/// Captured values worth showing to on-call; secret captures are hidden.
fn captured_values(
    journey: &Journey,
    scope: &Scope,
    redactor: &Redactor,
) -> BTreeMap<String, String> {
    const MAX: usize = 200;
    let mut out = BTreeMap::new();
    for c in journey
        .steps
        .iter()
        .chain(&journey.cleanup)
        .flat_map(|s| &s.captures)
    {
        let Some(v) = scope.vars.get(&c.name) else {
            continue;
        };
        let text = if c.secret {
            crate::runner::redact::REDACTED.to_string()
        } else {
            let t = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let t: String = t.chars().take(MAX).collect();
            redactor.redact(&t).into_owned()
        };
        out.insert(c.name.clone(), text);
    }
    out
}
