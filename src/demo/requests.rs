//! Customer requests made in the app (process `app`) and the back office's
//! view of them: processing status and notifications (process `backoffice`).
//! Requests belong to the logged-in username.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::api::{ApiError, JsonBody};
use super::auth::User;
use super::faults::{Mode, Process};
use super::state::{Address, App, CustomerRequest, RequestStatus, Store, new_id, rfc3339};

/// The only request type the app offers.
pub const CHANGE_OF_ADDRESS: &str = "change_of_address";

/// The request routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/requests", post(create_request))
        .route(
            "/api/requests/{request_id}",
            get(get_request).delete(withdraw_request),
        )
        .route("/api/requests/{request_id}/processing", get(processing))
        .route("/api/notifications", get(notifications))
}

/// The text the back office sends once an address change is processed.
pub fn address_changed_message(address: &Address) -> String {
    format!(
        "Your address was changed to {}, {} {}.",
        address.street, address.postcode, address.city
    )
}

#[derive(Deserialize)]
struct NewRequest {
    #[serde(rename = "type")]
    kind: String,
    address: Address,
}

async fn create_request(
    State(app): State<Arc<App>>,
    User(user): User,
    JsonBody(req): JsonBody<NewRequest>,
) -> Result<Response, ApiError> {
    if req.kind != CHANGE_OF_ADDRESS {
        return Err(ApiError::bad_request(format!(
            "unknown request type {:?}; valid types: {CHANGE_OF_ADDRESS}",
            req.kind
        )));
    }
    let a = &req.address;
    if [&a.street, &a.postcode, &a.city]
        .iter()
        .any(|f| f.trim().is_empty())
    {
        return Err(ApiError::bad_request(
            "address.street, address.postcode and address.city must not be empty",
        ));
    }
    let request_id = new_id("r");
    let record = CustomerRequest {
        user,
        kind: req.kind,
        address: req.address,
        status: RequestStatus::Received,
        processed_at: None,
        notification: None,
        entered: Instant::now(),
    };
    app.store().requests.insert(request_id.clone(), record);
    let body = json!({"request_id": request_id, "status": "received"});
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

fn owned_request<'a>(
    store: &'a mut Store,
    user: &str,
    request_id: &str,
) -> Result<&'a mut CustomerRequest, ApiError> {
    store
        .requests
        .get_mut(request_id)
        .filter(|r| r.user == user)
        .ok_or_else(|| ApiError::not_found("request", request_id))
}

async fn get_request(
    State(app): State<Arc<App>>,
    User(user): User,
    Path(request_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let wrong = app.faults.mode(Process::App) == Some(Mode::WrongData);
    let mut store = app.store();
    let r = owned_request(&mut store, &user, &request_id)?;
    Ok(Json(json!({
        "request_id": request_id,
        "type": if wrong { "unknown" } else { r.kind.as_str() },
        "status": r.status.as_str(),
        "processed_at": r.processed_at.map(rfc3339),
    })))
}

async fn withdraw_request(
    State(app): State<Arc<App>>,
    User(user): User,
    Path(request_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = app.store();
    let r = owned_request(&mut store, &user, &request_id)?;
    if r.status != RequestStatus::Withdrawn {
        r.status = RequestStatus::Withdrawn;
        r.entered = Instant::now();
    }
    Ok(Json(
        json!({"request_id": request_id, "status": "withdrawn"}),
    ))
}

/// The back office's view of a request.
fn processing_status(r: &CustomerRequest) -> &'static str {
    match r.status {
        RequestStatus::Received => "queued",
        RequestStatus::Rejected => "rejected",
        _ if r.processed_at.is_some() => "processed",
        _ => "withdrawn",
    }
}

async fn processing(
    State(app): State<Arc<App>>,
    User(user): User,
    Path(request_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = app.store();
    let r = owned_request(&mut store, &user, &request_id)?;
    Ok(Json(json!({
        "request_id": request_id,
        "status": processing_status(r),
        "processed_at": r.processed_at.map(rfc3339),
    })))
}

#[derive(Deserialize)]
struct NotificationQuery {
    request_id: Option<String>,
}

async fn notifications(
    State(app): State<Arc<App>>,
    User(user): User,
    query: Result<Query<NotificationQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let Some(request_id) = query.0.request_id else {
        return Err(ApiError::bad_request(
            "query parameter request_id is required",
        ));
    };
    let mut store = app.store();
    let r = owned_request(&mut store, &user, &request_id)?;
    let items: Vec<Value> = r
        .notification
        .iter()
        .map(|n| {
            json!({
                "notification_id": n.id,
                "request_id": request_id,
                "channel": "email",
                "message": n.message,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}
