//! The common templates without minijinja: text with `{{ name }}` or
//! `{{ name.field }}` placeholders whose names are vars, captures, `env.NAME` or
//! `secret.NAME`.
//!
//! A profile of the daemon (docs/benchmarks.md, "Lean") put template rendering
//! at about 8 % of a five-step run's CPU: minijinja builds a context of every
//! var, env value, secret and generator for each render, and compiles a
//! one-expression JSON leaf at every use. Nearly every template in a journey is
//! `{{ base }}/api/orders/{{ order_id }}` or `"{{ product_id }}"`, so those are
//! rendered here by looking the names up in the scope. Anything else (filters,
//! expressions, generators, a name the scope lacks, a value minijinja would
//! print differently) returns `None` and goes through minijinja as before, so
//! the output and the error messages are the same either way.

use super::Scope;

/// The value of a dotted name in `scope`, when it is a var or capture (with
/// object fields), `env.NAME` or `secret.NAME`. `None` when the name is not a
/// plain dotted identifier or does not resolve.
pub(super) fn lookup<'s>(expr: &str, scope: &'s Scope) -> Option<Lookup<'s>> {
    let mut parts = expr.split('.');
    let head = parts.next()?;
    if !expr.split('.').all(is_identifier) || KEYWORDS.contains(&head) {
        return None;
    }
    match head {
        // `env` and `secret` always mean what they say, whatever the vars hold.
        "env" | "secret" => {
            let name = parts.next()?;
            if parts.next().is_some() {
                return None;
            }
            let map = if head == "env" {
                &scope.env
            } else {
                &scope.secrets
            };
            map.get(name).map(|s| Lookup::Text(s.as_str()))
        }
        _ => {
            let mut value = scope.vars.get(head)?;
            for part in parts {
                value = value.as_object()?.get(part)?;
            }
            Some(Lookup::Json(value))
        }
    }
}

/// A value found by [`lookup`].
pub(super) enum Lookup<'s> {
    /// An environment variable or a secret.
    Text(&'s str),
    /// A var, a capture or a field of one.
    Json(&'s serde_json::Value),
}

impl Lookup<'_> {
    /// The value as JSON (a one-expression JSON leaf keeps its type).
    pub(super) fn to_json(&self) -> serde_json::Value {
        match self {
            Lookup::Text(s) => serde_json::Value::String((*s).to_string()),
            Lookup::Json(v) => (*v).clone(),
        }
    }

    /// Appends the value as minijinja with journeyd's formatter prints it, or
    /// returns `None` for kinds whose printed form is minijinja's business
    /// (floats, booleans, null, arrays, objects).
    fn print(&self, out: &mut String) -> Option<()> {
        match self {
            Lookup::Text(s) => out.push_str(s),
            Lookup::Json(serde_json::Value::String(s)) => out.push_str(s),
            Lookup::Json(serde_json::Value::Number(n)) if !n.is_f64() => {
                out.push_str(&n.to_string());
            }
            Lookup::Json(_) => return None,
        }
        Some(())
    }
}

/// Renders `source` when it is only text and `{{ dotted.name }}` placeholders
/// that [`lookup`] resolves to text or integers; `None` otherwise.
pub(super) fn render(source: &str, scope: &Scope) -> Option<String> {
    if source.contains("{%") || source.contains("{#") {
        return None;
    }
    let mut out = String::with_capacity(source.len() + 32);
    let mut rest = source;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}")?;
        let inner = &after[..close];
        // `{{-`/`-}}` trim whitespace around the placeholder: minijinja's business.
        if inner.starts_with(['-', '+']) || inner.ends_with(['-', '+']) {
            return None;
        }
        lookup(inner.trim(), scope)?.print(&mut out)?;
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// Names minijinja reads as literals or operators, never as variables.
const KEYWORDS: &[&str] = &[
    "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
    "else",
];

/// `[A-Za-z_][A-Za-z0-9_]*`: what minijinja reads as a plain name or attribute.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
