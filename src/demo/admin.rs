//! The admin API that injects and removes faults. It has no authentication:
//! the demo is meant to listen on loopback only.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tracing::info;

use super::api::ApiError;
use super::faults::{DEFAULT_SLOW_DELAY, Fault, Mode, Process};
use super::state::App;

/// The longest `slow` delay accepted: one hour.
const MAX_DELAY_MS: u64 = 3_600_000;

/// The admin routes. `POST` is accepted as a synonym for `PUT`.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/faults", get(list_faults).delete(clear_all))
        .route(
            "/admin/faults/{process}",
            get(show_fault).put(inject).post(inject).delete(restore),
        )
        .route("/admin/traces", get(list_traces))
}

/// The `traceparent` headers received lately (see `traces`).
async fn list_traces(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({ "requests": app.traces.snapshot() }))
}

fn fault_json(fault: &Fault) -> Value {
    let delay_ms = fault.delay.map(|d| d.as_millis() as u64);
    json!({"mode": fault.mode.as_str(), "delay_ms": delay_ms})
}

async fn list_faults(State(app): State<Arc<App>>) -> Json<Value> {
    let faults: Map<String, Value> = app
        .faults
        .snapshot()
        .iter()
        .map(|(p, f)| (p.as_str().to_string(), fault_json(f)))
        .collect();
    Json(json!({"faults": faults}))
}

fn parse_process(name: &str) -> Result<Process, ApiError> {
    Process::parse(name).ok_or_else(|| {
        let valid: Vec<&str> = Process::ALL.iter().map(|p| p.as_str()).collect();
        ApiError::bad_request(format!(
            "unknown process {name:?}; valid processes: {}",
            valid.join(", ")
        ))
    })
}

fn parse_mode(process: Process, name: &str) -> Result<Mode, ApiError> {
    let supported = process.supported_modes();
    let valid: Vec<&str> = supported.iter().map(|m| m.as_str()).collect();
    let valid = valid.join(", ");
    match Mode::parse(name) {
        Some(mode) if supported.contains(&mode) => Ok(mode),
        Some(mode) => Err(ApiError::bad_request(format!(
            "process {process} has no worker, so it does not support mode {mode}; \
             valid modes for {process}: {valid}"
        ))),
        None => Err(ApiError::bad_request(format!(
            "unknown mode {name:?}; valid modes for {process}: {valid}"
        ))),
    }
}

async fn show_fault(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let process = parse_process(&name)?;
    let fault = app.faults.get(process).as_ref().map(fault_json);
    Ok(Json(json!({"process": process.as_str(), "fault": fault})))
}

#[derive(Deserialize)]
struct FaultRequest {
    mode: String,
    #[serde(default)]
    delay_ms: Option<u64>,
}

async fn inject(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let process = parse_process(&name)?;
    // Parsed by hand so an operator's curl works without a content-type header.
    let req: FaultRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "body must be {{\"mode\": \"...\", \"delay_ms\": 3000}}: {e}"
        ))
    })?;
    let mode = parse_mode(process, &req.mode)?;
    if req.delay_ms.is_some_and(|ms| ms > MAX_DELAY_MS) {
        return Err(ApiError::bad_request(format!(
            "delay_ms must be at most {MAX_DELAY_MS}"
        )));
    }
    // Only `slow` has a delay; a delay sent with another mode is ignored.
    let delay = (mode == Mode::Slow).then(|| {
        req.delay_ms
            .map_or(DEFAULT_SLOW_DELAY, Duration::from_millis)
    });
    let fault = Fault { mode, delay };
    app.faults.set(process, fault);
    info!(
        process = process.as_str(),
        mode = mode.as_str(),
        delay_ms = delay.map(|d| d.as_millis() as u64),
        "Fault injected."
    );
    let mut body = fault_json(&fault);
    body["process"] = json!(process.as_str());
    Ok(Json(body))
}

async fn restore(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let process = parse_process(&name)?;
    let removed = app.faults.clear(process);
    if let Some(fault) = removed {
        info!(
            process = process.as_str(),
            mode = fault.mode.as_str(),
            "Fault removed."
        );
    }
    Ok(Json(
        json!({"process": process.as_str(), "restored": removed.is_some()}),
    ))
}

async fn clear_all(State(app): State<Arc<App>>) -> Json<Value> {
    app.faults.clear_all();
    info!("All faults removed.");
    Json(json!({"faults": {}}))
}
