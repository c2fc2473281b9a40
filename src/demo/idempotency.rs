//! `Idempotency-Key` on the demo's POST endpoints, as payment APIs do it: the first
//! successful answer to a key is remembered and a repeated request with the same key
//! gets it again without running twice. This is what makes a retried POST safe, so
//! the shipped journeys send a key and journeyd retries their POSTs after a blip.
//!
//! Only 2xx answers are remembered (a failed request may be tried again for real),
//! at most [`CAPACITY`] keys, oldest forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, Response, StatusCode};
use axum::middleware::Next;
use axum::response::IntoResponse;
use bytes::Bytes;

/// Keys remembered at most.
pub const CAPACITY: usize = 10_000;
/// Bodies larger than this are not remembered (the demo's are tiny).
const MAX_BODY: usize = 256 * 1024;

/// A remembered answer.
#[derive(Clone)]
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Bytes,
}

/// Answers by key, and the keys oldest first (to forget them in order).
type Remembered = (HashMap<String, Answer>, VecDeque<String>);

/// The remembered answers, by key.
#[derive(Clone, Default)]
pub struct Keys(Arc<Mutex<Remembered>>);

impl Keys {
    fn get(&self, key: &str) -> Option<Answer> {
        let guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        guard.0.get(key).cloned()
    }

    fn put(&self, key: String, answer: Answer) {
        let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (map, order) = &mut *guard;
        if map.insert(key.clone(), answer).is_none() {
            order.push_back(key);
        }
        while order.len() > CAPACITY {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }
}

/// The middleware: replays the remembered answer of a POST's `Idempotency-Key`.
pub async fn replay(State(keys): State<Keys>, req: Request, next: Next) -> Response<Body> {
    let key = (req.method() == Method::POST)
        .then(|| req.headers().get("idempotency-key"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(key) = key else {
        return next.run(req).await;
    };
    if let Some(a) = keys.get(&key) {
        let mut resp = (a.status, a.body).into_response();
        *resp.headers_mut() = a.headers;
        resp.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
        return resp;
    }
    let resp = next.run(req).await;
    if !resp.status().is_success() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    match to_bytes(body, MAX_BODY).await {
        Ok(body) => {
            keys.put(
                key,
                Answer {
                    status: parts.status,
                    headers: parts.headers.clone(),
                    body: body.clone(),
                },
            );
            Response::from_parts(parts, Body::from(body))
        }
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "response too large to remember",
        )
            .into_response(),
    }
}
