//! The read-only JSON API: journeys from the status board, runs from the store.
//!
//! Errors are JSON too (`{"error": "..."}`), so a script never has to parse an
//! HTML or plain-text body.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::filter::LabelFilter;
use super::pages::views::{View, eval_groups};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ServerState;
use crate::runner::{FailureClass, RunSummary};
use crate::status::board::{JourneyState, JourneyStatus};

/// Runs returned by `/api/journeys/{name}/runs` when `limit` is not given.
pub const DEFAULT_RUNS_LIMIT: usize = 50;
/// The largest `limit` honoured; larger values are capped.
pub const MAX_RUNS_LIMIT: usize = 500;

/// A journey as the API shows it: the board's state plus, when failing, what broke.
#[derive(Debug, Clone, Serialize)]
pub struct JourneyView {
    /// Journey name.
    pub name: String,
    /// `unknown`, `passing`, `degraded` or `failing`.
    pub state: JourneyState,
    /// Static labels.
    pub labels: BTreeMap<String, String>,
    /// Description.
    pub description: Option<String>,
    /// Runbook link.
    pub runbook: Option<String>,
    /// Interval, seconds.
    pub interval_seconds: f64,
    /// Step names in order.
    pub steps: Vec<String>,
    /// Back-end processes the journey proves.
    pub backends: Vec<String>,
    /// Last run.
    pub last_run: Option<RunSummary>,
    /// The last run is in the history (false when there is none, or the store
    /// could not write it: then `/api/runs/{id}` does not have it).
    pub last_run_stored: bool,
    /// Start of the last passing run.
    pub last_success: Option<DateTime<Utc>>,
    /// When it runs next.
    pub next_run: Option<DateTime<Utc>>,
    /// A run is in progress.
    pub running: bool,
    /// The failing step, when failing.
    pub failing_step: Option<String>,
    /// Its backend, when failing and the step has one.
    pub failing_backend: Option<String>,
    /// Its failure class, when failing.
    pub failure_class: Option<FailureClass>,
    /// In a fleet, on the alerting leader: each location's phase for it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub locations: BTreeMap<String, String>,
}

impl From<JourneyStatus> for JourneyView {
    fn from(s: JourneyStatus) -> Self {
        let last_run_stored = s.last_run.as_ref().is_some_and(|r| s.is_stored(&r.run_id));
        let failing = match (&s.last_run, s.state) {
            (Some(run), JourneyState::Failing) => Some(run.clone()),
            _ => None,
        };
        Self {
            name: s.name().to_string(),
            state: s.state,
            labels: s.labels().clone(),
            description: s.description().map(str::to_string),
            runbook: s.runbook().map(str::to_string),
            interval_seconds: s.interval_seconds(),
            steps: s.steps().map(str::to_string).collect(),
            backends: s.backends().into_iter().map(str::to_string).collect(),
            last_run_stored,
            last_run: s.last_run,
            last_success: s.last_success,
            next_run: s.next_run,
            running: s.running,
            failing_step: failing.as_ref().and_then(|r| r.failed_step.clone()),
            failing_backend: failing.as_ref().and_then(|r| r.failed_backend.clone()),
            failure_class: failing.and_then(|r| r.failure_class),
            locations: s.locations,
        }
    }
}

/// `?limit=N` on the runs listing.
#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    /// How many runs, newest first.
    pub limit: Option<usize>,
}

/// A JSON error response: `{"error": message}`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() });
    (status, Json(body)).into_response()
}

/// The 404 for a journey that is not on the board.
pub fn unknown_journey(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("unknown journey {name:?}"))
}

