//! Runs a whole journey: renders its vars, builds a fresh HTTP client (a new
//! customer), runs the steps in order, always runs cleanup, and assembles the
//! [`JourneyRun`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use crate::units::later;

use super::http::{ClientOptions, HttpClient, TraceContext};
use super::result::*;
use super::step::{StepCtx, run_step};
use crate::journey::model::{Journey, Step};
use crate::journey::secrets::{self, SecretError, SecretSource};
use crate::journey::template::{Engine, GENERATORS, Scope};
use crate::runner::redact::Redactor;

/// Everything a run needs besides the journey.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Where `secret.NAME` values come from.
    pub secrets: SecretSource,
    /// `--var name=value`: replaces the journey's var of that name (or adds one).
    pub overrides: BTreeMap<String, String>,
    /// DNS servers to use instead of the system resolver.
    pub dns_servers: Vec<SocketAddr>,
    /// The environment visible as `env.NAME`.
    pub env: BTreeMap<String, String>,
}

impl RunOptions {
    /// Options reading `env.NAME` from this process's environment.
    pub fn from_process(secrets: SecretSource) -> Self {
        Self {
            secrets,
            env: std::env::vars().collect(),
            ..Self::default()
        }
    }
}

/// Progress of a run, for live output.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// A step is about to run.
    StepStarted {
        /// True for cleanup steps.
        cleanup: bool,
        /// Step name.
        name: &'a str,
    },
    /// A step finished (already redacted).
    StepFinished {
        /// True for cleanup steps.
        cleanup: bool,
        /// The outcome.
        outcome: &'a StepOutcome,
    },
}

/// Runs `journey` once. Never fails: every problem of the target is data in the result.
pub async fn run_journey(
    journey: &Journey,
    engine: &Engine,
    opts: &RunOptions,
    on_event: &mut (dyn FnMut(RunEvent<'_>) + Send),
) -> JourneyRun {
    let started_at = Utc::now();
    let start = Instant::now();
    let mut redactor = Redactor::default();
    // Only the variables the journey reads: the scope is copied into every render.
    let env = journey
        .env
        .iter()
        .filter_map(|k| opts.env.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    let loaded = opts.secrets.load(&journey.secrets);
    let mut scope = Scope {
        env,
        secrets: loaded.values,
        ..Scope::default()
    };
    for v in scope.secrets.values() {
        redactor.add(v);
    }
    let unreadable = secrets_failure(&loaded.errors);
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
            let steps = run_steps(&journey.steps, &ctx, &mut scope, &mut redactor, on_event).await;
            let ctx = StepCtx {
                deadline: hard_deadline,
                ..ctx
            };
            let cleanup =
                run_cleanup(&journey.cleanup, &ctx, &mut scope, &mut redactor, on_event).await;
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
        run_id: uuid::Uuid::new_v4(),
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

/// The run's trace: the default own host is the first step's, rendered with the
/// run's vars (it cannot use captures, nothing was captured yet).
fn trace_context(journey: &Journey, engine: &Engine, scope: &Scope) -> Option<TraceContext> {
    let first = journey
        .steps
        .first()
        .and_then(|s| engine.render(&s.request.url, scope).ok());
    TraceContext::new(&journey.trace, first.as_deref())
}

fn cleanup_reserve(journey: &Journey) -> Duration {
    let total =
        (journey.cleanup.iter()).fold(Duration::ZERO, |sum, s| sum.saturating_add(s.timeout));
    total.min(journey.timeout / 2)
}

/// Renders vars in order; `--var` overrides replace a var's template.
fn render_vars(
    journey: &Journey,
    engine: &Engine,
    opts: &RunOptions,
    scope: &mut Scope,
) -> Result<(), Failure> {
    for (name, template) in &journey.vars {
        let value = match opts.overrides.get(name) {
            Some(v) => v.clone(),
            None => engine.render(template, scope).map_err(|e| Failure {
                class: FailureClass::Template,
                message: format!("vars.{name}: {}", e.message),
                mismatches: Vec::new(),
            })?,
        };
        scope
            .vars
            .insert(name.clone(), serde_json::Value::String(value));
    }
    for (name, value) in &opts.overrides {
        scope
            .vars
            .entry(name.clone())
            .or_insert_with(|| serde_json::Value::String(value.clone()));
    }
    Ok(())
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
                run_step(step, ctx, scope, redactor).await
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

/// Cleanup always runs; a step whose variables were never captured is skipped and says which.
async fn run_cleanup(
    steps: &[Step],
    ctx: &StepCtx<'_>,
    scope: &mut Scope,
    redactor: &mut Redactor,
    on_event: &mut (dyn FnMut(RunEvent<'_>) + Send),
) -> Vec<StepOutcome> {
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let missing: Vec<&str> = step
            .uses
            .iter()
            .filter(|u| !scope.vars.contains_key(u.as_str()) && !GENERATORS.contains(&u.as_str()))
            .map(String::as_str)
            .collect();
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
