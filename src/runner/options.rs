//! What a run is given besides its journey ([`RunOptions`]), what it reports
//! as it goes ([`RunEvent`]), and the scope every run (and every retry of
//! owed cleanup, every poll of an obligation) starts from.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use super::handoff::HandOff;
use super::result::{Failure, FailureClass, StepOutcome};
use crate::journey::model::Journey;
use crate::journey::secrets::{SecretError, SecretSource};
use crate::journey::template::{Engine, Scope};
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
    /// Where owed cleanup is reported so it survives the run (the daemon); none for `once`.
    pub handoff: Option<Arc<dyn HandOff>>,
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

/// A run's scope before its vars are rendered (env and secrets), a redactor
/// that knows the secrets, and the secrets that could not be read.
pub(super) fn base_scope(
    journey: &Journey,
    opts: &RunOptions,
) -> (Scope, Redactor, Vec<SecretError>) {
    let mut redactor = Redactor::default();
    // Only the variables the journey reads: the scope is copied into every render.
    let env = journey
        .env
        .iter()
        .filter_map(|k| opts.env.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    let loaded = opts.secrets.load(&journey.secrets);
    let scope = Scope {
        env,
        secrets: loaded.values,
        ..Scope::default()
    };
    for v in scope.secrets.values() {
        redactor.add(v);
    }
    (scope, redactor, loaded.errors)
}

/// Renders vars in order; `--var` overrides replace a var's template.
pub(super) fn render_vars(
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
