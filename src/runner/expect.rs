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

use std::borrow::Cow;
use std::cell::OnceCell;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::result::Mismatch;
use crate::journey::model::{Expectation, HeaderCheck, JsonType, Predicate, StatusMatch};
use crate::journey::template::{Engine, Scope, TemplateError};

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
            Expectation::Json {
                path_source,
                path,
                predicate,
            } => match resp.json {
                None => Some(mismatch(
                    path_source,
                    describe(&*render_predicate(predicate, engine, scope)?),
                    "body is not JSON",
                )),
                Some(json) => {
                    let nodes = path.query_located(json);
                    let nodes: Vec<(String, &Value)> = nodes
                        .iter()
                        .map(|n| (n.location().to_string(), n.node()))
                        .collect();
                    eval_json(path_source, &nodes, predicate, engine, scope)?
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
        };
        mismatches.extend(found);
    }
    Ok(mismatches)
}

fn mismatch(subject: &str, expected: impl Into<String>, actual: impl Into<String>) -> Mismatch {
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

fn eval_header(
    name: &str,
    check: &HeaderCheck,
    resp: &ResponseView<'_>,
    engine: &Engine,
    scope: &Scope,
) -> Result<Option<Mismatch>, TemplateError> {
    let values: Vec<&str> = resp.header_values(name).collect();
    // A repeated header passes when any of its values does.
    let (holds, expected) = match check {
        HeaderCheck::Equals(t) => {
            let want = engine.render(t, scope)?;
            (
                values.contains(&want.as_str()),
                format!("eq {}", quote(&want)),
            )
        }
        HeaderCheck::Matches(re) => (
            values.iter().any(|v| re.is_match(v)),
            format!("matches /{re}/"),
        ),
        HeaderCheck::Exists(true) => (!values.is_empty(), "present".to_string()),
        HeaderCheck::Exists(false) => (values.is_empty(), "absent".to_string()),
    };
    if holds {
        return Ok(None);
    }
    let actual = if values.is_empty() {
        "(absent)".to_string()
    } else {
        truncate(&values.join(", "))
    };
    Ok(Some(mismatch(&format!("header {name}"), expected, actual)))
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

/// The predicate with its template values (`eq: "{{ order_id }}"`) rendered.
fn render_predicate<'p>(
    predicate: &'p Predicate,
    engine: &Engine,
    scope: &Scope,
) -> Result<Cow<'p, Predicate>, TemplateError> {
    let render = |v| engine.render_json(v, scope);
    Ok(Cow::Owned(match predicate {
        Predicate::Eq(v) => Predicate::Eq(render(v)?),
        Predicate::Ne(v) => Predicate::Ne(render(v)?),
        Predicate::Contains(v) => Predicate::Contains(render(v)?),
        Predicate::OneOf(vs) => Predicate::OneOf(vs.iter().map(render).collect::<Result<_, _>>()?),
        other => return Ok(Cow::Borrowed(other)),
    }))
}

/// The `expected` text of a rendered predicate: `eq "shipped"`, `len_gt 0`.
fn describe(predicate: &Predicate) -> String {
    match predicate {
        Predicate::Eq(v) => format!("eq {}", compact(v)),
        Predicate::Ne(v) => format!("ne {}", compact(v)),
        Predicate::Gt(n) => format!("gt {}", number(*n)),
        Predicate::Gte(n) => format!("gte {}", number(*n)),
        Predicate::Lt(n) => format!("lt {}", number(*n)),
        Predicate::Lte(n) => format!("lte {}", number(*n)),
        Predicate::Contains(v) => format!("contains {}", compact(v)),
        Predicate::Matches(re) => format!("matches /{re}/"),
        Predicate::Exists(true) => "exists".to_string(),
        Predicate::Exists(false) => "does not exist".to_string(),
        Predicate::Len(n) => format!("len {n}"),
        Predicate::LenGt(n) => format!("len_gt {n}"),
        Predicate::LenLt(n) => format!("len_lt {n}"),
        Predicate::OneOf(vs) => {
            let items: Vec<String> = vs.iter().map(compact).collect();
            format!("one of [{}]", items.join(", "))
        }
        Predicate::Type(t) => format!("type {}", t.as_str()),
    }
}

