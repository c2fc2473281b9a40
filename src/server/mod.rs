//! The HTTP server: `/metrics` for Prometheus, `/healthz` and `/readyz` for the
//! service manager, a JSON API, two admin endpoints, and a server-rendered
//! status page for on-call.
//!
//! Every route reads shared state ([`ServerState`]); nothing here computes what
//! the runner, the store or the metrics registry already did. Routes and JSON
//! shapes are documented in `docs/api.md`.
//!
//! - [`health`]: `/metrics`, `/healthz`, `/readyz`.
//! - [`api`]: read-only JSON API.
//! - [`admin`]: `POST` endpoints (run now, reload), guarded by [`auth`].
//! - [`deploys`]: record a deploy and run the journeys it touched.
//! - [`pages`]: the HTML status page, run page and fleet page.
//! - [`json_errors`]: every error under `/api/` is `{"error": "..."}` JSON.
//! - [`run_deploy`]: the deploy a run started after, for the run page and its JSON.

pub mod admin;
pub mod api;
pub mod auth;
pub mod deploys;
pub mod filter;
pub mod headers;
pub mod health;
pub mod json_errors;
pub mod limits;
pub mod listener;
pub mod pages;
pub mod pending;
pub mod run_deploy;
pub mod silences;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::status::board::StatusBoard;
use crate::status::control::{Control, Health};
use crate::store::Store;

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
    /// Journey states.
    pub board: Arc<StatusBoard>,
    /// Run history.
    pub store: Store,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Requests to the daemon.
    pub control: mpsc::Sender<Control>,
    /// Bearer token for POST endpoints; they are disabled when None.
    pub admin_token: Option<String>,
    /// Liveness/readiness.
    pub health: Arc<Health>,
    /// Alert database (silences); None when alerting is not running.
    pub alert_db: Option<crate::alert::outbox::AlertDb>,
    /// Work that outlives runs (owed cleanup); None when its table cannot be opened.
    pub pending: Option<crate::store::PendingWork>,
    /// `alerting.deploy_window`: a run that starts this soon after a deploy
    /// touching its journey names it ([`run_deploy`]).
    pub deploy_window: std::time::Duration,
    /// This replica's fleet (`/fleet`, `/api/fleet`); None when not in one.
    pub fleet: Option<Arc<crate::fleet::Fleet>>,
}

/// Serves until `shutdown` completes, then stops accepting connections and
/// waits for requests in flight to finish (idle keep-alive connections are
/// closed). Callers that need a hard deadline wrap this future in a timeout.
/// Connections are bounded by `limits` (see [`listener`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ServerState,
    limits: limits::Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let metrics = state.metrics.clone();
    listener::run(listener, router(state), limits, metrics, shutdown).await
}

/// Every route, with its state.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/", get(pages::index::page))
        .route("/runs/{id}", get(pages::run::page))
        .route("/fleet", get(pages::fleet::page))
        .route("/api/fleet", get(api::fleet))
        .route("/metrics", get(health::metrics))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/journeys", get(api::journeys))
        .route("/api/journeys/{name}", get(api::journey))
        .route("/api/journeys/{name}/runs", get(api::journey_runs))
        .route("/api/journeys/{name}/run", post(admin::run_now))
        .route("/api/runs/{id}", get(api::run))
        .route("/api/cleanups", get(pending::cleanups))
        .route("/api/obligations", get(pending::obligations))
        .route("/-/reload", post(admin::reload))
        .route("/api/silences", get(silences::list).post(silences::create))
        .route(
            "/api/deploys",
            get(deploys::list)
                .post(deploys::create)
                .layer(axum::extract::DefaultBodyLimit::max(
                    deploys::MAX_BODY_BYTES,
                )),
        )
        .route(
            "/api/silences/{id}",
            axum::routing::delete(silences::expire),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn(json_errors::layer))
        .layer(axum::middleware::map_response(headers::add))
        .with_state(state)
}

/// Unknown routes: JSON for API clients, a page for people.
async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    if json_errors::is_api(path) {
        api::error(StatusCode::NOT_FOUND, format!("no route for {path}"))
    } else {
        pages::not_found("Page not found", "There is no page at this address.").into_response()
    }
}
