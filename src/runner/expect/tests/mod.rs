//! Table-driven tests of expectation evaluation on in-memory responses.

use crate::journey::JsonQuery;
use regex::Regex;
use serde_json::json;

use super::*;
use crate::journey::model::{HeaderCheck, JsonType, Predicate, Template};

mod header;
mod json;
mod schema;

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
        query: std::sync::Arc::new(JsonQuery::parse(path).expect("path")),
        predicate,
    }
}

fn re(s: &str) -> std::sync::Arc<Regex> {
    Regex::new(s).expect("regex").into()
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
