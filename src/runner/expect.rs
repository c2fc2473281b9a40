//! Pure evaluation of expectations on a response.
//!
//! Every expectation is evaluated and every failure reported: on-call fixing a
//! broken step wants to see at once that the status *and* the order state are
//! wrong. Each [`Mismatch`] reads on its own: `$.status: expected eq "shipped",
//! got "paid"`.
//!
//! JSONPath predicates on a path selecting several nodes must hold for each of
//! them; the length predicates (`len`, `len_gt`, `len_lt`) then count the
//! selected nodes instead, so `$.items[*]` with `len: 3` means three items.
//!
//! By role: `json.rs` evaluates predicates, `header.rs` header checks (which
//! reuse the same predicates), `schema.rs` the JSON Schema check of a body.

use std::cell::OnceCell;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::result::Mismatch;
use crate::journey::model::{Expectation, StatusMatch};
use crate::journey::template::{Engine, Scope, TemplateError};
use header::eval_header;
use json::{describe, eval_json, render_predicate};
use schema::eval_schema;

/// How much of a body or JSON value a mismatch quotes, in characters.
const EXCERPT_CHARS: usize = 200;

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

impl<'a> ResponseView<'a> {
    /// Values of every header named `name` (case-insensitive), in order.
    pub fn header_values(&self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Evaluates every expectation and returns every mismatch (empty = all hold).
///
/// `Err` only when a template in an expectation cannot be rendered; a response
/// that fails the expectations is `Ok` with mismatches.
pub fn eval_expectations(
    expectations: &[Expectation],
    resp: &ResponseView<'_>,
    engine: &Engine,
    scope: &Scope,
) -> Result<Vec<Mismatch>, TemplateError> {
    // Decoded once, only if a body expectation needs it.
    let body_cell = OnceCell::new();
    let body = || body_cell.get_or_init(|| String::from_utf8_lossy(resp.body));
    let mut mismatches = Vec::new();
    for expectation in expectations {
        let found = match expectation {
            Expectation::Status(accepted) => eval_status(accepted, resp.status),
            Expectation::Header { name, check } => eval_header(name, check, resp, engine, scope)?,
            Expectation::BodyContains(t) => {
                let needle = engine.render(t, scope)?;
                (!body().contains(&needle)).then(|| {
                    mismatch(
                        "body",
                        format!("contains {}", quote(&needle)),
                        truncate(body()),
                    )
                })
            }
            Expectation::BodyMatches(re) => (!re.is_match(body()))
                .then(|| mismatch("body", format!("matches /{re}/"), truncate(body()))),
            Expectation::Json { query, predicate } => match resp.json {
                None => Some(mismatch(
                    &query.source,
                    describe(&*render_predicate(predicate, engine, scope)?),
                    "body is not JSON",
                )),
                Some(json) => {
                    let nodes = query.path.query_located(json);
                    let nodes: Vec<(String, &Value)> = nodes
                        .iter()
                        .map(|n| (n.location().to_string(), n.node()))
                        .collect();
                    eval_json(&query.source, &nodes, predicate, engine, scope)?
                }
            },
            Expectation::MaxDuration(max) => (resp.duration > *max).then(|| {
                mismatch(
                    "duration",
                    format!("≤ {}", format_duration(*max)),
                    format_duration(resp.duration),
                )
            }),
            Expectation::CertValidDays(days) => eval_cert(*days, resp),
            Expectation::BodySchema(schema) => {
                mismatches.extend(eval_schema(schema, resp));
                None
            }
        };
        mismatches.extend(found);
    }
    Ok(mismatches)
}

pub(super) fn mismatch(
    subject: &str,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> Mismatch {
    Mismatch {
        subject: subject.to_string(),
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// A mismatch when `status` is not in `accepted` (an empty list accepts anything).
pub(super) fn eval_status(accepted: &[StatusMatch], status: u16) -> Option<Mismatch> {
    // An empty list accepts anything: validation never produces one, and
    // failing every response would be a worse surprise.
    let holds = accepted.is_empty()
        || accepted.iter().any(|m| match *m {
            StatusMatch::Code(code) => code == status,
            StatusMatch::Class(class) => status / 100 == class,
        });
    if holds {
        return None;
    }
    let names: Vec<String> = accepted
        .iter()
        .map(|m| match *m {
            StatusMatch::Code(code) => code.to_string(),
            StatusMatch::Class(class) => format!("{class}xx"),
        })
        .collect();
    let expected = match names.as_slice() {
        [one] => one.clone(),
        many => format!("one of {}", many.join(", ")),
    };
    Some(mismatch("status", expected, status.to_string()))
}

fn eval_cert(days: u32, resp: &ResponseView<'_>) -> Option<Mismatch> {
    let expected = format!("valid for ≥ {days} days");
    let Some(not_after) = resp.cert_not_after else {
        return Some(mismatch(
            "certificate",
            expected,
            "no TLS certificate (plain HTTP)",
        ));
    };
    let left = not_after - resp.now;
    // Whole days only: a certificate with 6.9 days left does not have 7.
    if left.num_days() >= i64::from(days) && left > chrono::TimeDelta::zero() {
        return None;
    }
    let when = not_after.to_rfc3339_opts(SecondsFormat::Secs, true);
    let actual = if left <= chrono::TimeDelta::zero() {
        format!("expired {when} ({} days ago)", (-left).num_days())
    } else {
        format!("expires {when} ({} days)", left.num_days())
    };
    Some(mismatch("certificate", expected, actual))
}

/// A JSON value on one line.
pub(super) fn compact(value: &Value) -> String {
    value.to_string()
}

pub(super) fn compact_truncated(value: &Value) -> String {
    truncate(&compact(value))
}

/// A string as a JSON literal: `"shipped"`.
pub(super) fn quote(s: &str) -> String {
    Value::from(s).to_string()
}

/// A float without a useless `.0` (`gt 5`, `lt 0.5`).
pub(super) fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// The first [`EXCERPT_CHARS`] characters, with `…` when cut.
pub(super) fn truncate(s: &str) -> String {
    match s.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

pub use crate::units::format_duration;

mod header;
mod json;
mod schema;

pub use json::json_eq;

#[cfg(test)]
mod tests;
