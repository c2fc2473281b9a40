//! Silences: hold notifications of matching alerts for a while (runs and
//! metrics go on). Listing is open; creating and expiring need the admin token.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{ServerState, api, auth};

/// Body of `POST /api/silences`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// Label equality matchers, e.g. `{"journey": "purchase"}`; at least one.
    pub matchers: BTreeMap<String, String>,
    /// How long, like `2h` (or give `ends_at`).
    #[serde(default)]
    pub duration: Option<String>,
    /// When it ends (RFC 3339).
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Who asked.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Why.
    #[serde(default)]
    pub comment: Option<String>,
}

fn unavailable() -> Response {
    api::error(StatusCode::SERVICE_UNAVAILABLE, "alerting is not running")
}

/// `GET /api/silences`: the active silences.
pub async fn list(State(state): State<ServerState>) -> Response {
    let Some(db) = state.alert_db.as_ref() else {
        return unavailable();
    };
    match db.active_silences(Utc::now()).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => api::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `POST /api/silences`: 201 with the new id.
pub async fn create(
    State(state): State<ServerState>,
    headers: HeaderMap,
    body: Result<Json<NewSilence>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(denied) = auth::authorize(state.admin_token.as_deref(), &headers) {
        return denied.into_response();
    }
    let Some(db) = state.alert_db.as_ref() else {
        return unavailable();
    };
    let Json(s) = match body {
        Ok(b) => b,
        Err(e) => return api::error(e.status(), e.body_text()),
    };
    if s.matchers.is_empty() {
        return api::error(
            StatusCode::BAD_REQUEST,
            "a silence needs at least one matcher, like {\"journey\": \"purchase\"}",
        );
    }
    let now = Utc::now();
    let ends_at = match (&s.duration, s.ends_at) {
        (Some(d), None) => {
            let range = crate::units::limits::SILENCE_DURATION;
            let end = crate::units::parse_duration_in(d, range)
                .map_err(|e| e.to_string())
                .and_then(|d| chrono::Duration::from_std(d).map_err(|e| e.to_string()))
                .and_then(|d| {
                    (now.checked_add_signed(d))
                        .ok_or_else(|| "the silence would never end".to_string())
                });
            match end {
                Ok(end) => end,
                Err(e) => {
                    return api::error(StatusCode::BAD_REQUEST, format!("{e} (like 30m or 2h)"));
                }
            }
        }
        (None, Some(end)) if end > now => end,
        _ => {
            return api::error(
                StatusCode::BAD_REQUEST,
                "give exactly one of `duration` and a future `ends_at`",
            );
        }
    };
    let by = s.created_by.unwrap_or_default();
    let comment = s.comment.unwrap_or_default();
    match db
        .add_silence(&s.matchers, now, ends_at, &by, &comment)
        .await
    {
        Ok(id) => {
            tracing::info!(id, created_by = %by, ends_at = %ends_at, "Silence created.");
            (
                StatusCode::CREATED,
                Json(json!({"id": id, "ends_at": ends_at})),
            )
                .into_response()
        }
        Err(e) => api::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `DELETE /api/silences/{id}`: expires it now. The id is parsed after the
/// token is checked, so an unauthenticated caller learns nothing from it.
pub async fn expire(
    State(state): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = auth::authorize(state.admin_token.as_deref(), &headers) {
        return denied.into_response();
    }
    let parsed = id.ok().and_then(|Path(id)| id.parse::<i64>().ok());
    let Some(id) = parsed else {
        return api::error(
            StatusCode::BAD_REQUEST,
            "malformed silence id: expected a whole number",
        );
    };
    let Some(db) = state.alert_db.as_ref() else {
        return unavailable();
    };
    match db.expire_silence(id, Utc::now()).await {
        Ok(true) => Json(json!({"status": "expired", "id": id})).into_response(),
        Ok(false) => api::error(StatusCode::NOT_FOUND, format!("no active silence {id}")),
        Err(e) => api::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
