//! The demo company's router: every handler module's routes, the health
//! check and the JSON fallbacks, in one place.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::api::ApiError;
use super::state::App;
use super::{admin, auth, backoffice, contracts, idempotency, requests, shop};

/// Every route of the demo company, before fault injection.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(shop::routes())
        .merge(auth::routes())
        .merge(contracts::routes())
        .merge(requests::routes())
        .merge(admin::routes())
        .merge(backoffice::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
        .layer(axum::middleware::from_fn_with_state(
            idempotency::Keys::default(),
            idempotency::replay,
        ))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this endpoint",
    )
}
