//! `body: { schema: FILE }`: the JSON body validated against a JSON Schema
//! compiled when the journey was loaded. Each violation is its own mismatch
//! naming where in the body it is (the instance path) and which rule of the
//! schema it breaks, so an API contract drift reads at once.

use super::{ResponseView, mismatch, truncate};
use crate::journey::model::BodySchema;
use crate::runner::result::Mismatch;

/// Violations reported per expectation: a body that breaks the contract
/// everywhere would otherwise bury the other mismatches.
const MAX_VIOLATIONS: usize = 5;

/// Every violation of `schema` by the response body (empty = valid).
pub(super) fn eval_schema(schema: &BodySchema, resp: &ResponseView<'_>) -> Vec<Mismatch> {
    let expected = |rule: &str| format!("matches schema {} ({rule})", schema.source);
    let Some(json) = resp.json else {
        return vec![mismatch(
            "body",
            expected("a JSON body"),
            "body is not JSON",
        )];
    };
    let errors: Vec<_> = schema.validator.iter_errors(json).collect();
    let mut out: Vec<Mismatch> = errors
        .iter()
        .take(MAX_VIOLATIONS)
        .map(|e| {
            let at = e.instance_path().as_str();
            let at = if at.is_empty() { "/" } else { at };
            let rule = format!("{} at #{}", e.kind().keyword(), e.schema_path().as_str());
            mismatch(
                &format!("body {at}"),
                expected(&rule),
                truncate(&e.to_string()),
            )
        })
        .collect();
    if errors.len() > MAX_VIOLATIONS {
        out.push(mismatch(
            "body",
            expected("every rule"),
            format!("{} more violations", errors.len() - MAX_VIOLATIONS),
        ));
    }
    out
}
