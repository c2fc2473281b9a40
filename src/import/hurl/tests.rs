//! The Hurl subset, line by line: parsing keeps positions, each predicate maps
//! to its journey key, templates become journey templates.

use std::path::Path;

use serde_json::json;

use super::convert::convert;
use super::parse::{Body, parse};
use super::templates::Templates;

fn one_step(hurl: &str) -> super::convert::StepOut {
    let entries = parse(hurl);
    assert_eq!(entries.len(), 1, "{entries:?}");
    convert(1, &entries[0], &mut Templates::new())
}

#[test]
fn entries_start_at_each_request_line_and_keep_positions() {
    let entries = parse(
        "# c\nGET http://h/a\nX-A: 1\n\n  POST http://h/b\n{\n  \"a\": [1, \"]\"]\n}\nHTTP/1.1 201\n",
    );
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0].headers,
        vec![("X-A".to_string(), "1".to_string())]
    );
    let start = entries[1].start.as_ref().unwrap();
    assert_eq!((start.line, start.col), (5, 3));
    assert!(matches!(&entries[1].body, Some(Body::Json(l)) if l.text.contains("\"]\"")));
    assert_eq!(entries[1].status.as_ref().unwrap().text, "201");
}

#[test]
fn each_predicate_maps_to_its_journey_key() {
    let cases = [
        (r#"jsonpath "$.a" == "x""#, json!({"eq": "x"})),
        (r#"jsonpath "$.a" != 3"#, json!({"ne": 3})),
        (r#"jsonpath "$.a" > 1"#, json!({"gt": 1})),
        (r#"jsonpath "$.a" >= 1.5"#, json!({"gte": 1.5})),
        (r#"jsonpath "$.a" < 2"#, json!({"lt": 2})),
        (r#"jsonpath "$.a" <= 2"#, json!({"lte": 2})),
        (r#"jsonpath "$.a" contains "b""#, json!({"contains": "b"})),
        (
            r#"jsonpath "$.a" startsWith "a.b""#,
            json!({"matches": "^a\\.b"}),
        ),
        (r#"jsonpath "$.a" endsWith "z""#, json!({"matches": "z$"})),
        (
            r#"jsonpath "$.a" matches /^[0-9]+$/"#,
            json!({"matches": "^[0-9]+$"}),
        ),
        (r#"jsonpath "$.a" exists"#, json!({"exists": true})),
        (r#"jsonpath "$.a" not exists"#, json!({"exists": false})),
        (r#"jsonpath "$.a" == {{id}}"#, json!({"eq": "{{ id }}"})),
        (r#"jsonpath "$.a" == null"#, json!({"eq": null})),
        (r#"jsonpath "$.a" count == 3"#, json!({"len": 3})),
        (r#"jsonpath "$.a" isString"#, json!({"type": "string"})),
    ];
    for (line, want) in cases {
        let step = one_step(&format!("GET http://h/\nHTTP 200\n[Asserts]\n{line}\n"));
        assert!(step.notes.is_empty(), "{line}: {:?}", step.notes);
        assert_eq!(json!(step.json["$.a"]), want, "{line}");
    }
}

#[test]
fn status_header_body_and_duration_asserts_land_in_expect() {
    let step = one_step(concat!(
        "GET http://h/\nHTTP 200\nContent-Type: text/html\n[Asserts]\n",
        "status == 200\nheader \"X-N\" > 3\nheader \"X-S\" startsWith \"ab\"\n",
        "body contains \"a\"\nbody contains \"b\"\nduration <= 800\n",
    ));
    assert!(step.notes.is_empty(), "{:?}", step.notes);
    assert_eq!(step.status, Some(json!(200)));
    assert_eq!(
        json!(step.headers["content-type"]),
        json!({"equals": "text/html"})
    );
    assert_eq!(json!(step.headers["x-n"]), json!({"gt": 3}));
    assert_eq!(json!(step.headers["x-s"]), json!({"matches": "^ab"}));
    assert_eq!(json!(step.body), json!({"contains": ["a", "b"]}));
    assert_eq!(step.max_duration.as_deref(), Some("800ms"));
}

#[test]
fn captures_map_to_each_source() {
    let step = one_step(concat!(
        "GET http://h/\nHTTP 200\n[Captures]\n",
        "a: jsonpath \"$.id\"\nb: header \"Location\"\nc: cookie \"sid\"\n",
        "d: regex \"id=(\\\\d+)\"\ne: status\nf-g: url\n",
    ));
    assert!(step.notes.is_empty(), "{:?}", step.notes);
    assert_eq!(
        json!(step.capture),
        json!({"a": {"json": "$.id"}, "b": {"header": "location"}, "c": {"cookie": "sid"},
               "d": {"regex": "id=(\\d+)"}, "e": {"status": true}, "f_g": {"url": true}})
    );
}

#[test]
fn retry_becomes_eventually_with_the_same_total_wait() {
    let step = one_step("GET http://h/\n[Options]\nretry: 5\nretry-interval: 2s\nHTTP 200\n");
    assert_eq!(
        step.eventually,
        Some(json!({"within": "10000ms", "every": "2000ms"}))
    );
    let step = one_step("GET http://h/\n[Options]\nretry: 3\nHTTP 200\n");
    assert_eq!(
        step.eventually,
        Some(json!({"within": "3000ms", "every": "1000ms"}))
    );
}

#[test]
fn templates_become_journey_templates_and_unknown_names_become_vars() {
    let mut t = Templates::new();
    assert_eq!(
        t.convert("{{host}}/a/{{ id }}?u={{newUuid}}"),
        "{{ host }}/a/{{ id }}?u={{ uuid }}"
    );
    t.define("token");
    assert_eq!(t.convert("Bearer {{token}}"), "Bearer {{ token }}");
    assert_eq!(
        t.convert_json("{\"n\": {{count}}, \"s\": \"x{{host}}\"}"),
        Some(json!({"n": "{{ count }}", "s": "x{{ host }}"}))
    );
    assert_eq!(t.undeclared(), vec!["host", "id", "count"]);
}

#[test]
fn an_entry_without_a_request_line_is_reported() {
    let imported = super::import(Path::new("x.hurl"), "HTTP 200\nGET http://h/\n");
    assert_eq!(imported.unconverted.len(), 1);
    assert_eq!(
        imported.unconverted[0].to_string(),
        "x.hurl:1:1: expected a request (`GET https://...`)"
    );
    assert!(
        imported.yaml.contains("# not converted: line 1: HTTP 200"),
        "{}",
        imported.yaml
    );
}

#[test]
fn a_body_after_the_request_sections_is_the_request_body_and_one_after_http_is_reported() {
    let entries = parse(
        "POST http://h/\n[Options]\nlocation: true\n{\"a\": 1}\nHTTP 200\n[Asserts]\nstatus == 200\n{\n  \"b\": 2\n}\n",
    );
    assert!(matches!(&entries[0].body, Some(Body::Json(l)) if l.text.contains("\"a\"")));
    let why: Vec<(usize, &str)> = entries[0]
        .unsupported
        .iter()
        .map(|(l, w)| (l.line, w.as_str()))
        .collect();
    assert_eq!(why.len(), 1, "{why:?}");
    assert_eq!(why[0].0, 8);
    assert!(
        why[0]
            .1
            .starts_with("a response body check is not converted"),
        "{why:?}"
    );
}

#[test]
fn backtick_strings_are_values() {
    let step = one_step("GET http://h/\nHTTP 200\n[Asserts]\njsonpath \"$.a\" == `x \"y\"`\n");
    assert!(step.notes.is_empty(), "{:?}", step.notes);
    assert_eq!(json!(step.json["$.a"]), json!({"eq": "x \"y\""}));
}

#[test]
fn an_assert_on_a_value_captured_by_the_same_request_is_reported() {
    let step = one_step(
        "GET http://h/\nHTTP 200\n[Captures]\nid: header \"X-Id\"\n[Asserts]\nheader \"X-Copy\" == \"{{id}}\"\nstatus == 200\n",
    );
    assert_eq!(step.notes.len(), 1, "{:?}", step.notes);
    assert_eq!(step.notes[0].0, 6);
    assert!(
        step.notes[0]
            .3
            .starts_with("uses `id`, captured by this same request"),
        "{:?}",
        step.notes
    );
    assert!(step.headers.is_empty());
    assert_eq!(step.status, Some(json!(200)));
}
