//! The admin endpoints: run a journey now, reload the configuration. Both ask
//! the daemon over the control channel and wait, with a bound, for its answer.

use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::oneshot;

use super::{ServerState, api, auth};
use crate::status::control::{Control, ReloadError, RunNowError};

/// How long run-now waits for the daemon to accept the run.
pub const RUN_NOW_TIMEOUT: Duration = Duration::from_secs(5);
/// How long reload waits: parsing and validating every journey takes longer than
/// starting one run.
pub const RELOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// `POST /api/journeys/{name}/run`: 202 when the run started.
pub async fn run_now(
    State(state): State<ServerState>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = auth::authorize(state.admin_token.as_deref(), &headers) {
        return denied.into_response();
    }
    // Checked after the token: an unauthenticated caller learns nothing from the name.
    let Ok(Path(name)) = name else {
        return api::error(
            StatusCode::BAD_REQUEST,
            "malformed journey name in the path",
        );
    };
    if state.board.get(&name).is_none() {
        return api::unknown_journey(&name);
    }
    let journey = name.clone();
    let reply = ask(&state, RUN_NOW_TIMEOUT, |reply| Control::RunNow {
        journey,
        reply,
    })
    .await;
    match reply {
        Ok(Ok(())) => {
            tracing::info!(journey = %name, "Run requested through the API.");
            let body = json!({"status": "started", "journey": name});
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Ok(Err(e)) => {
            let status = match e {
                // A reload may have removed the journey since the board was read.
                RunNowError::UnknownJourney(_) => StatusCode::NOT_FOUND,
                RunNowError::AlreadyRunning(_) => StatusCode::CONFLICT,
                RunNowError::SchedulerStopped => StatusCode::SERVICE_UNAVAILABLE,
            };
            api::error(status, e.to_string())
        }
        Err(unavailable) => unavailable,
    }
}

/// `POST /-/reload`: 200 with a summary, or 422 with every error (the old
/// configuration keeps running).
pub async fn reload(State(state): State<ServerState>, headers: HeaderMap) -> Response {
    if let Err(denied) = auth::authorize(state.admin_token.as_deref(), &headers) {
        return denied.into_response();
    }
    tracing::info!("Reload requested through the API.");
    match ask(&state, RELOAD_TIMEOUT, |reply| Control::Reload { reply }).await {
        Ok(Ok(summary)) => {
            let body = json!({"status": "reloaded", "summary": summary});
            (StatusCode::OK, Json(body)).into_response()
        }
        Ok(Err(ReloadError::Invalid(errors))) => {
            let body = json!({"status": "failed", "errors": errors});
            (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
        }
        Err(unavailable) => unavailable,
    }
}

/// Sends a request to the daemon and waits for the reply, both within `limit`
/// (the control queue is bounded, so sending can wait too). `Err` is the 503
/// to return when the daemon is gone or does not answer in time.
pub(super) async fn ask<T>(
    state: &ServerState,
    limit: Duration,
    make: impl FnOnce(oneshot::Sender<T>) -> Control,
) -> Result<T, Response> {
    let (tx, rx) = oneshot::channel();
    let exchange = async {
        state.control.send(make(tx)).await.ok()?;
        rx.await.ok()
    };
    match with_timeout(limit, exchange).await {
        Some(Some(reply)) => Ok(reply),
        Some(None) => Err(api::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon is shutting down",
        )),
        None => {
            tracing::warn!(
                timeout_seconds = limit.as_secs_f64(),
                "The daemon did not answer an admin request in time."
            );
            Err(api::error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the daemon did not answer within {}s", limit.as_secs()),
            ))
        }
    }
}

async fn with_timeout<T>(limit: Duration, f: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(limit, f).await.ok()
}
