//! The result of a run: one [`JourneyRun`] feeds every consumer (CLI output,
//! store, metrics, alerts, API), so nothing downstream re-derives what the
//! runner already knows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a step failed. A small closed set: used verbatim as metric label,
/// alert label and API value through [`FailureClass::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The host name did not resolve.
    Dns,
    /// The TCP connection could not be established (refused, unreachable).
    Connect,
    /// The TLS handshake or certificate verification failed.
    Tls,
    /// No complete response within the step timeout (or the journey's).
    Timeout,
    /// The server closed or reset the connection before a complete response.
    ConnectionReset,
    /// Too many redirects, or a redirect loop.
    Redirect,
    /// The server answered something that is not valid HTTP.
    Protocol,
    /// The response status was not the expected one.
    HttpStatus,
    /// A status-independent expectation failed (JSON, header, body, duration, certificate).
    Assertion,
    /// A capture found nothing.
    Capture,
    /// The response body exceeded the configured cap.
    BodyTooLarge,
    /// The back-end process did not finish within `eventually.within`.
    BackendTimeout,
    /// The back-end process reached a terminal bad state (`fail_fast`).
    BackendFailed,
    /// A template could not be rendered (undefined variable, missing secret).
    Template,
}

impl FailureClass {
    /// Every class, for documentation and exhaustive metric initialisation.
    pub const ALL: [FailureClass; 14] = [
        FailureClass::Dns,
        FailureClass::Connect,
        FailureClass::Tls,
        FailureClass::Timeout,
        FailureClass::ConnectionReset,
        FailureClass::Redirect,
        FailureClass::Protocol,
        FailureClass::HttpStatus,
        FailureClass::Assertion,
        FailureClass::Capture,
        FailureClass::BodyTooLarge,
        FailureClass::BackendTimeout,
        FailureClass::BackendFailed,
        FailureClass::Template,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Dns => "dns",
            FailureClass::Connect => "connect",
            FailureClass::Tls => "tls",
            FailureClass::Timeout => "timeout",
            FailureClass::ConnectionReset => "connection_reset",
            FailureClass::Redirect => "redirect",
            FailureClass::Protocol => "protocol",
            FailureClass::HttpStatus => "http_status",
            FailureClass::Assertion => "assertion",
            FailureClass::Capture => "capture",
            FailureClass::BodyTooLarge => "body_too_large",
            FailureClass::BackendTimeout => "backend_timeout",
            FailureClass::BackendFailed => "backend_failed",
            FailureClass::Template => "template",
        }
    }
}

impl std::fmt::Display for FailureClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Verdict of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every step passed.
    Pass,
    /// A step failed.
    Fail,
}

/// Verdict of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepVerdict {
    /// Expectations held.
    Pass,
    /// The step failed; see `failure`.
    Fail,
    /// Not run (an earlier step failed, or a cleanup step lacked its variables).
    Skipped,
}

/// Time spent in each phase of the step's last request, in seconds, in the spirit of
/// blackbox_exporter's `probe_http_duration_seconds{phase}`. `connect` covers TCP and TLS.
/// Phases are zero when a pooled connection was reused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseTimings {
    /// DNS resolution.
    pub resolve: f64,
    /// TCP connect plus TLS handshake.
    pub connect: f64,
    /// From request sent (connection ready) to response headers.
    pub processing: f64,
    /// Reading the body.
    pub transfer: f64,
}

/// One failed expectation: what was wanted and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    /// What was checked (`status`, `$.status`, `header content-type`).
    pub subject: String,
    /// What was expected, human readable (`eq "shipped"`).
    pub expected: String,
    /// What the response had (`"paid"`).
    pub actual: String,
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The class (metric/alert label).
    pub class: FailureClass,
    /// One sentence for a person.
    pub message: String,
    /// Every failed expectation of the deciding attempt (empty for transport failures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<Mismatch>,
}

/// A redacted excerpt of the exchange, kept as evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The request as sent.
    pub request: RequestExcerpt,
    /// The response, when one arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseExcerpt>,
}

/// Request part of [`Evidence`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestExcerpt {
    /// Method.
    pub method: String,
    /// URL with query.
    pub url: String,
    /// Headers as sent, sensitive ones replaced by `***`.
    pub headers: Vec<(String, String)>,
    /// Body excerpt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// Response part of [`Evidence`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseExcerpt {
    /// Status code.
    pub status: u16,
    /// Headers, sensitive ones replaced by `***`.
    pub headers: Vec<(String, String)>,
    /// First bytes of the body (lossy UTF-8), with a note when truncated.
    pub body: String,
    /// True when `body` is shorter than what was received.
    pub truncated: bool,
}

