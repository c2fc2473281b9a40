//! Deploys: `POST /api/deploys` records one (admin token) and, unless told
//! not to, runs at once every journey that uses the back-ends it touched, so
//! a bad deploy is caught in seconds instead of at the next interval.
//! `GET /api/deploys` lists the recent ones. Stored in the alert database
//! (see `alert::outbox::deploys`), where the alert engine finds the deploy a
//! journey started failing after.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::admin::{RUN_NOW_TIMEOUT, ask};
use super::{ServerState, api, auth};
use crate::alert::outbox::{MAX_DEPLOYS, NewDeploy};
use crate::status::board::JourneyStatus;
use crate::status::control::Control;

/// Largest request body accepted by `POST /api/deploys`.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest service, back-end or version name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Most back-ends one deploy may name.
pub const MAX_BACKENDS: usize = 50;
/// Deploys listed when `limit` is not given.
pub const DEFAULT_LIST_LIMIT: u32 = 50;
/// Metric label for a deploy that names no back-end (it touched them all).
pub const ALL_BACKENDS: &str = "*";

/// Body of `POST /api/deploys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeploy {
    /// What was deployed, e.g. `checkout`.
    pub service: String,
    /// Version deployed, e.g. `v1.4.2`.
    pub version: String,
    /// Back-ends touched; absent or empty means all.
    #[serde(default)]
    pub backends: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Run the affected journeys now (default true).
    #[serde(default = "yes")]
    pub run: bool,
}

fn yes() -> bool {
    true
}

/// A journey the deploy did not start, and why.
#[derive(Debug, Serialize)]
struct Skipped {
    journey: String,
    reason: String,
}

/// Query of `GET /api/deploys`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// How many, newest first (1 to 1000).
    pub limit: Option<u32>,
}

/// Checks a deploy; every problem, one sentence each.
pub fn eval_deploy(d: &RawDeploy) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut name = |field: &str, v: &str| {
        if let Err(e) = eval_name(v) {
            errors.push(format!("{field}: {e}"));
        }
    };
    name("service", &d.service);
    name("version", &d.version);
    for (i, b) in d.backends.iter().enumerate() {
        name(&format!("backends[{i}]"), b);
    }
    if d.backends.len() > MAX_BACKENDS {
        errors.push(format!("backends: at most {MAX_BACKENDS} back-ends"));
    }
    if d.description.chars().count() > MAX_DESCRIPTION_CHARS {
        errors.push(format!(
            "description: at most {MAX_DESCRIPTION_CHARS} characters"
        ));
    }
    if d.description.chars().any(|c| c.is_control() && c != '\n') {
        errors.push("description: no control characters except newlines".into());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A name: 1 to [`MAX_NAME_CHARS`] of `A-Z a-z 0-9 . _ - + : /` (versions like
/// `v1.4.2+build.7` or `registry/app:sha`), nothing that needs escaping in a
/// log line, a label or an alert.
fn eval_name(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    if v.chars().count() > MAX_NAME_CHARS {
        return Err(format!("at most {MAX_NAME_CHARS} characters"));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-+:/".contains(c);
    match v.chars().find(|c| !ok(*c)) {
        Some(c) => Err(format!(
            "{c:?} is not allowed (letters, digits and . _ - + : / only)"
        )),
        None => Ok(()),
    }
}

/// Journeys that use one of `backends` (all journeys when it is empty).
pub fn eval_affected<'a>(
    board: &'a [JourneyStatus],
    backends: &[String],
) -> Vec<&'a JourneyStatus> {
    board
        .iter()
        .filter(|j| {
            backends.is_empty() || j.backends().iter().any(|b| backends.iter().any(|x| x == b))
        })
        .collect()
}

fn unavailable() -> Response {
    api::error(StatusCode::SERVICE_UNAVAILABLE, "alerting is not running")
}

/// `POST /api/deploys`: 201 with the deploy, the journeys started and those skipped.
pub async fn create(
    State(state): State<ServerState>,
    headers: HeaderMap,
    body: Result<Json<RawDeploy>, JsonRejection>,
) -> Response {
    if let Err(denied) = auth::authorize(state.admin_token.as_deref(), &headers) {
        return denied.into_response();
    }
    let Some(db) = state.alert_db.clone() else {
        return unavailable();
    };
    let Json(mut raw) = match body {
        Ok(b) => b,
        Err(e) => return api::error(e.status(), e.body_text()),
    };
    if let Err(errors) = eval_deploy(&raw) {
        return api::error(StatusCode::BAD_REQUEST, errors.join("; "));
    }
    raw.backends = raw
        .backends
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let board = state.board.snapshot();
    let affected = eval_affected(&board, &raw.backends);
    let new = NewDeploy {
        service: raw.service,
        backends: raw.backends,
        journeys: affected.iter().map(|j| j.name().to_string()).collect(),
        version: raw.version,
        description: raw.description,
    };
    let deploy = match db.add_deploy(new, Utc::now()).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "Cannot record a deploy.");
            return api::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("recording the deploy failed: {e}"),
            );
        }
    };
    record_metric(&state, &board, &deploy.backends, deploy.at);
    tracing::info!(
        id = deploy.id,
        service = %deploy.service,
        version = %deploy.version,
        backends = ?deploy.backends,
        "Deploy recorded."
    );
    let (started, skipped) = if raw.run {
        run_affected(&state, &affected).await
    } else {
        (Vec::new(), Vec::new())
    };
    let body = json!({"deploy": deploy, "started": started, "skipped": skipped});
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Sets the metric for each named back-end some journey uses (or `*`).
fn record_metric(
    state: &ServerState,
    board: &[JourneyStatus],
    backends: &[String],
    at: DateTime<Utc>,
) {
    let seconds = at.timestamp_millis() as f64 / 1000.0;
    if backends.is_empty() {
        state.metrics.deploy_recorded(ALL_BACKENDS, seconds);
    }
    let known: BTreeSet<&str> = board.iter().flat_map(JourneyStatus::backends).collect();
    for b in backends.iter().filter(|b| known.contains(b.as_str())) {
        state.metrics.deploy_recorded(b, seconds);
    }
}

