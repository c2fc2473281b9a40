//! JSONPath predicates: expected vs actual, numbers, templates, every selected node.

use serde_json::json;

use super::*;

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
