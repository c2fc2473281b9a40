//! `/metrics`, `/healthz` and `/readyz`.
//!
//! Liveness is the scheduler loop's heartbeat, not "the HTTP server answers": a
//! daemon whose scheduler is stuck serves pages happily while nothing runs, and
//! that is exactly the state a supervisor should restart.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ServerState;

/// The scheduler is considered stuck when it has not ticked for this long, seconds.
pub const MAX_TICK_AGE_SECONDS: f64 = 30.0;

/// The content type docs/api.md promises for `/metrics` (the encoder's own
/// format type omits the charset).
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`: the Prometheus text exposition.
pub async fn metrics(State(state): State<ServerState>) -> Response {
    // Queue gauges are read at scrape time so they are current whatever the
    // scheduler is doing.
    state.metrics.observe_store(&state.store.status());
    state
        .metrics
        .set_fds(super::limits::open_fds(), super::limits::nofile_limit());
    // Streamed chunk by chunk: 10,000 journeys are about 35 MiB of text, which would
    // otherwise sit in memory whole for the length of the scrape.
    let metrics = state.metrics.clone();
    let chunks = futures_util::stream::unfold(
        (metrics, crate::metrics::Cursor::default()),
        |(metrics, mut cursor)| async move {
            let chunk = metrics.render_chunk(&mut cursor)?;
            Some((Ok::<_, std::convert::Infallible>(chunk), (metrics, cursor)))
        },
    );
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

/// `GET /healthz`: 200 while the scheduler ticks and no long-lived task died,
/// 503 with a reason otherwise.
pub async fn healthz(State(state): State<ServerState>) -> Response {
    if let Some(why) = state.health.failed() {
        let body = json!({"status": "unhealthy", "reason": why});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let (status, mut body) = eval_liveness(state.health.since_tick());
    // A database that cannot be written degrades journeyd but does not make it
    // unhealthy: restarting would not free the disk, and monitoring goes on.
    body["store"] = store_health(&state);
    (status, Json(body)).into_response()
}

/// `{"run_history": "up"|"degraded", "alerts": ...}`, and why when degraded.
fn store_health(state: &ServerState) -> Value {
    let history = state.store.is_up();
    let alerts = state
        .alert_db
        .as_ref()
        .is_none_or(crate::alert::outbox::AlertDb::is_healthy);
    let name = |up: bool| if up { "up" } else { "degraded" };
    let mut v = json!({"run_history": name(history), "alerts": name(alerts)});
    if !(history && alerts) {
        v["reason"] = json!(
            "a database in state_dir cannot be written (disk full?): journeys run and alert from \
             memory, runs are not stored; it recovers by itself when space returns"
        );
    }
    v
}

/// `GET /readyz`: 200 once configuration is loaded and the store is open.
pub async fn readyz(State(state): State<ServerState>) -> Response {
    if state.health.is_ready() {
        (StatusCode::OK, Json(json!({"status": "ready"}))).into_response()
    } else {
        let reason = if state.health.is_stopping() {
            "shutting down: running journeys are finishing, no new runs start"
        } else {
            "configuration not loaded or store not open yet"
        };
        let body = json!({"status": "not_ready", "reason": reason});
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}

/// Liveness from the age of the scheduler's last tick.
pub fn eval_liveness(since_tick: Option<f64>) -> (StatusCode, Value) {
    match since_tick {
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({
                "status": "unhealthy",
                "reason": "the scheduler has not started yet",
                "scheduler_tick_age_seconds": null,
            }),
        ),
        Some(age) if age < MAX_TICK_AGE_SECONDS => (
            StatusCode::OK,
            json!({"status": "ok", "scheduler_tick_age_seconds": age}),
        ),
        Some(age) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({
                "status": "unhealthy",
                "reason": format!(
                    "the scheduler is stuck: last tick {age:.1}s ago (limit {MAX_TICK_AGE_SECONDS}s)"
                ),
                "scheduler_tick_age_seconds": age,
            }),
        ),
    }
}
