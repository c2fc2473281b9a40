//! What the text of a template says, without rendering it: whether it is
//! literal or one `{{ expression }}`, where a name is written in it, and the
//! message for a name that has no value.

/// The message for an undefined dotted name, with the fix for env and secrets.
pub(super) fn undefined_message(name: &str) -> String {
    if let Some(var) = name.strip_prefix("env.") {
        let var = var.split('.').next().unwrap_or(var);
        format!(
            "undefined variable `env.{var}` (set the environment variable {var} or add `| default(...)`)"
        )
    } else if let Some(key) = name.strip_prefix("secret.") {
        let key = key.split('.').next().unwrap_or(key);
        format!(
            "secret `{key}` is not set (set {} or put a file named {key} in the secrets directory)",
            secret_env_var(key)
        )
    } else {
        format!("undefined variable `{name}`")
    }
}

/// The environment variable that provides secret `key`: `JOURNEYD_SECRET_TEST_CARD`.
pub(super) fn secret_env_var(key: &str) -> String {
    let suffix: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("JOURNEYD_SECRET_{suffix}")
}

/// Byte position of `name` in `source` as a whole word (so `order` is not found
/// inside `order_id`).
pub(super) fn find_name(source: &str, name: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    source.match_indices(name).map(|(i, _)| i).find(|&i| {
        let before = source[..i].chars().next_back();
        let after = source[i + name.len()..].chars().next();
        !before.is_some_and(|c| is_ident(c) || c == '.') && !after.is_some_and(is_ident)
    })
}

/// Converts a byte offset into a character offset.
pub(super) fn char_offset(source: &str, byte: usize) -> usize {
    source.char_indices().take_while(|(i, _)| *i < byte).count()
}

/// True when `s` holds no template syntax (as [`crate::journey::model::Template::is_literal`], without
/// making a `Template`).
pub(super) fn is_literal(s: &str) -> bool {
    !s.contains("{{") && !s.contains("{%") && !s.contains("{#")
}

/// The expression of a string that is exactly one `{{ expression }}`.
pub(super) fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    if ["{{", "}}", "{%", "{#"].iter().any(|m| inner.contains(m)) {
        return None;
    }
    // `{{-` and `-}}` are whitespace control, not part of the expression.
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    let expr = inner.trim();
    (!expr.is_empty()).then_some(expr)
}

/// Whether any string in `v` holds template syntax.
pub(super) fn has_template(v: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match v {
        J::String(s) => !is_literal(s),
        J::Array(items) => items.iter().any(has_template),
        J::Object(map) => map.iter().any(|(k, v)| !is_literal(k) || has_template(v)),
        _ => false,
    }
}
