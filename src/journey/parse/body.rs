//! `expect.body`: text checks (`contains`, `matches`) and `schema: FILE`, a
//! JSON Schema read and compiled when the journey is loaded, so `check`
//! reports a missing file or a bad schema at its `file:line:col` and a run
//! only validates.

use std::path::Path;
use std::sync::Arc;

use super::build::{Builder, loc};
use super::raw::{S, Value};
use super::values::*;
use crate::journey::model::*;

pub(super) const BODY_CHECKS: &[&str] = &["contains", "matches", "schema"];

impl Builder<'_> {
    pub(super) fn body_checks(&mut self, path: &str, v: &S<Value>) -> Vec<Expectation> {
        let checks = match &v.value {
            Value::Object(map) => self.keyed(path, loc(v), map, BODY_CHECKS),
            Value::String(_) => vec![("contains".to_string(), v.value.clone())],
            _ => {
                self.err(
                    loc(v),
                    path,
                    "expected text (contains) or `{ contains, matches, schema }`",
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (k, val) in checks {
            match (k.as_str(), &val) {
                ("contains", Value::Array(items)) => {
                    for item in items {
                        let t = self.template(&scalar_text(item), loc(v), path);
                        out.push(Expectation::BodyContains(t));
                    }
                }
                ("contains", _) => {
                    let t = self.template(&scalar_text(&val), loc(v), path);
                    out.push(Expectation::BodyContains(t));
                }
                ("matches", _) => {
                    out.extend(self.regex(&val, loc(v), path).map(Expectation::BodyMatches))
                }
                ("schema", _) => out.extend(
                    self.body_schema(&val, loc(v), &format!("{path}.schema"))
                        .map(Expectation::BodySchema),
                ),
                _ => {}
            }
        }
        out
    }

    /// Reads and compiles the schema file `v` (relative to the journey file).
    pub(super) fn body_schema(
        &mut self,
        v: &Value,
        at: Location,
        path: &str,
    ) -> Option<BodySchema> {
        let source = scalar_text(v);
        let file = self.file.parent().unwrap_or(Path::new(".")).join(&source);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                self.err(at, path, format!("cannot read the schema `{}`: {e} (relative paths are relative to the journey file)", file.display()));
                return None;
            }
        };
        let schema: serde_json::Value = match serde_json::from_str(&text) {
            Ok(s) => s,
            Err(e) => {
                self.err(
                    at,
                    path,
                    format!("schema `{}` is not JSON: {e}", file.display()),
                );
                return None;
            }
        };
        match jsonschema::validator_for(&schema) {
            Ok(validator) => Some(BodySchema {
                source,
                validator: Arc::new(validator),
            }),
            Err(e) => {
                self.err(
                    at,
                    path,
                    format!(
                        "schema `{}` is not a valid JSON Schema at `{}`: {e}",
                        file.display(),
                        e.instance_path().as_str()
                    ),
                );
                None
            }
        }
    }
}
