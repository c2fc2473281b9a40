//! Every error under `/api/` is JSON (`{"error": "..."}`), including the ones
//! axum answers before a handler runs: 405 for a wrong method (empty body),
//! path, query and body rejections (`text/plain`), 413 and the like. A script
//! then never has to parse a plain-text or empty error body.
//!
//! Handlers already answer their own errors with [`api::error`]; this layer only
//! rewrites error responses that are not JSON yet, keeping their status and
//! headers (`Allow` on a 405, `WWW-Authenticate` on a 401).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::api;

/// The most of a rejection's plain-text body kept as the message; rejections
/// are one short sentence, so a longer body is cut rather than buffered.
const MAX_MESSAGE_BYTES: usize = 4096;

/// True for paths served by the JSON API.
pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Middleware (for `axum::middleware::from_fn`): JSON bodies for API errors.
pub async fn layer(request: Request, next: Next) -> Response {
    if !is_api(request.uri().path()) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_MESSAGE_BYTES).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let message = if !text.is_empty() {
        text
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts
            .headers
            .get(ALLOW)
            .and_then(|v| v.to_str().ok())
            .map(|a| format!("; allowed: {a}"))
            .unwrap_or_default();
        format!("method {method} is not allowed on {path}{allowed}")
    } else {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_ascii_lowercase()
    };
    let json = api::error(status, message);
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let (_, body) = json.into_parts();
    Response::from_parts(parts, Body::new(body))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
