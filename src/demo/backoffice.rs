//! The back office's view of an order (`GET /admin/orders/{order_id}`): what a
//! support agent sees, whichever customer owns the order: its status, how long
//! it has been in it, and where each background process stands. The shipped
//! purchase journey reads it as an on-failure diagnostic, so an alert about a
//! stuck shipment says what the back office saw at that moment. Like the rest of
//! `/admin`, it has no authentication (the demo listens on loopback) and no
//! injected faults.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::api::ApiError;
use super::faults::Process;
use super::state::{App, Order, OrderStatus, rfc3339};

/// The back-office routes, merged into `/admin`.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/admin/orders/{order_id}", get(show_order))
}

async fn show_order(
    State(app): State<Arc<App>>,
    Path(order_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let payment = process_state(&app, Process::Payment);
    let fulfillment = process_state(&app, Process::Fulfillment);
    let store = app.store();
    let o = store
        .orders
        .get(&order_id)
        .ok_or_else(|| ApiError::not_found("order", &order_id))?;
    Ok(Json(json!({
        "order_id": order_id,
        "status": o.status.as_str(),
        "in_status_seconds": (o.entered.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        "total_cents": o.total_cents,
        "paid_cents": o.paid_cents,
        "tracking_number": o.tracking_number,
        "processes": {
            "payment": stage(o, Stage::Payment, &payment),
            "fulfillment": stage(o, Stage::Fulfillment, &fulfillment),
        },
        "created_at": rfc3339(o.created_at),
        "updated_at": rfc3339(o.updated_at),
    })))
}

/// A worker as the back office sees it: `running`, or the fault in force.
fn process_state(app: &App, process: Process) -> String {
    match app.faults.mode(process) {
        Some(mode) => format!("{} (injected fault)", mode.as_str()),
        None => "running".to_string(),
    }
}

#[derive(Clone, Copy)]
enum Stage {
    Payment,
    Fulfillment,
}

/// Where one process stands for this order: `done`, `failed`, `waiting` (for the
/// step before it), or `in progress` with the worker's state.
fn stage(o: &Order, stage: Stage, worker: &str) -> String {
    let (done, failed, ready) = match stage {
        Stage::Payment => (
            o.paid_cents.is_some(),
            o.status == OrderStatus::PaymentDeclined,
            true,
        ),
        Stage::Fulfillment => (
            o.shipped,
            o.status == OrderStatus::Undeliverable,
            o.paid_cents.is_some(),
        ),
    };
    if done {
        "done".into()
    } else if failed {
        "failed".into()
    } else if o.status == OrderStatus::Cancelled {
        "cancelled".into()
    } else if !ready {
        "waiting".into()
    } else {
        format!("in progress, worker {worker}")
    }
}
