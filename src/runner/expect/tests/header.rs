//! Header predicates shared with JSON values: `contains`, `one_of`, and the
//! numeric comparisons, one table per predicate.

use super::*;

fn header(name: &str, predicate: Predicate) -> Expectation {
    Expectation::Header {
        name: name.to_string(),
        check: HeaderCheck::Predicate(predicate),
    }
}

fn resp_with(headers: &[(&str, &str)]) -> Resp {
    Resp {
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        ..Resp::text("")
    }
}

#[test]
fn header_contains_looks_for_text_rendered_from_templates() {
    let resp = resp_with(&[("content-type", "application/json; charset=utf-8")]);
    let cases = [
        (Predicate::Contains(json!("json")), None),
        (Predicate::Contains(json!("charset")), None),
        (
            Predicate::Contains(json!("{{ sku }}")),
            pair(r#"contains "sku-1""#, "application/json; charset=utf-8"),
        ),
        (
            Predicate::Contains(json!("xml")),
            pair(r#"contains "xml""#, "application/json; charset=utf-8"),
        ),
    ];
    for (p, want) in cases {
        assert_eq!(one(header("content-type", p.clone()), &resp), want, "{p:?}");
    }
}

#[test]
fn header_one_of_compares_the_value_as_text() {
    let resp = resp_with(&[("x-region", "eu-west"), ("x-code", "204")]);
    let cases = [
        (
            "x-region",
            Predicate::OneOf(vec![json!("us"), json!("eu-west")]),
            None,
        ),
        (
            "x-code",
            Predicate::OneOf(vec![json!("200"), json!("204")]),
            None,
        ),
        (
            "x-region",
            Predicate::OneOf(vec![json!("us"), json!("{{ sku }}")]),
            pair(r#"one of ["us", "sku-1"]"#, "eu-west"),
        ),
        (
            "x-missing",
            Predicate::OneOf(vec![json!("a")]),
            pair(r#"one of ["a"]"#, "(absent)"),
        ),
    ];
    for (name, p, want) in cases {
        assert_eq!(one(header(name, p.clone()), &resp), want, "{name} {p:?}");
    }
}

#[test]
fn header_numeric_comparisons_read_the_value_as_a_number() {
    let resp = resp_with(&[
        ("content-length", "512"),
        ("x-ratio", " 0.25 "),
        ("x-text", "many"),
    ]);
    let cases = [
        ("content-length", Predicate::Gt(0.0), None),
        ("content-length", Predicate::Gte(512.0), None),
        ("content-length", Predicate::Lt(1024.0), None),
        ("content-length", Predicate::Lte(512.0), None),
        ("x-ratio", Predicate::Lt(0.5), None),
        (
            "content-length",
            Predicate::Gt(512.0),
            pair("gt 512", "512"),
        ),
        (
            "content-length",
            Predicate::Gte(513.0),
            pair("gte 513", "512"),
        ),
        (
            "content-length",
            Predicate::Lt(100.0),
            pair("lt 100", "512"),
        ),
        (
            "content-length",
            Predicate::Lte(511.0),
            pair("lte 511", "512"),
        ),
        ("x-text", Predicate::Gt(0.0), pair("gt 0", "many")),
        ("x-missing", Predicate::Gt(0.0), pair("gt 0", "(absent)")),
    ];
    for (name, p, want) in cases {
        assert_eq!(one(header(name, p.clone()), &resp), want, "{name} {p:?}");
    }
}

#[test]
fn a_repeated_header_passes_when_any_value_holds() {
    let resp = resp_with(&[("x-v", "1"), ("x-v", "10")]);
    assert_eq!(one(header("x-v", Predicate::Gt(5.0)), &resp), None);
    assert_eq!(
        one(header("x-v", Predicate::Gt(50.0)), &resp),
        pair("gt 50", "1, 10")
    );
}
