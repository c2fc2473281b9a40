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

fn eval_status(accepted: &[StatusMatch], status: u16) -> Option<Mismatch> {
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
mod tests {
    use regex::Regex;
    use serde_json::json;
    use serde_json_path::JsonPath;

    use super::*;
    use crate::journey::model::Template;

    /// Owns what a [`ResponseView`] borrows.
    struct Resp {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        json: Option<Value>,
        duration: Duration,
        cert: Option<DateTime<Utc>>,
    }

    impl Resp {
        fn json(v: Value) -> Self {
            Self {
                status: 200,
                headers: vec![
                    (
                        "content-type".into(),
                        "application/json; charset=utf-8".into(),
                    ),
                    ("set-cookie".into(), "a=1".into()),
                    ("set-cookie".into(), "b=2".into()),
                ],
                body: v.to_string().into_bytes(),
                json: Some(v),
                duration: Duration::from_millis(120),
                cert: None,
            }
        }

        fn text(body: &str) -> Self {
            Self {
                body: body.as_bytes().to_vec(),
                json: None,
                ..Self::json(Value::Null)
            }
        }

        fn view(&self) -> ResponseView<'_> {
            ResponseView {
                status: self.status,
                headers: &self.headers,
                body: &self.body,
                json: self.json.as_ref(),
                final_url: "https://shop.test/",
                duration: self.duration,
                cert_not_after: self.cert,
                now: at("2026-11-25T00:00:00Z"),
            }
        }
    }

    fn at(ts: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(ts)
            .expect("timestamp")
            .with_timezone(&Utc)
    }

    fn scope() -> Scope {
        let mut s = Scope::default();
        s.vars.insert("order_id".into(), json!(42));
        s.vars.insert("sku".into(), json!("sku-1"));
        s
    }

    fn eval(exps: &[Expectation], resp: &Resp) -> Vec<Mismatch> {
        eval_expectations(exps, &resp.view(), &Engine::new(), &scope()).expect("templates render")
    }

    /// The single mismatch of one expectation as `(expected, actual)`, or `None`.
    fn one(exp: Expectation, resp: &Resp) -> Option<(String, String)> {
        let mut found = eval(&[exp], resp);
        assert!(found.len() <= 1, "{found:?}");
        found.pop().map(|m| (m.expected, m.actual))
    }

    fn json_exp(path: &str, predicate: Predicate) -> Expectation {
        Expectation::Json {
            path_source: path.to_string(),
            path: JsonPath::parse(path).expect("path"),
            predicate,
        }
    }

    fn re(s: &str) -> Regex {
        Regex::new(s).expect("regex")
    }

    fn pair(expected: &str, actual: &str) -> Option<(String, String)> {
        Some((expected.to_string(), actual.to_string()))
    }

    #[test]
    fn status_mismatch_says_what_was_accepted() {
        use StatusMatch::*;
        let cases = [
            (vec![Code(200)], 200, None),
            (vec![Class(2)], 204, None),
            (vec![Code(200)], 503, pair("200", "503")),
            (
                vec![Code(201), Code(202)],
                503,
                pair("one of 201, 202", "503"),
            ),
            (vec![Class(2)], 302, pair("2xx", "302")),
            (
                vec![Code(200), Class(3)],
                404,
                pair("one of 200, 3xx", "404"),
            ),
        ];
        for (accepted, status, want) in cases {
            let resp = Resp {
                status,
                ..Resp::text("")
            };
            assert_eq!(
                one(Expectation::Status(accepted.clone()), &resp),
                want,
                "{accepted:?} {status}"
            );
        }
    }

    #[test]
    fn header_checks_match_names_case_insensitively() {
        let header = |name: &str, check| Expectation::Header {
            name: name.to_string(),
            check,
        };
        let ct = "application/json; charset=utf-8";
        let cases = [
            (
                header("content-type", HeaderCheck::Equals(Template::new(ct))),
                None,
            ),
            (
                header("Content-Type", HeaderCheck::Matches(re("json"))),
                None,
            ),
            (
                header("set-cookie", HeaderCheck::Equals(Template::new("b=2"))),
                None,
            ),
            (header("x-id", HeaderCheck::Exists(false)), None),
            (
                header(
                    "content-type",
                    HeaderCheck::Equals(Template::new("{{ sku }}")),
                ),
                pair(r#"eq "sku-1""#, ct),
            ),
            (
                header("content-type", HeaderCheck::Matches(re("^text/"))),
                pair("matches /^text//", ct),
            ),
            (
                header("x-id", HeaderCheck::Exists(true)),
                pair("present", "(absent)"),
            ),
            (
                header("content-type", HeaderCheck::Exists(false)),
                pair("absent", ct),
            ),
            (
                header("set-cookie", HeaderCheck::Exists(false)),
                pair("absent", "a=1, b=2"),
            ),
        ];
        let resp = Resp::json(json!({}));
        for (exp, want) in cases {
            assert_eq!(one(exp.clone(), &resp), want, "{exp:?}");
        }
        let found = eval(&[header("X-Id", HeaderCheck::Exists(true))], &resp);
        assert_eq!(found[0].subject, "header X-Id");
    }

    #[test]
    fn body_checks_quote_the_start_of_the_body() {
        let resp = Resp::text("order sku-1 accepted");
        let cases = [
            (
                Expectation::BodyContains(Template::new("{{ sku }} acc")),
                None,
            ),
            (Expectation::BodyMatches(re(r"sku-\d")), None),
            (
                Expectation::BodyContains(Template::new("shipped")),
                pair(r#"contains "shipped""#, "order sku-1 accepted"),
            ),
            (
                Expectation::BodyMatches(re("^ok$")),
                pair("matches /^ok$/", "order sku-1 accepted"),
            ),
        ];
        for (exp, want) in cases {
            assert_eq!(one(exp.clone(), &resp), want, "{exp:?}");
        }
    }

    #[test]
    fn long_body_is_cut_at_200_chars() {
        let body = "é".repeat(250);
        let found = eval(
            &[Expectation::BodyContains(Template::new("x"))],
            &Resp::text(&body),
        );
        assert_eq!(found[0].subject, "body");
        assert_eq!(found[0].actual, format!("{}…", "é".repeat(200)));
    }

    #[test]
    fn json_predicates_report_expected_and_actual() {
        use Predicate::*;
        let doc = json!({
            "status": "paid",
            "total": 12.5,
            "count": 3,
            "items": [{"sku": "a"}, {"sku": "b"}],
            "tags": ["x", "y"],
            "note": null,
            "id": "ord_123"
        });
        let cases = [
            ("$.status", Eq(json!("paid")), None),
            (
                "$.status",
                Eq(json!("shipped")),
                pair(r#"eq "shipped""#, r#""paid""#),
            ),
            (
                "$.status",
                Ne(json!("paid")),
                pair(r#"ne "paid""#, r#""paid""#),
            ),
            ("$.total", Gt(12.0), None),
            ("$.total", Gte(12.5), None),
            ("$.total", Lt(12.5), pair("lt 12.5", "12.5")),
            ("$.count", Lte(2.0), pair("lte 2", "3")),
            (
                "$.status",
                Gt(0.0),
                pair("gt 0", r#""paid" (not a number)"#),
            ),
            ("$.tags", Contains(json!("y")), None),
            ("$.id", Contains(json!("123")), None),
            (
                "$.tags",
                Contains(json!("z")),
                pair(r#"contains "z""#, r#"["x","y"]"#),
            ),
            (
                "$.count",
                Contains(json!(3)),
                pair("contains 3", "3 (not a string or array)"),
            ),
            ("$.id", Matches(re(r"^ord_\d+$")), None),
            (
                "$.count",
                Matches(re(r"\d")),
                pair(r"matches /\d/", "3 (not a string)"),
            ),
            ("$.missing", Exists(false), None),
            ("$.note", Exists(true), None),
            (
                "$.missing",
                Exists(true),
                pair("exists", "(no value at path)"),
            ),
            (
                "$.status",
                Exists(false),
                pair("does not exist", r#""paid""#),
            ),
            ("$.items", Len(2), None),
            ("$.id", Len(7), None),
            (
                "$.items",
                LenGt(2),
                pair("len_gt 2", r#"[{"sku":"a"},{"sku":"b"}] (length 2)"#),
            ),
            ("$.count", LenLt(1), pair("len_lt 1", "3 (has no length)")),
            (
                "$.status",
                OneOf(vec![json!("paid"), json!("shipped")]),
                None,
            ),
            (
                "$.status",
                OneOf(vec![json!("shipped"), json!("delivered")]),
                pair(r#"one of ["shipped", "delivered"]"#, r#""paid""#),
            ),
            ("$.tags", Type(JsonType::Array), None),
            ("$.note", Type(JsonType::Null), None),
            (
                "$.status",
                Type(JsonType::Number),
                pair("type number", r#""paid""#),
            ),
            (
                "$.missing",
                Eq(json!(1)),
                pair("eq 1", "(no value at path)"),
            ),
        ];
        let resp = Resp::json(doc);
        for (path, predicate, want) in cases {
            let label = format!("{path} {predicate:?}");
            assert_eq!(one(json_exp(path, predicate), &resp), want, "{label}");
        }
    }

    #[test]
    fn eq_compares_numbers_numerically() {
        let resp =
            Resp::json(json!({"a": 1, "b": 1.0, "c": [1, {"d": 2.0}], "big": 9007199254740993u64}));
        let cases = [
            ("$.a", json!(1.0), true),
            ("$.b", json!(1), true),
            ("$.c", json!([1.0, {"d": 2}]), true),
            ("$.a", json!("1"), false),
            ("$.a", json!(2), false),
            // Integers compare exactly, beyond f64 precision.
            ("$.big", json!(9007199254740992u64), false),
        ];
        for (path, want, holds) in cases {
            let found = one(json_exp(path, Predicate::Eq(want.clone())), &resp);
            assert_eq!(found.is_none(), holds, "{path} eq {want}");
        }
    }

    #[test]
    fn predicate_values_are_templates() {
        let resp = Resp::json(json!({"order": 42, "ref": "order 42", "skus": ["sku-1"]}));
        let cases = [
            ("$.order", Predicate::Eq(json!("{{ order_id }}"))),
            ("$.ref", Predicate::Contains(json!("{{ order_id }}"))),
            ("$.skus", Predicate::Contains(json!("{{ sku }}"))),
            (
                "$.order",
                Predicate::OneOf(vec![json!(1), json!("{{ order_id }}")]),
            ),
        ];
        for (path, predicate) in cases {
            let label = format!("{path} {predicate:?}");
            assert_eq!(one(json_exp(path, predicate), &resp), None, "{label}");
        }
        let found = one(
            json_exp("$.order", Predicate::Ne(json!("{{ order_id }}"))),
            &resp,
        );
        assert_eq!(found, pair("ne 42", "42"));
    }

    #[test]
    fn undefined_template_in_expectation_is_an_error() {
        let exps = [json_exp("$.a", Predicate::Eq(json!("{{ nope }}")))];
        let resp = Resp::json(json!({"a": 1}));
        let err = eval_expectations(&exps, &resp.view(), &Engine::new(), &scope())
            .expect_err("undefined variable");
        assert_eq!(err.message, "undefined variable `nope`");
    }

    #[test]
    fn json_predicate_on_non_json_body_says_so() {
        let found = eval(
            &[json_exp("$.status", Predicate::Eq(json!("paid")))],
            &Resp::text("<html>"),
        );
        assert_eq!(
            found,
            vec![Mismatch {
                subject: "$.status".into(),
                expected: r#"eq "paid""#.into(),
                actual: "body is not JSON".into(),
            }]
        );
    }

    #[test]
    fn every_selected_node_must_hold() {
        use Predicate::*;
        let resp = Resp::json(json!({"items": [
            {"state": "shipped", "qty": 1},
            {"state": "paid", "qty": 2},
            {"state": "shipped", "qty": 3}
        ]}));
        let cases = [
            ("$.items[*].qty", Gt(0.0), None),
            (
                "$.items[*].state",
                Eq(json!("shipped")),
                pair(r#"eq "shipped""#, r#""paid" at $['items'][1]['state']"#),
            ),
            ("$.items[*]", Len(3), None),
            ("$.items[*]", LenGt(3), pair("len_gt 3", "3 values")),
            (
                "$.items[*].qty",
                Exists(false),
                pair("does not exist", "3 values"),
            ),
            ("$.items[?@.qty > 5]", Exists(false), None),
        ];
        for (path, predicate, want) in cases {
            let label = format!("{path} {predicate:?}");
            assert_eq!(one(json_exp(path, predicate), &resp), want, "{label}");
        }
    }

    #[test]
    fn max_duration_is_shown_in_readable_units() {
        let resp = Resp {
            duration: Duration::from_millis(1234),
            ..Resp::text("")
        };
        let cases = [
            (Duration::from_millis(800), pair("≤ 800ms", "1.234s")),
            (Duration::from_secs(1), pair("≤ 1s", "1.234s")),
            (Duration::from_millis(1234), None),
            (Duration::from_secs(2), None),
        ];
        for (max, want) in cases {
            assert_eq!(one(Expectation::MaxDuration(max), &resp), want, "{max:?}");
        }
    }

    #[test]
    fn certificate_must_stay_valid_long_enough() {
        let cases = [
            (
                None,
                1,
                pair("valid for ≥ 1 days", "no TLS certificate (plain HTTP)"),
            ),
            (Some("2027-01-01T00:00:00Z"), 30, None),
            (Some("2026-12-25T00:00:00Z"), 30, None),
            (
                Some("2026-12-24T23:59:59Z"),
                30,
                pair(
                    "valid for ≥ 30 days",
                    "expires 2026-12-24T23:59:59Z (29 days)",
                ),
            ),
            (
                Some("2026-12-01T12:00:00Z"),
                7,
                pair(
                    "valid for ≥ 7 days",
                    "expires 2026-12-01T12:00:00Z (6 days)",
                ),
            ),
            (
                Some("2026-11-20T00:00:00Z"),
                0,
                pair(
                    "valid for ≥ 0 days",
                    "expired 2026-11-20T00:00:00Z (5 days ago)",
                ),
            ),
        ];
        for (not_after, days, want) in cases {
            let resp = Resp {
                cert: not_after.map(at),
                ..Resp::text("")
            };
            assert_eq!(
                one(Expectation::CertValidDays(days), &resp),
                want,
                "{not_after:?}"
            );
        }
    }

    #[test]
    fn all_mismatches_are_reported() {
        let resp = Resp {
            status: 503,
            ..Resp::json(json!({"status": "paid"}))
        };
        let exps = [
            Expectation::Status(vec![StatusMatch::Code(200)]),
            json_exp("$.status", Predicate::Eq(json!("paid"))),
            json_exp("$.status", Predicate::Eq(json!("shipped"))),
            Expectation::MaxDuration(Duration::from_millis(100)),
        ];
        let subjects: Vec<String> = eval(&exps, &resp).into_iter().map(|m| m.subject).collect();
        assert_eq!(subjects, ["status", "$.status", "duration"]);
    }
}