/// `GET /api/journeys`: every journey, by name; `?team=checkout&backend=auth`
/// keeps those with all these labels (see [`LabelFilter`]); `?group=team` groups
/// them as the status page does: `{"group": "team", "groups": [{"value": ..., "journeys": [...]}]}`.
pub async fn journeys(
    State(state): State<ServerState>,
    Query(query): Query<LabelFilter>,
) -> Response {
    let view = View::from_query(query);
    let journeys = view.filter.apply(state.board.snapshot());
    let Some(key) = &view.group else {
        let all: Vec<JourneyView> = journeys.into_iter().map(JourneyView::from).collect();
        return Json(all).into_response();
    };
    let groups: Vec<serde_json::Value> = eval_groups(&journeys, key)
        .into_iter()
        .map(|(value, js)| {
            let js: Vec<JourneyView> = js.into_iter().cloned().map(JourneyView::from).collect();
            serde_json::json!({ "value": value, "journeys": js })
        })
        .collect();
    Json(serde_json::json!({ "group": key, "groups": groups })).into_response()
}

/// `GET /api/journeys/{name}`.
pub async fn journey(State(state): State<ServerState>, Path(name): Path<String>) -> Response {
    match state.board.get(&name) {
        Some(s) => Json(JourneyView::from(s)).into_response(),
        None => unknown_journey(&name),
    }
}

/// `GET /api/journeys/{name}/runs?limit=N`: run summaries from the store, newest first.
pub async fn journey_runs(
    State(state): State<ServerState>,
    Path(name): Path<String>,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> Response {
    let limit = match query {
        Ok(Query(q)) => match eval_limit(q.limit) {
            Ok(limit) => limit,
            Err(message) => return error(StatusCode::BAD_REQUEST, message),
        },
        Err(_) => {
            let message = format!("limit must be a whole number from 1 to {MAX_RUNS_LIMIT}");
            return error(StatusCode::BAD_REQUEST, message);
        }
    };
    if state.board.get(&name).is_none() {
        return unknown_journey(&name);
    }
    match state.store.recent_runs(&name, limit).await {
        Ok(runs) => Json(runs).into_response(),
        Err(e) => store_error(&e),
    }
}

/// `GET /api/runs/{id}`: the full run, as the runner recorded it (already redacted).
pub async fn run(State(state): State<ServerState>, Path(id): Path<String>) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("malformed run id {id:?}: expected a UUID"),
        );
    };
    match state.store.get_run(id).await {
        Ok(Some(run)) => {
            let deploy = super::run_deploy::deploy_for_run(&state, &run).await;
            let mut body = serde_json::to_value(&run).unwrap_or_default();
            if let (Some(d), Some(map)) = (deploy, body.as_object_mut()) {
                map.insert("deploy".into(), serde_json::to_value(d).unwrap_or_default());
            }
            Json(body).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("unknown run {id}")),
        Err(e) => store_error(&e),
    }
}

/// The runs limit: default when absent, capped at [`MAX_RUNS_LIMIT`], at least 1.
pub fn eval_limit(limit: Option<usize>) -> Result<usize, String> {
    match limit {
        None => Ok(DEFAULT_RUNS_LIMIT),
        Some(0) => Err(format!(
            "limit must be a whole number from 1 to {MAX_RUNS_LIMIT}"
        )),
        Some(n) => Ok(n.min(MAX_RUNS_LIMIT)),
    }
}

/// A store failure is the daemon's problem, not the caller's: log it for the operator.
pub fn store_error(e: &crate::store::StoreError) -> Response {
    tracing::error!(error = %e, "Reading run history failed.");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("reading run history failed: {e}"),
    )
}

/// The 404 of `/fleet` and `/api/fleet` on a daemon without `fleet:`.
pub const NOT_IN_A_FLEET: &str =
    "this journeyd is not in a fleet (no `fleet:` in its configuration; docs/scaling.md)";

/// `GET /api/fleet`: replicas (all locations) with their heartbeat age, and
/// who holds each journey's lease with its term ([`crate::fleet::view`]).
/// 404 without a fleet; 503 when PostgreSQL cannot answer.
pub async fn fleet(State(state): State<ServerState>) -> Response {
    let Some(fleet) = &state.fleet else {
        return error(StatusCode::NOT_FOUND, NOT_IN_A_FLEET);
    };
    match crate::fleet::view::load(fleet).await {
        Ok(view) => Json(view).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "Cannot read the fleet's tables.");
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}
