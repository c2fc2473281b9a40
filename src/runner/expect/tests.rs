//! Table-driven tests of expectation evaluation on in-memory responses.

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
