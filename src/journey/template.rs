//! Templating (minijinja): `{{ base }}/api/orders/{{ order_id }}`.
//! OWNER: helper C — stub, to be implemented.

use std::collections::BTreeMap;

use super::model::Template;

/// Names always defined in templates besides vars and captures.
pub const GENERATORS: &[&str] = &["uuid", "now", "now_unix", "random_digits"];

/// A template failed to compile or render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// Human message naming the undefined variable or the syntax problem.
    pub message: String,
}

/// One variable a template reads: `order_id`, `env.SHOP_URL`, `secret.test_card`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reference {
    /// A var, a capture or a generator.
    Var(String),
    /// `env.NAME`
    Env(String),
    /// `secret.NAME`
    Secret(String),
}

/// Values visible to templates during one run.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Vars and captures.
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Environment variables (`env.NAME`).
    pub env: BTreeMap<String, String>,
    /// Loaded secrets (`secret.NAME`).
    pub secrets: BTreeMap<String, String>,
}

/// The template engine with journeyd's filters and generators.
#[derive(Debug)]
pub struct Engine {}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// A new engine.
    pub fn new() -> Self {
        todo!()
    }

    /// Syntax-checks `source` and lists the variables it reads.
    pub fn references(&self, _source: &str) -> Result<Vec<Reference>, TemplateError> {
        todo!()
    }

    /// Renders a template to a string.
    pub fn render(&self, _t: &Template, _scope: &Scope) -> Result<String, TemplateError> {
        todo!()
    }

    /// Renders every string leaf of a JSON value.
    pub fn render_json(
        &self,
        _v: &serde_json::Value,
        _scope: &Scope,
    ) -> Result<serde_json::Value, TemplateError> {
        todo!()
    }
}