/// Evaluates a JSONPath predicate on the selected `(location, value)` nodes.
fn eval_json(
    subject: &str,
    nodes: &[(String, &Value)],
    predicate: &Predicate,
    engine: &Engine,
    scope: &Scope,
) -> Result<Option<Mismatch>, TemplateError> {
    let predicate = render_predicate(predicate, engine, scope)?;
    let predicate = predicate.as_ref();
    let fail = |actual: String| Some(mismatch(subject, describe(predicate), actual));
    match (predicate, nodes) {
        (Predicate::Exists(true), []) => return Ok(fail("(no value at path)".to_string())),
        (Predicate::Exists(true), _) | (Predicate::Exists(false), []) => return Ok(None),
        (Predicate::Exists(false), [(_, v)]) => return Ok(fail(compact_truncated(v))),
        (Predicate::Exists(false), many) => {
            return Ok(fail(format!("{} values", many.len())));
        }
        (_, []) => return Ok(fail("(no value at path)".to_string())),
        (Predicate::Len(_) | Predicate::LenGt(_) | Predicate::LenLt(_), many) if many.len() > 1 => {
            return Ok(if len_holds(predicate, many.len()) {
                None
            } else {
                fail(format!("{} values", many.len()))
            });
        }
        _ => {}
    }
    for (location, value) in nodes {
        if let Err(why) = check(predicate, value) {
            let mut actual = compact_truncated(value);
            if let Some(why) = why {
                actual = format!("{actual} ({why})");
            }
            // Several nodes: say which one failed.
            if nodes.len() > 1 {
                actual = format!("{actual} at {location}");
            }
            return Ok(fail(actual));
        }
    }
    Ok(None)
}

/// `Ok` when `value` satisfies the (rendered) predicate; `Err(Some(why))` when
/// it cannot (wrong type), `Err(None)` when it simply does not.
fn check(predicate: &Predicate, value: &Value) -> Result<(), Option<Cow<'static, str>>> {
    let holds = match predicate {
        Predicate::Eq(want) => json_eq(value, want),
        Predicate::Ne(want) => !json_eq(value, want),
        Predicate::Contains(want) => return contains(value, want),
        Predicate::OneOf(options) => options.iter().any(|o| json_eq(value, o)),
        Predicate::Gt(_) | Predicate::Gte(_) | Predicate::Lt(_) | Predicate::Lte(_) => {
            // Numbers only: a numeric string is a different value in JSON.
            let Some(actual) = value.as_f64().filter(|_| value.is_number()) else {
                return Err(Some("not a number".into()));
            };
            match *predicate {
                Predicate::Gt(n) => actual > n,
                Predicate::Gte(n) => actual >= n,
                Predicate::Lt(n) => actual < n,
                Predicate::Lte(n) => actual <= n,
                _ => false,
            }
        }
        Predicate::Matches(re) => match value.as_str() {
            Some(s) => re.is_match(s),
            None => return Err(Some("not a string".into())),
        },
        Predicate::Len(_) | Predicate::LenGt(_) | Predicate::LenLt(_) => {
            let len = match value {
                Value::Array(a) => a.len(),
                Value::String(s) => s.chars().count(),
                Value::Object(o) => o.len(),
                _ => return Err(Some("has no length".into())),
            };
            if !len_holds(predicate, len) {
                return Err(Some(format!("length {len}").into()));
            }
            true
        }
        Predicate::Type(t) => json_type(value) == *t,
        // Decided on the node list by the caller.
        Predicate::Exists(_) => true,
    };
    if holds { Ok(()) } else { Err(None) }
}

fn len_holds(predicate: &Predicate, len: usize) -> bool {
    match predicate {
        Predicate::Len(n) => len == *n,
        Predicate::LenGt(n) => len > *n,
        Predicate::LenLt(n) => len < *n,
        _ => true,
    }
}

fn contains(value: &Value, want: &Value) -> Result<(), Option<Cow<'static, str>>> {
    let holds = match (value, want) {
        (Value::String(s), Value::String(w)) => s.contains(w.as_str()),
        // A captured number or bool looked for in a string: use its JSON text
        // (`contains: "{{ order_id }}"` where order_id is 42).
        (Value::String(s), Value::Number(_) | Value::Bool(_)) => s.contains(&want.to_string()),
        (Value::String(_), _) => {
            return Err(Some("a string cannot contain an array or object".into()));
        }
        (Value::Array(items), _) => items.iter().any(|item| json_eq(item, want)),
        _ => return Err(Some("not a string or array".into())),
    };
    if holds { Ok(()) } else { Err(None) }
}

/// JSON equality where numbers compare numerically (`1 == 1.0`), recursively.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            // Integers compare exactly; anything else as f64.
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn json_type(value: &Value) -> JsonType {
    match value {
        Value::Null => JsonType::Null,
        Value::Bool(_) => JsonType::Bool,
        Value::Number(_) => JsonType::Number,
        Value::String(_) => JsonType::String,
        Value::Array(_) => JsonType::Array,
        Value::Object(_) => JsonType::Object,
    }
}

/// A JSON value on one line.
fn compact(value: &Value) -> String {
    value.to_string()
}

fn compact_truncated(value: &Value) -> String {
    truncate(&compact(value))
}

/// A string as a JSON literal: `"shipped"`.
fn quote(s: &str) -> String {
    Value::from(s).to_string()
}

/// A float without a useless `.0` (`gt 5`, `lt 0.5`).
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// The first [`EXCERPT_CHARS`] characters, with `…` when cut.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

pub use crate::units::format_duration;

#[cfg(test)]
mod tests;