/// Asks the daemon to run each journey now, as `POST /api/journeys/{name}/run`
/// does; a journey already running is skipped, not queued.
async fn run_affected(
    state: &ServerState,
    affected: &[&JourneyStatus],
) -> (Vec<String>, Vec<Skipped>) {
    let (mut started, mut skipped) = (Vec::new(), Vec::new());
    for j in affected {
        let journey = j.name().to_string();
        if j.running {
            skipped.push(Skipped {
                journey,
                reason: "already running".into(),
            });
            continue;
        }
        let name = journey.clone();
        let reply = ask(state, RUN_NOW_TIMEOUT, |reply| Control::RunNow {
            journey: name,
            reply,
        })
        .await;
        match reply {
            Ok(Ok(())) => started.push(journey),
            Ok(Err(e)) => skipped.push(Skipped {
                journey,
                reason: e.to_string(),
            }),
            Err(_) => skipped.push(Skipped {
                journey,
                reason: "the daemon did not answer".into(),
            }),
        }
    }
    (started, skipped)
}

/// `GET /api/deploys?limit=N`: recent deploys, newest first.
pub async fn list(
    State(state): State<ServerState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let limit = match query.map(|Query(q)| q.limit.unwrap_or(DEFAULT_LIST_LIMIT)) {
        Ok(n) if (1..=MAX_DEPLOYS).contains(&i64::from(n)) => n,
        _ => {
            let message = format!("limit must be a whole number from 1 to {MAX_DEPLOYS}");
            return api::error(StatusCode::BAD_REQUEST, message);
        }
    };
    let Some(db) = state.alert_db.as_ref() else {
        return unavailable();
    };
    match db
        .deploys_between(DateTime::UNIX_EPOCH, Utc::now(), limit)
        .await
    {
        Ok(d) => Json(d).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "Cannot read deploys.");
            api::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading deploys failed: {e}"),
            )
        }
    }
}
