//! Work that outlives runs, as the API and the status page show it: cleanup
//! still owed by runs that could not finish it (the status page's card is
//! `pages::cleanups`) and obligations of durable steps (`pages::obligations`).
//! Never the captured values they need (they may be secret).

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

/// One obligation as `GET /api/obligations` shows it: never its values, and of
/// each poll only its time, status and why it did not pass.
#[derive(Debug, Serialize)]
pub struct ObligationView {
    /// Obligation id.
    pub id: uuid::Uuid,
    /// The run that left it.
    pub run_id: uuid::Uuid,
    /// Journey name.
    pub journey: String,
    /// The durable step.
    pub step: String,
    /// Its back-end.
    pub backend: Option<String>,
    /// `pending`, `fulfilled`, `failed` or `breached`.
    pub state: crate::store::ObligationState,
    /// The run's poll.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Breached after this.
    pub deadline: chrono::DateTime<chrono::Utc>,
    /// Next poll (pending only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_poll_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Polls so far, the run's included.
    pub polls: u32,
    /// The run's poll, in one line (redacted).
    pub first_poll: String,
    /// The latest poll, in one line (redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_poll: Option<String>,
}

impl From<crate::store::ObligationRow> for ObligationView {
    fn from(r: crate::store::ObligationRow) -> Self {
        let pending = r.state == crate::store::ObligationState::Pending;
        ObligationView {
            id: r.id,
            run_id: r.run_id,
            journey: r.journey,
            step: r.step,
            backend: r.backend,
            state: r.state,
            created_at: r.created_at,
            deadline: r.deadline,
            next_poll_at: pending.then_some(r.next_poll_at),
            finished_at: r.finished_at,
            polls: r.polls,
            first_poll: crate::runner::poll_summary(&r.first_poll),
            last_poll: r.last_poll.as_ref().map(crate::runner::poll_summary),
        }
    }
}

/// `GET /api/obligations`.
#[derive(Debug, Serialize)]
pub struct ObligationsView {
    /// Pending obligations, newest first, then the ones finished in the last week.
    pub obligations: Vec<ObligationView>,
}

/// Obligations listed at most (pending ones first).
const OBLIGATIONS_LISTED: usize = 500;

/// `GET /api/obligations`: pending obligations first, then the recently finished, without values.
pub async fn obligations(State(state): State<ServerState>) -> Response {
    let Some(p) = &state.pending else {
        return Json(ObligationsView {
            obligations: Vec::new(),
        })
        .into_response();
    };
    match p.obligations(OBLIGATIONS_LISTED).await {
        Ok(rows) => Json(ObligationsView {
            obligations: rows.into_iter().map(ObligationView::from).collect(),
        })
        .into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read obligations: {e}"),
        ),
    }
}
