//! What templates can call besides variables: the `base64` and `b64decode`
//! filters, and the formatter that prints values as JSON does (`true`, `null`).

use base64::Engine as _;
use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, ErrorKind, Output, State, escape_formatter};

use super::generators::random_digits;

/// Adds journeyd's filters and functions to `env` (strict and lenient engines alike).
pub(super) fn register(env: &mut Environment<'_>) {
    env.add_filter("base64", base64_filter);
    env.add_filter("b64decode", b64decode_filter);
    env.add_function("random_digits", random_digits);
}

/// Prints values the way the web reads them: `true`, `null` and JSON for
/// objects and arrays, where minijinja would print `True`, `none` and a
/// Python-like form (a raw JSON body with `{{ paid }}` must stay valid JSON).
///
/// A custom formatter also takes over minijinja's strict check on printing an
/// undefined value, so it is done here. Unlike minijinja's own check, it also
/// rejects `{{ x if cond }}` without `else` when `cond` is false, as Jinja2's
/// strict mode does.
pub(super) fn json_formatter(
    out: &mut Output,
    state: &State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    match value.kind() {
        ValueKind::Undefined => Err(minijinja::Error::from(ErrorKind::UndefinedError)),
        ValueKind::Bool => Ok(out.write_str(if value.is_true() { "true" } else { "false" })?),
        ValueKind::None => Ok(out.write_str("null")?),
        ValueKind::Map | ValueKind::Seq => match serde_json::to_string(value) {
            Ok(json) => Ok(out.write_str(&json)?),
            // Maps with non-string keys have no JSON form.
            Err(_) => escape_formatter(out, state, value),
        },
        _ => escape_formatter(out, state, value),
    }
}

/// `{{ "user:pass" | base64 }}`: standard base64 (with padding) of the text.
fn base64_filter(value: &Value) -> String {
    let text = match value.as_str() {
        Some(s) => s.to_string(),
        None => value.to_string(),
    };
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// `{{ encoded | b64decode }}`: decodes standard base64 into UTF-8 text.
fn b64decode_filter(value: &str) -> Result<String, minijinja::Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| {
            minijinja::Error::new(ErrorKind::InvalidOperation, format!("b64decode: {e}"))
        })?;
    String::from_utf8(bytes).map_err(|_| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            "b64decode: the decoded bytes are not UTF-8 text",
        )
    })
}
