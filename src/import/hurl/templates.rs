//! Hurl `{{name}}` templates to journey templates (`{{ name }}`), keeping
//! track of which names are captured and which must come from outside: those
//! become journey vars read from the environment (`HURL_name`, Hurl's own
//! convention), which `--var name=value` also sets.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::query::Tok;

/// Hurl generators with a journey equivalent.
const GENERATORS: &[(&str, &str)] = &[("newUuid", "uuid"), ("newDate", "now")];

/// Names seen while converting a file.
pub(super) struct Templates {
    captured: BTreeSet<String>,
    used: Vec<String>,
}

impl Templates {
    /// Nothing seen yet.
    pub(super) fn new() -> Self {
        Self {
            captured: BTreeSet::new(),
            used: Vec::new(),
        }
    }

    /// A journey name for Hurl name `name` (`-` is not allowed in journey names).
    pub(super) fn name(name: &str) -> String {
        name.replace('-', "_")
    }

    /// `name` is captured from here on.
    pub(super) fn define(&mut self, name: &str) -> String {
        let n = Self::name(name);
        self.captured.insert(n.clone());
        n
    }

    fn expr(&mut self, name: &str) -> String {
        if let Some((_, ours)) = GENERATORS.iter().find(|(h, _)| *h == name) {
            return format!("{{{{ {ours} }}}}");
        }
        let n = Self::name(name);
        if !self.captured.contains(&n) && !self.used.contains(&n) {
            self.used.push(n.clone());
        }
        format!("{{{{ {n} }}}}")
    }

    /// `text` with its Hurl templates rewritten.
    pub(super) fn convert(&mut self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                break;
            };
            let inner = rest[start + 2..start + len].trim();
            out.push_str(&rest[..start]);
            if is_name(inner) {
                out.push_str(&self.expr(inner));
            } else {
                out.push_str(&rest[start..start + len + 2]);
            }
            rest = &rest[start + len + 2..];
        }
        out.push_str(rest);
        out
    }

    /// A token of an assert as a JSON value (strings and templates are templates).
    pub(super) fn value(&mut self, tok: &Tok) -> Value {
        match tok {
            Tok::Str(s) | Tok::Regex(s) => json!(self.convert(s)),
            Tok::Template(name) => json!(self.convert(&format!("{{{{{name}}}}}"))),
            Tok::Word(w) => serde_json::from_str(w).unwrap_or_else(|_| json!(w)),
        }
    }

    /// A JSON body: templates outside strings (`"id": {{id}}`) become strings
    /// holding one expression, which keep the captured value's type.
    pub(super) fn convert_json(&mut self, text: &str) -> Option<Value> {
        let mut out = String::new();
        let mut in_string = false;
        let mut escaped = false;
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if !in_string && rest.starts_with("{{") {
                let end = rest.find("}}")? + 2;
                out.push_str(&serde_json::to_string(&self.convert(&rest[..end])).ok()?);
                rest = &rest[end..];
                continue;
            }
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                _ => {}
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        let value: Value = serde_json::from_str(&out).ok()?;
        Some(self.convert_strings(value))
    }

    fn convert_strings(&mut self, v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.convert(&s)),
            Value::Array(a) => {
                Value::Array(a.into_iter().map(|v| self.convert_strings(v)).collect())
            }
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| (k, self.convert_strings(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// Names used but never captured, in order of first use.
    pub(super) fn undeclared(&self) -> Vec<String> {
        self.used
            .iter()
            .filter(|n| !self.captured.contains(*n))
            .cloned()
            .collect()
    }
}

/// A Hurl variable name: letters, digits, `_` and `-`, not starting with a digit.
fn is_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
