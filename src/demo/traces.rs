//! The demo company's trace log: the W3C `traceparent` and `tracestate` of the
//! last requests it received, so a test (or a person following the README) can
//! check that the trace id in journeyd's output and alerts is the one the
//! back-end saw. Kept in memory, capped; `GET /admin/traces` (in `admin`)
//! lists it, oldest first.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// Requests remembered; older ones are dropped.
const KEEP: usize = 1000;

/// One request that carried a `traceparent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TracedRequest {
    /// Method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// The `traceparent` header as received.
    pub traceparent: String,
    /// The `tracestate` header, when sent.
    pub tracestate: Option<String>,
}

/// The capped log of traced requests.
#[derive(Debug, Default)]
pub struct TraceLog(Mutex<VecDeque<TracedRequest>>);

impl TraceLog {
    /// Records a request if it carries a `traceparent`.
    pub fn record<B>(&self, req: &axum::extract::Request<B>) {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let Some(traceparent) = header("traceparent") else {
            return;
        };
        tracing::debug!(path = req.uri().path(), traceparent, "Traced request.");
        let entry = TracedRequest {
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            traceparent,
            tracestate: header("tracestate"),
        };
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() >= KEEP {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// Every remembered request, oldest first.
    pub fn snapshot(&self) -> Vec<TracedRequest> {
        let log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().cloned().collect()
    }
}
