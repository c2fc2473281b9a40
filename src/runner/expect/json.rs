//! JSONPath predicates: rendering their template values, describing them in
//! mismatches, and evaluating them on the nodes a path selects. Header
//! predicates (`contains`, `one_of`, comparisons) reuse [`check`].

use std::borrow::Cow;

use serde_json::Value;

use super::{compact, compact_truncated, mismatch, number};
use crate::journey::model::{JsonType, Predicate};
use crate::journey::template::{Engine, Scope, TemplateError};
use crate::runner::result::Mismatch;

/// The predicate with its template values (`eq: "{{ order_id }}"`) rendered.
pub(super) fn render_predicate<'p>(
    predicate: &'p Predicate,
    engine: &Engine,
    scope: &Scope,
) -> Result<Cow<'p, Predicate>, TemplateError> {
    let render = |v| engine.render_json(v, scope);
    Ok(Cow::Owned(match predicate {
        Predicate::Eq(v) => Predicate::Eq(render(v)?),
        Predicate::Ne(v) => Predicate::Ne(render(v)?),
        Predicate::Contains(v) => Predicate::Contains(render(v)?),
        Predicate::OneOf(vs) => Predicate::OneOf(vs.iter().map(render).collect::<Result<_, _>>()?),
        other => return Ok(Cow::Borrowed(other)),
    }))
}

/// The `expected` text of a rendered predicate: `eq "shipped"`, `len_gt 0`.
pub(super) fn describe(predicate: &Predicate) -> String {
    match predicate {
        Predicate::Eq(v) => format!("eq {}", compact(v)),
        Predicate::Ne(v) => format!("ne {}", compact(v)),
        Predicate::Gt(n) => format!("gt {}", number(*n)),
        Predicate::Gte(n) => format!("gte {}", number(*n)),
        Predicate::Lt(n) => format!("lt {}", number(*n)),
        Predicate::Lte(n) => format!("lte {}", number(*n)),
        Predicate::Contains(v) => format!("contains {}", compact(v)),
        Predicate::Matches(re) => format!("matches /{re}/"),
        Predicate::Exists(true) => "exists".to_string(),
        Predicate::Exists(false) => "does not exist".to_string(),
        Predicate::Len(n) => format!("len {n}"),
        Predicate::LenGt(n) => format!("len_gt {n}"),
        Predicate::LenLt(n) => format!("len_lt {n}"),
        Predicate::OneOf(vs) => {
            let items: Vec<String> = vs.iter().map(compact).collect();
            format!("one of [{}]", items.join(", "))
        }
        Predicate::Type(t) => format!("type {}", t.as_str()),
    }
}

/// Evaluates a JSONPath predicate on the selected `(location, value)` nodes.
pub(super) fn eval_json(
    subject: &str,
    nodes: &[(String, &Value)],
    predicate: &Predicate,
    engine: &Engine,
    scope: &Scope,
) -> Result<Option<Mismatch>, TemplateError> {
    let predicate = render_predicate(predicate, engine, scope)?;
    let predicate = predicate.as_ref();
    let fail = |actual: String| Some(mismatch(subject, describe(predicate), actual));
    match (predicate, nodes) {
        (Predicate::Exists(true), []) => return Ok(fail("(no value at path)".to_string())),
        (Predicate::Exists(true), _) | (Predicate::Exists(false), []) => return Ok(None),
        (Predicate::Exists(false), [(_, v)]) => return Ok(fail(compact_truncated(v))),
        (Predicate::Exists(false), many) => {
            return Ok(fail(format!("{} values", many.len())));
        }
        (_, []) => return Ok(fail("(no value at path)".to_string())),
        (Predicate::Len(_) | Predicate::LenGt(_) | Predicate::LenLt(_), many) if many.len() > 1 => {
            return Ok(if len_holds(predicate, many.len()) {
                None
            } else {
                fail(format!("{} values", many.len()))
            });
        }
        _ => {}
    }
    for (location, value) in nodes {
        if let Err(why) = check(predicate, value) {
            let mut actual = compact_truncated(value);
            if let Some(why) = why {
                actual = format!("{actual} ({why})");
            }
            // Several nodes: say which one failed.
            if nodes.len() > 1 {
                actual = format!("{actual} at {location}");
            }
            return Ok(fail(actual));
        }
    }
    Ok(None)
}

/// `Ok` when `value` satisfies the (rendered) predicate; `Err(Some(why))` when
/// it cannot (wrong type), `Err(None)` when it simply does not.
pub(super) fn check(predicate: &Predicate, value: &Value) -> Result<(), Option<Cow<'static, str>>> {
    let holds = match predicate {
        Predicate::Eq(want) => json_eq(value, want),
        Predicate::Ne(want) => !json_eq(value, want),
        Predicate::Contains(want) => return contains(value, want),
        Predicate::OneOf(options) => options.iter().any(|o| json_eq(value, o)),
        Predicate::Gt(_) | Predicate::Gte(_) | Predicate::Lt(_) | Predicate::Lte(_) => {
            // Numbers only: a numeric string is a different value in JSON.
            let Some(actual) = value.as_f64().filter(|_| value.is_number()) else {
                return Err(Some("not a number".into()));
            };
            match *predicate {
                Predicate::Gt(n) => actual > n,
                Predicate::Gte(n) => actual >= n,
                Predicate::Lt(n) => actual < n,
                Predicate::Lte(n) => actual <= n,
                _ => false,
            }
        }
        Predicate::Matches(re) => match value.as_str() {
            Some(s) => re.is_match(s),
            None => return Err(Some("not a string".into())),
        },
        Predicate::Len(_) | Predicate::LenGt(_) | Predicate::LenLt(_) => {
            let len = match value {
                Value::Array(a) => a.len(),
                Value::String(s) => s.chars().count(),
                Value::Object(o) => o.len(),
                _ => return Err(Some("has no length".into())),
            };
            if !len_holds(predicate, len) {
                return Err(Some(format!("length {len}").into()));
            }
            true
        }
        Predicate::Type(t) => json_type(value) == *t,
        // Decided on the node list by the caller.
        Predicate::Exists(_) => true,
    };
    if holds { Ok(()) } else { Err(None) }
}

fn len_holds(predicate: &Predicate, len: usize) -> bool {
    match predicate {
        Predicate::Len(n) => len == *n,
        Predicate::LenGt(n) => len > *n,
        Predicate::LenLt(n) => len < *n,
        _ => true,
    }
}

fn contains(value: &Value, want: &Value) -> Result<(), Option<Cow<'static, str>>> {
    let holds = match (value, want) {
        (Value::String(s), Value::String(w)) => s.contains(w.as_str()),
        // A captured number or bool looked for in a string: use its JSON text
        // (`contains: "{{ order_id }}"` where order_id is 42).
        (Value::String(s), Value::Number(_) | Value::Bool(_)) => s.contains(&want.to_string()),
        (Value::String(_), _) => {
            return Err(Some("a string cannot contain an array or object".into()));
        }
        (Value::Array(items), _) => items.iter().any(|item| json_eq(item, want)),
        _ => return Err(Some("not a string or array".into())),
    };
    if holds { Ok(()) } else { Err(None) }
}

/// JSON equality where numbers compare numerically (`1 == 1.0`), recursively.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            // Integers compare exactly; anything else as f64.
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn json_type(value: &Value) -> JsonType {
    match value {
        Value::Null => JsonType::Null,
        Value::Bool(_) => JsonType::Bool,
        Value::Number(_) => JsonType::Number,
        Value::String(_) => JsonType::String,
        Value::Array(_) => JsonType::Array,
        Value::Object(_) => JsonType::Object,
    }
}
