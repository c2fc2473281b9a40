//! On-failure diagnostics in the validated model: requests a journey (or a
//! step) declares under `diagnostics:` that run only when a step fails, to
//! show on-call what the back office, a queue or a status endpoint said at
//! that moment. They never change a verdict (see `runner/diagnostics.rs`).

use std::time::Duration;

use serde_json_path::JsonPath;

use super::model::{Location, RequestSpec};

/// At most this many diagnostics run per failed run (the failing step's
/// own, then the journey's); `journeyd check` rejects a step whose own plus
/// the journey's exceed it.
pub const MAX_DIAGNOSTICS_PER_RUN: usize = 5;

/// `timeout` of a diagnostic when it sets none: short, so a sick back-end
/// cannot hold the run (and its cleanup) for long.
pub const DEFAULT_DIAGNOSTIC_TIMEOUT: Duration = Duration::from_secs(2);

/// One diagnostic request.
#[derive(Debug, Clone)]
pub struct DiagnosticRequest {
    /// Name shown on the run page and in the alert (`back office order`).
    pub name: String,
    /// Where it is written.
    pub loc: Location,
    /// The request (journey `defaults` headers and redirects merged in).
    pub request: RequestSpec,
    /// Its own timeout (connect, headers and body).
    pub timeout: Duration,
    /// A JSONPath whose selection is kept as the short excerpt (`$.status`).
    pub excerpt: Option<DiagnosticExcerpt>,
    /// Variables its templates read: a journey-level diagnostic may read a capture
    /// that was never made (the run failed before it), and is then skipped.
    pub uses: Vec<String>,
}

/// The JSONPath of a diagnostic's `excerpt`.
#[derive(Debug, Clone)]
pub struct DiagnosticExcerpt {
    /// The path as written.
    pub source: String,
    /// The compiled path.
    pub path: JsonPath,
}
