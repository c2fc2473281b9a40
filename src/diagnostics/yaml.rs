//! YAML decoding shared by journey and daemon configuration files: serde-saphyr
//! with strict booleans, and serde's errors rewritten into advice with a
//! position and a field path.

use std::path::Path;

use super::{Diagnostic, Location, closest};

/// Decodes YAML into serde types with strict booleans; a structural error (unknown
/// key, wrong type, bad YAML) becomes one diagnostic with its position and field path.
pub fn decode_yaml<T: serde::de::DeserializeOwned>(
    file: &Path,
    source: &str,
) -> Result<T, Vec<Diagnostic>> {
    let mut opts = serde_saphyr::options::Options::default();
    opts.strict_booleans = true;
    opts.with_snippet = false;
    let mut path = String::new();
    let result = serde_saphyr::with_deserializer_from_str_with_options(source, opts, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = clean_path(&e.path().to_string());
            e.into_inner()
        })
    });
    result.map_err(|e| {
        let loc = e
            .location()
            .map(|l| Location {
                line: l.line() as u32,
                col: l.column() as u32,
            })
            .unwrap_or(Location { line: 1, col: 1 });
        vec![Diagnostic {
            file: file.to_path_buf(),
            loc,
            path,
            message: friendly_serde_message(&e.to_string()),
        }]
    })
}

/// `steps.value[1].value.requst` (Spanned wrappers show up as `value`) → `steps[1].requst`.
fn clean_path(raw: &str) -> String {
    if raw == "." {
        return String::new();
    }
    raw.split('.')
        .filter(|seg| *seg != "value" && *seg != "?")
        .map(|seg| match seg.strip_prefix("value") {
            Some(rest) if rest.starts_with('[') => rest,
            _ => seg,
        })
        .collect::<Vec<_>>()
        .join(".")
        .replace(".[", "[")
}

/// Rewrites serde's wording into advice for a journey author.
fn friendly_serde_message(raw: &str) -> String {
    let msg = match raw.rfind(" at line ") {
        Some(i) => &raw[..i],
        None => raw,
    };
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let valid: Vec<&str> = expected
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .split(", ")
            .map(|s| s.trim_matches('`'))
            .filter(|s| !s.is_empty())
            .collect();
        return match closest(key, valid.iter().copied()) {
            Some(best) => format!("unknown key `{key}`; did you mean `{best}`?"),
            None => format!("unknown key `{key}`; valid keys here: {}", valid.join(", ")),
        };
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        return format!("missing required key `{}`", rest.trim_end_matches('`'));
    }
    match msg {
        m if m.starts_with("invalid u32") || m.starts_with("invalid u16") => {
            "expected a whole number".to_string()
        }
        m if m.starts_with("invalid f64") => "expected a number".to_string(),
        "expected string scalar" => "expected a text value".to_string(),
        m => m.to_string(),
    }
}
