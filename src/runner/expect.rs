//! Pure evaluation of expectations on a response.
//! OWNER: helper C — stub, to be implemented.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::result::Mismatch;
use crate::journey::model::Expectation;
use crate::journey::template::{Engine, Scope, TemplateError};

/// What expectations and captures look at.
#[derive(Debug, Clone, Copy)]
pub struct ResponseView<'a> {
    /// Status code.
    pub status: u16,
    /// Headers, lower-case names.
    pub headers: &'a [(String, String)],
    /// Raw body.
    pub body: &'a [u8],
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<&'a serde_json::Value>,
    /// URL after redirects.
    pub final_url: &'a str,
    /// Duration of the request.
    pub duration: Duration,
    /// Peer certificate expiry.
    pub cert_not_after: Option<DateTime<Utc>>,
    /// The current time (for certificate checks).
    pub now: DateTime<Utc>,
}

/// Evaluates every expectation and returns every mismatch (empty = all hold).
pub fn eval_expectations(
    _expectations: &[Expectation],
    _resp: &ResponseView<'_>,
    _engine: &Engine,
    _scope: &Scope,
) -> Result<Vec<Mismatch>, TemplateError> {
    todo!()
}
