//! Decoding helpers shared by the step parts: keyed maps with "did you mean",
//! regexes, booleans, and scalars shown back to the author.

use std::sync::Arc;

use regex::Regex;

use super::build::Builder;
use super::raw::Value;
use crate::diagnostics::closest;
use crate::journey::model::*;

impl Builder<'_> {
    /// Entries of a small keyed map, reporting unknown keys with a suggestion.
    pub(super) fn keyed(
        &mut self,
        path: &str,
        at: Location,
        map: &serde_json::Map<String, Value>,
        allowed: &[&str],
    ) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for (k, v) in map {
            if allowed.contains(&k.as_str()) {
                out.push((k.clone(), v.clone()));
                continue;
            }
            let msg = match closest(k, allowed.iter().copied()) {
                Some(best) => format!("unknown key `{k}`; did you mean `{best}`?"),
                None => format!("unknown key `{k}`; valid keys here: {}", allowed.join(", ")),
            };
            self.err(at, &format!("{path}.{k}"), msg);
        }
        out
    }

    /// A compiled regex, shared with every journey using the same pattern text.
    pub(super) fn regex(&mut self, v: &Value, at: Location, path: &str) -> Option<Arc<Regex>> {
        let src = scalar_text(v);
        match super::patterns::compile(&src) {
            Ok(r) => Some(r),
            Err(e) => {
                let first = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                self.err(at, path, format!("invalid regex `{src}`: {first}"));
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, v: &Value, at: Location, path: &str) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.err(
                    at,
                    path,
                    format!("expected true or false, got `{}`", compact(other)),
                );
                None
            }
        }
    }
}

/// A scalar as text (strings without quotes).
pub(super) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}

pub(super) fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