/// Outcome of one step (or cleanup step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    /// Step name.
    pub name: String,
    /// Where the step is written, `file:line:col` (`journeys/purchase.yaml:12:5`), so a
    /// failure points at its source as a compiler error does. Absent in runs stored before
    /// it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Back-end process the step proves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Verdict.
    pub verdict: StepVerdict,
    /// Why it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// HTTP status of the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Wall time of the whole step (all attempts), seconds.
    pub duration_seconds: f64,
    /// Phases of the last attempt.
    pub timings: PhaseTimings,
    /// Number of attempts judged (more than one for `eventually`); requests sent are
    /// `attempts` plus the retries.
    pub attempts: u32,
    /// Requests sent again after a transient fault, by the class of that fault
    /// (`connect`, `connection_reset`, `timeout`, `http_status`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<FailureClass>,
    /// For `eventually` steps that passed: how long the back-end process took, seconds,
    /// from the first attempt to the passing response; for ones that failed with
    /// `backend_timeout`: how long it was watched (the completion histogram counts both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_completion_seconds: Option<f64>,
    /// Peer certificate expiry, HTTPS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_not_after: Option<DateTime<Utc>>,
    /// Passed, but slower than its warning threshold.
    #[serde(default)]
    pub degraded: bool,
    /// Names of the variables captured (values are never stored here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captured: Vec<String>,
    /// On failure, why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Redacted excerpt of the last exchange (always kept on failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// W3C trace id the step's requests carried in `traceparent` (absent when its
    /// host is not traced, or tracing is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Span id of the step's last request, the parent of the back-end's spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// When the step started. In memory only (not stored, not in the API): the
    /// OTLP export (`trace_export`) needs it for the step's span.
    #[serde(skip)]
    pub started_at: Option<DateTime<Utc>>,
    /// Every attempt, in order. In memory only, like `started_at`: one span each
    /// in the OTLP export, with the span id its `traceparent` carried.
    #[serde(skip)]
    pub attempt_spans: Vec<AttemptSpan>,
    /// On failure, what the step's and the journey's `diagnostics` requests gave
    /// (evidence only: they never change the verdict).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<DiagnosticResult>,
    /// A `durable` step whose back-end had not finished at the run's poll: the step
    /// passes as *pending* and the daemon watches it as an obligation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligation: Option<PendingObligation>,
}

/// One attempt of a step, as the OTLP export shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptSpan {
    /// The span id sent in `traceparent` (none when the host is not traced).
    pub span_id: Option<String>,
    /// When the attempt started.
    pub started_at: DateTime<Utc>,
    /// Wall time of its (last) request, seconds.
    pub duration_seconds: f64,
    /// HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// Why it failed; `None` when it passed.
    pub class: Option<FailureClass>,
}

/// The state of a durable step the run left pending (see `daemon::obligation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingObligation {
    /// Always `pending` in a run; the obligation's end is reported by the daemon.
    pub state: String,
    /// The back-end must have finished by then, else the obligation is breached.
    pub deadline: DateTime<Utc>,
    /// The daemon persisted it and polls it; `false` under `once` and `test`, where
    /// nobody watches it after the run.
    pub watched: bool,
    /// Obligation id (`GET /api/obligations`), when watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<uuid::Uuid>,
    /// Why the poll did not pass yet (redacted), e.g. the first unmet expectation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl StepOutcome {
    /// A step that did not run.
    pub fn skipped(name: &str, backend: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            source: None,
            backend: backend.map(str::to_string),
            verdict: StepVerdict::Skipped,
            skip_reason: Some(reason.into()),
            http_status: None,
            duration_seconds: 0.0,
            timings: PhaseTimings::default(),
            attempts: 0,
            retries: Vec::new(),
            backend_completion_seconds: None,
            cert_not_after: None,
            degraded: false,
            captured: Vec::new(),
            failure: None,
            evidence: None,
            trace_id: None,
            span_id: None,
            started_at: None,
            attempt_spans: Vec::new(),
            diagnostics: Vec::new(),
            obligation: None,
        }
    }

    /// A step that failed before sending anything (no HTTP client, no fresh log-in,
    /// journey gone): class `template`, with `message` saying why.
    pub fn not_sent(name: &str, backend: Option<&str>, message: impl Into<String>) -> Self {
        let mut o = Self::skipped(name, backend, "");
        o.skip_reason = None;
        o.verdict = StepVerdict::Fail;
        o.failure = Some(Failure {
            class: FailureClass::Template,
            message: message.into(),
            mismatches: Vec::new(),
        });
        o
    }
}

impl PendingObligation {
    /// Pending from now until `within` has passed; not watched until a daemon takes it.
    pub fn starting_now(within: std::time::Duration) -> Self {
        let within = chrono::Duration::from_std(within).unwrap_or(chrono::Duration::MAX);
        let now = Utc::now();
        PendingObligation {
            state: "pending".to_string(),
            deadline: now.checked_add_signed(within).unwrap_or(now),
            watched: false,
            id: None,
            reason: None,
        }
    }
}

