//! Templates in a journey: syntax checks, and variables checked against what
//! is defined at that point (vars, earlier captures, `env`, `secret`).

use super::build::{Builder, loc};
use super::raw::{S, Value};
use crate::diagnostics::closest;
use crate::journey::model::*;
use crate::journey::template::{GENERATORS, Reference};

impl Builder<'_> {
    /// A scalar (text, number, bool) taken as a template.
    pub(super) fn scalar_template(&mut self, v: &S<Value>, path: &str) -> Option<Template> {
        let text = match &v.value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                self.err(loc(v), path, "expected a text value");
                return None;
            }
        };
        Some(self.template(&text, loc(v), path))
    }

    /// Checks a template's syntax and that every variable it reads is defined at this point.
    pub(super) fn template(&mut self, source: &str, at: Location, path: &str) -> Template {
        let t = Template {
            source: source.to_string(),
            loc: at,
        };
        if t.is_literal() {
            return t;
        }
        match self.engine.references(source) {
            Err(e) => self.err(at, path, format!("invalid template: {}", e.message)),
            Ok(refs) => {
                for r in refs {
                    match r {
                        Reference::Var(v) => self.check_var(&v, at, path),
                        Reference::Secret(s) => {
                            self.secrets.insert(s);
                        }
                        Reference::Env(e) => {
                            self.env.insert(e);
                        }
                    }
                }
            }
        }
        t
    }

    pub(super) fn check_var(&mut self, v: &str, at: Location, path: &str) {
        self.uses.insert(v.to_string());
        if self.known.vars.contains(v) || self.known.captures.contains_key(v) {
            return;
        }
        let msg = if let Some(step) = self.all_captures.get(v) {
            format!(
                "variable `{v}` is used before it is defined: it is captured by step {step}, which has not run at this point"
            )
        } else {
            let names: Vec<&str> = self
                .known
                .vars
                .iter()
                .chain(self.known.captures.keys())
                .map(String::as_str)
                .chain(GENERATORS.iter().copied())
                .collect();
            match closest(v, names) {
                Some(best) => format!("undefined variable `{v}`; did you mean `{best}`?"),
                None => format!(
                    "undefined variable `{v}`: define it under `vars`, capture it in an earlier step, or use `env.NAME` / `secret.NAME`"
                ),
            }
        };
        self.err(at, path, msg);
    }

    /// Checks the templates in every string leaf of a JSON value.
    pub(super) fn json_templates(&mut self, v: &Value, at: Location, path: &str) {
        match v {
            Value::String(s) => {
                self.template(s, at, path);
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.json_templates(item, at, &format!("{path}[{i}]"));
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    self.template(k, at, path);
                    self.json_templates(item, at, &format!("{path}.{k}"));
                }
            }
            _ => {}
        }
    }
}
