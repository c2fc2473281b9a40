//! Server-rendered HTML for people: the status page (`/`), the run page
//! (`/runs/{id}`, its steps in [`step`]) and the fleet page (`/fleet`,
//! [`fleet`]). No external assets and no JavaScript: inline CSS and SVG,
//! readable on a phone, and every outside string escaped.

pub mod cleanups;
pub mod diagnostics;
pub mod fleet;
pub mod index;
pub mod layout;
pub mod obligations;
pub mod run;
pub mod step;
pub mod svg;
pub mod views;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::runner::{StepVerdict, Verdict};
use crate::status::board::JourneyState;
use layout::{Esc, document};

/// A 404 page.
pub fn not_found(title: &str, message: &str) -> Response {
    message_page(StatusCode::NOT_FOUND, title, message)
}

/// A page that only says what went wrong, with a way back.
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<section class=\"card\"><h2>{}</h2><p>{}</p><p><a href=\"/\">All journeys</a></p></section>",
        Esc(title),
        Esc(message)
    );
    (status, Html(document(title, None, &body))).into_response()
}

/// CSS-class and display name of a journey state.
pub fn state_name(state: JourneyState) -> &'static str {
    match state {
        JourneyState::Unknown => "unknown",
        JourneyState::Passing => "passing",
        JourneyState::Degraded => "degraded",
        JourneyState::Failing => "failing",
    }
}

/// CSS-class and display name of a run verdict.
pub fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
    }
}

/// CSS-class and display name of a step verdict.
pub fn step_verdict_name(verdict: StepVerdict) -> &'static str {
    match verdict {
        StepVerdict::Pass => "pass",
        StepVerdict::Fail => "fail",
        StepVerdict::Skipped => "skipped",
    }
}