/// One execution of a journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyRun {
    /// Unique run id.
    pub run_id: uuid::Uuid,
    /// Journey name.
    pub journey: String,
    /// Wall-clock start.
    pub started_at: DateTime<Utc>,
    /// Duration of steps and cleanup, seconds.
    pub duration_seconds: f64,
    /// Pass or fail (cleanup never changes it).
    pub verdict: Verdict,
    /// At least one step passed slower than its warning threshold.
    #[serde(default)]
    pub degraded: bool,
    /// Values captured during the run (order ids and the like, for on-call), truncated;
    /// captures marked secret show as `***`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub captures: std::collections::BTreeMap<String, String>,
    /// Steps in order; those after a failure are `skipped`.
    pub steps: Vec<StepOutcome>,
    /// Cleanup steps in order.
    pub cleanup: Vec<StepOutcome>,
    /// The run's W3C trace id (one trace per run), when tracing is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl JourneyRun {
    /// The first failed step, the one on-call needs.
    pub fn failed_step(&self) -> Option<&StepOutcome> {
        self.steps.iter().find(|s| s.verdict == StepVerdict::Fail)
    }
}

/// The one-line view of a run: what lists, strips and alerts need without the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub run_id: uuid::Uuid,
    /// Journey name.
    pub journey: String,
    /// Wall-clock start.
    pub started_at: DateTime<Utc>,
    /// Duration, seconds.
    pub duration_seconds: f64,
    /// Pass or fail.
    pub verdict: Verdict,
    /// Passed but slow.
    pub degraded: bool,
    /// The failing step, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<String>,
    /// Its backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_backend: Option<String>,
    /// Its failure class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_class: Option<FailureClass>,
    /// Its failure message (redacted like everything in a run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

impl JourneyRun {
    /// The summary of this run.
    pub fn summary(&self) -> RunSummary {
        let failed = self.failed_step();
        RunSummary {
            run_id: self.run_id,
            journey: self.journey.clone(),
            started_at: self.started_at,
            duration_seconds: self.duration_seconds,
            verdict: self.verdict,
            degraded: self.degraded,
            failed_step: failed.map(|s| s.name.clone()),
            failed_backend: failed.and_then(|s| s.backend.clone()),
            failure_class: failed.and_then(|s| s.failure.as_ref().map(|f| f.class)),
            failure_message: failed.and_then(|s| s.failure.as_ref().map(|f| f.message.clone())),
        }
    }
}

/// What one diagnostic request gave (already redacted when it leaves the runner).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiagnosticResult {
    /// The diagnostic's name.
    pub name: String,
    /// Where it is written, `file:line:col`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Method sent.
    pub method: String,
    /// URL sent (with query), redacted.
    pub url: String,
    /// Response status, when a response arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Wall time of the request, seconds.
    pub duration_seconds: f64,
    /// The `excerpt` JSONPath's selection as JSON text, or the start of the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    /// The first bytes of the response body (lossy UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// True when `body` is shorter than what was received.
    #[serde(default)]
    pub truncated: bool,
    /// Why the request gave no usable answer (`timeout: ...`); never a verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it was not sent (a variable the run never captured, the run's deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// W3C trace id the request carried, when its host is traced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl DiagnosticResult {
    /// One line for a person or an alert: `back office order: 200 "paid"`.
    pub fn line(&self) -> String {
        let what = if let Some(s) = &self.skip_reason {
            format!("skipped ({s})")
        } else if let Some(e) = &self.error {
            e.clone()
        } else {
            let status = self.status.map(|s| s.to_string()).unwrap_or_default();
            match &self.excerpt {
                Some(x) => format!("{status} {}", one_line(x)),
                None => status,
            }
        };
        format!("{}: {}", self.name, what.trim())
    }
}

/// `a\n  b` as `a b`: excerpts go into one-line alert annotations.
pub(super) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs stored before steps carried their source still load; new ones keep it.
    #[test]
    fn step_source_is_optional_in_stored_json() {
        let old = r#"{"name":"checkout","verdict":"fail","duration_seconds":0.5,
            "timings":{"resolve":0.0,"connect":0.0,"processing":0.5,"transfer":0.0},
            "attempts":1}"#;
        let step: StepOutcome = serde_json::from_str(old).unwrap();
        assert_eq!(step.source, None);
        let mut new = step;
        new.source = Some("journeys/purchase.yaml:12:5".into());
        let json = serde_json::to_value(&new).unwrap();
        assert_eq!(json["source"], "journeys/purchase.yaml:12:5");
        let back: StepOutcome = serde_json::from_value(json).unwrap();
        assert_eq!(back, new);
    }
}
