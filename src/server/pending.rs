//! Work that outlives runs, as the API and the status page show it: cleanup
//! still owed by runs that could not finish it (the status page's card is
//! `pages::cleanups`). Never the captured values it needs (they may be secret).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::ServerState;
use super::api::error;
use crate::store::PendingCleanup;

/// `GET /api/cleanups`.
#[derive(Debug, Serialize)]
pub struct CleanupsView {
    /// Owed cleanups, oldest first.
    pub pending: Vec<PendingCleanup>,
    /// Cleanups given up after the retention limit since journeyd started.
    pub abandoned_since_start: u64,
}

/// `GET /api/cleanups`: owed cleanups, oldest first, without their values.
pub async fn cleanups(State(state): State<ServerState>) -> Response {
    let Some(p) = &state.pending else {
        return Json(CleanupsView {
            pending: Vec::new(),
            abandoned_since_start: 0,
        })
        .into_response();
    };
    match p.cleanups().await {
        Ok(pending) => Json(CleanupsView {
            pending,
            abandoned_since_start: p.abandoned_total(),
        })
        .into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read owed cleanups: {e}"),
        ),
    }
}
