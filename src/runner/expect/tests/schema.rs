//! `body: { schema: FILE }`: each violation names the instance path and the rule.

use std::sync::Arc;

use super::*;
use crate::journey::model::BodySchema;

fn schema_exp() -> Expectation {
    let schema = json!({
        "type": "object",
        "required": ["order_id", "items"],
        "properties": {
            "order_id": { "type": "string" },
            "items": { "type": "array", "items": { "type": "object",
                "properties": { "price": { "type": "number", "minimum": 0 } } } }
        }
    });
    Expectation::BodySchema(BodySchema {
        source: "order.schema.json".into(),
        validator: Arc::new(jsonschema::validator_for(&schema).expect("schema compiles")),
    })
}

#[test]
fn a_body_valid_against_the_schema_passes() {
    let resp = Resp::json(json!({"order_id": "o-1", "items": [{"price": 3}]}));
    assert!(eval(&[schema_exp()], &resp).is_empty());
}

#[test]
fn each_violation_names_the_instance_path_and_the_rule() {
    let resp = Resp::json(json!({"order_id": 7, "items": [{"price": "abc"}, {"price": -1}]}));
    let found = eval(&[schema_exp()], &resp);
    let lines: Vec<String> = found
        .iter()
        .map(|m| format!("{} | {} | {}", m.subject, m.expected, m.actual))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines.contains(&r#"body /order_id | matches schema order.schema.json (type at #/properties/order_id/type) | 7 is not of type "string""#.to_string()), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("body /items/0/price | matches schema order.schema.json (type at #/properties/items/items/properties/price/type)")), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l
            .starts_with("body /items/1/price | matches schema order.schema.json (minimum at ")),
        "{lines:#?}"
    );
}

#[test]
fn a_missing_required_property_is_reported_at_the_root() {
    let resp = Resp::json(json!({"order_id": "o-1"}));
    let found = eval(&[schema_exp()], &resp);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].subject, "body /");
    assert!(
        found[0].expected.contains("required at #/required"),
        "{found:?}"
    );
    assert!(
        found[0].actual.contains("\"items\" is a required property"),
        "{found:?}"
    );
}

#[test]
fn a_body_that_is_not_json_fails_the_schema() {
    let found = eval(&[schema_exp()], &Resp::text("<html>"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].actual, "body is not JSON");
}

#[test]
fn many_violations_are_capped_with_a_count() {
    let items: Vec<Value> = (0..9).map(|_| json!({"price": "x"})).collect();
    let resp = Resp::json(json!({"order_id": "o", "items": items}));
    let found = eval(&[schema_exp()], &resp);
    assert_eq!(found.len(), 6, "{found:?}");
    assert_eq!(found[5].actual, "4 more violations");
}
