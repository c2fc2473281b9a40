//! Login for the contracts and app journeys (process `auth`): a password
//! login that hands out bearer tokens, and the extractor that checks them.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiError, JsonBody};
use super::faults::{Mode, Process};
use super::state::{App, new_id};

/// The auth routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/api/login", post(login))
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(
    State(app): State<Arc<App>>,
    JsonBody(req): JsonBody<Login>,
) -> Result<Json<Value>, ApiError> {
    if req.username.trim().is_empty() {
        return Err(ApiError::bad_request("username must not be empty"));
    }
    if req.password != app.config.password {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong username or password",
        ));
    }
    if app.faults.mode(Process::Auth) == Some(Mode::WrongData) {
        return Ok(Json(json!({"token": null})));
    }
    let token = new_id("t");
    app.store().tokens.insert(token.clone(), req.username);
    Ok(Json(json!({"token": token})))
}

/// The user behind the request's `Authorization: Bearer <token>`; 401 without a valid one.
#[derive(Debug)]
pub struct User(pub String);

impl FromRequestParts<Arc<App>> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let user = token.and_then(|t| app.store().tokens.get(t).cloned());
        user.map(User).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or unknown bearer token: POST /api/login first",
            )
        })
    }
}
