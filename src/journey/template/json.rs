//! JSON bodies: every string leaf and object key rendered, a leaf that is one
//! expression keeping the expression's JSON type.

use minijinja::value::Value;

use super::text::{has_template, is_literal, single_expression};
use super::{Engine, Scope, TemplateError, context, fast};

impl Engine {
    /// Renders every string leaf and object key of a JSON value.
    ///
    /// A leaf that is exactly one `{{ expression }}` keeps the expression's JSON
    /// type, so `"{{ quantity }}"` sends `3`, not `"3"`. Generators hold one value
    /// for the whole document: `{{ uuid }}` is the same in every leaf.
    pub fn render_json(
        &self,
        v: &serde_json::Value,
        scope: &Scope,
    ) -> Result<serde_json::Value, TemplateError> {
        if !has_template(v) {
            return Ok(v.clone());
        }
        // The minijinja context is built only if a leaf needs it (most leaves are
        // plain names, rendered by `fast`); generators keep one value per document.
        let ctx = std::cell::OnceCell::new();
        self.render_json_with(v, &ctx, scope)
    }

    fn render_json_with(
        &self,
        v: &serde_json::Value,
        ctx: &std::cell::OnceCell<Value>,
        scope: &Scope,
    ) -> Result<serde_json::Value, TemplateError> {
        use serde_json::Value as J;
        Ok(match v {
            J::String(s) => match single_expression(s) {
                Some(expr) => match fast::lookup(expr, scope) {
                    Some(found) => found.to_json(),
                    None => {
                        self.eval_expression(s, expr, ctx.get_or_init(|| context(scope)), scope)?
                    }
                },
                None => J::String(self.render_leaf(s, ctx, scope)?),
            },
            J::Array(items) => J::Array(
                items
                    .iter()
                    .map(|item| self.render_json_with(item, ctx, scope))
                    .collect::<Result<_, _>>()?,
            ),
            J::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (key, value) in map {
                    out.insert(
                        self.render_leaf(key, ctx, scope)?,
                        self.render_json_with(value, ctx, scope)?,
                    );
                }
                J::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Renders a string leaf or key of a JSON document.
    fn render_leaf(
        &self,
        source: &str,
        ctx: &std::cell::OnceCell<Value>,
        scope: &Scope,
    ) -> Result<String, TemplateError> {
        if is_literal(source) {
            return Ok(source.to_string());
        }
        match fast::render(source, scope) {
            Some(text) => Ok(text),
            None => self.render_str(source, ctx.get_or_init(|| context(scope)), scope),
        }
    }
}
