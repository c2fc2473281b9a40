//! JSON Schema of the fields the parser takes as a `serde_json::Value` and
//! decodes by hand (status, header checks, body checks, JSONPath predicates,
//! captures, scalars). Written once here, next to the decoders, and built
//! from their key lists (`PREDICATES`, `HEADER_CHECKS`, `BODY_CHECKS`,
//! `CAPTURE_SOURCES`), so a key added to a decoder appears in the schema.

use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use super::body::BODY_CHECKS;
use super::capture::CAPTURE_SOURCES;
use super::expect::{HEADER_CHECKS, PREDICATES};

/// A string, number or boolean: a template once rendered (vars, headers, query, form).
fn scalar() -> Value {
    json!({ "type": ["string", "number", "boolean"] })
}

/// A map of names to scalars.
pub(super) fn scalar_map(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "additionalProperties": scalar() })
}

/// `max_body`: bytes, or a number with a unit (`512KiB`).
pub(super) fn size(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "bytes, or a number with KB, KiB, MB, MiB, GB or GiB",
        "type": ["integer", "string"]
    })
}

/// One accepted status: a code or a class.
fn status_item() -> Value {
    json!({ "anyOf": [
        { "type": "integer", "minimum": 100, "maximum": 599 },
        { "type": "string", "pattern": "^\\s*([1-5][xX][xX]|[1-5][0-9][0-9])\\s*$" }
    ]})
}

/// `status: 200`, `status: 2xx`, `status: [201, 202]`.
pub(super) fn status(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "a code (200), a class (2xx) or a non-empty list of them",
        "anyOf": [status_item(), { "type": "array", "items": status_item(), "minItems": 1 }]
    })
}

/// The value a predicate (or header check) named `key` takes.
fn predicate_value(key: &str) -> Value {
    match key {
        "gt" | "gte" | "lt" | "lte" => json!({ "type": "number" }),
        "len" | "len_gt" | "len_lt" => json!({ "type": "integer", "minimum": 0 }),
        "matches" => json!({ "type": "string", "description": "a regex" }),
        "exists" => json!({ "type": "boolean" }),
        "one_of" => json!({ "type": "array", "minItems": 1 }),
        "type" => json!({ "enum": ["null", "bool", "number", "string", "array", "object"] }),
        "schema" => {
            json!({ "type": "string", "description": "a JSON Schema file, relative to the journey" })
        }
        "contains" => json!({}),
        _ => scalar(),
    }
}

/// An object whose only keys are `keys`, each with its value shape.
fn keyed(keys: &[&str]) -> Value {
    let properties: Map<String, Value> = keys
        .iter()
        .map(|k| (k.to_string(), predicate_value(k)))
        .collect();
    json!({ "type": "object", "properties": properties, "additionalProperties": false })
}

/// `json:` — JSONPath → predicates, or a value (shorthand for `eq`).
pub(super) fn json_predicates(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "propertyNames": { "pattern": "^\\$" },
        "additionalProperties": {
            "anyOf": [
                { "type": ["string", "number", "boolean", "null", "array"], "description": "shorthand for eq" },
                keyed(PREDICATES)
            ]
        }
    })
}

/// `headers:` under `expect` — name → value (equals) or checks.
pub(super) fn header_checks(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": {
            "anyOf": [{ "type": ["string", "number"], "description": "shorthand for equals" }, keyed(HEADER_CHECKS)]
        }
    })
}

/// `body:` under `expect` — text (contains) or checks.
pub(super) fn body(_: &mut SchemaGenerator) -> Schema {
    let mut checks = keyed(BODY_CHECKS);
    checks["properties"]["contains"] = json!({ "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }] });
    json_schema!({ "anyOf": [{ "type": "string", "description": "shorthand for contains" }, checks] })
}

/// `capture:` — variable name → exactly one source, plus `secret` and `group`.
pub(super) fn captures(_: &mut SchemaGenerator) -> Schema {
    let source = |k: &str| match k {
        "json" => json!({ "type": "string", "pattern": "^\\$", "description": "a JSONPath" }),
        "regex" => {
            json!({ "type": "string", "description": "a regex; group 1 by default when it has one" })
        }
        "status" | "url" => json!({ "const": true }),
        _ => json!({ "type": "string" }),
    };
    let mut properties: Map<String, Value> = CAPTURE_SOURCES
        .iter()
        .map(|k| (k.to_string(), source(k)))
        .collect();
    properties.insert("secret".into(), json!({ "type": "boolean" }));
    properties.insert(
        "group".into(),
        json!({ "type": ["integer", "string"], "minimum": 0 }),
    );
    let one_source: Vec<Value> = CAPTURE_SOURCES
        .iter()
        .map(|k| json!({ "required": [k] }))
        .collect();
    json_schema!({
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
            "oneOf": one_source
        }
    })
}

/// `trace: false` (no trace headers) or `trace: { hosts: [api.example.com, "*.example.com"] }`.
pub(super) fn trace(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "false, or the hosts that get traceparent (default: the first step's host)",
        "anyOf": [
            { "type": "boolean" },
            {
                "type": "object",
                "properties": { "hosts": { "type": "array", "items": { "type": "string" } } },
                "additionalProperties": false
            }
        ]
    })
}
