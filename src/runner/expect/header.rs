//! Header expectations. `equals`, `matches` and `exists` are header-specific;
//! `contains`, `one_of` and the numeric comparisons reuse the JSONPath
//! [`Predicate`] model on the header value, so both read and behave alike.

use serde_json::Value;

use super::json::{check, describe, render_predicate};
use super::{ResponseView, mismatch, quote, truncate};
use crate::journey::model::{HeaderCheck, Predicate};
use crate::journey::template::{Engine, Scope, TemplateError};
use crate::runner::result::Mismatch;

/// A mismatch when no value of header `name` satisfies `check`.
pub(super) fn eval_header(
    name: &str,
    check: &HeaderCheck,
    resp: &ResponseView<'_>,
    engine: &Engine,
    scope: &Scope,
) -> Result<Option<Mismatch>, TemplateError> {
    let values: Vec<&str> = resp.header_values(name).collect();
    // A repeated header passes when any of its values does.
    let (holds, expected) = match check {
        HeaderCheck::Equals(t) => {
            let want = engine.render(t, scope)?;
            (
                values.contains(&want.as_str()),
                format!("eq {}", quote(&want)),
            )
        }
        HeaderCheck::Matches(re) => (
            values.iter().any(|v| re.is_match(v)),
            format!("matches /{re}/"),
        ),
        HeaderCheck::Exists(true) => (!values.is_empty(), "present".to_string()),
        HeaderCheck::Exists(false) => (values.is_empty(), "absent".to_string()),
        HeaderCheck::Predicate(p) => {
            let p = render_predicate(p, engine, scope)?;
            let p = p.as_ref();
            (
                values.iter().any(|v| eval_header_predicate(p, v)),
                describe(p),
            )
        }
    };
    if holds {
        return Ok(None);
    }
    let actual = if values.is_empty() {
        "(absent)".to_string()
    } else {
        truncate(&values.join(", "))
    };
    Ok(Some(mismatch(&format!("header {name}"), expected, actual)))
}

/// Whether one header value satisfies a (rendered) predicate. A header is
/// text: the numeric comparisons read it as a number (`content-length: { gt: 0 }`),
/// and a value that is not one fails them.
pub(super) fn eval_header_predicate(predicate: &Predicate, value: &str) -> bool {
    let as_json = match predicate {
        Predicate::Gt(_) | Predicate::Gte(_) | Predicate::Lt(_) | Predicate::Lte(_) => {
            match value
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Some(n) => Value::Number(n),
                None => return false,
            }
        }
        _ => Value::String(value.to_string()),
    };
    check(predicate, &as_json).is_ok()
}
