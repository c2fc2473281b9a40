//! Templating on minijinja: `{{ base }}/api/orders/{{ order_id }}`.
//!
//! Templates see vars and captures (`order_id`), environment variables
//! (`env.SHOP_URL`), secrets (`secret.test_card`) and the [`GENERATORS`].
//! Undefined names are errors that name the variable, never empty strings: an
//! empty order id in a URL would turn a clear template failure into a
//! confusing 404 from the target.
//!
//! Compiled templates are cached in the engine, keyed by their source, so a
//! journey that runs every few seconds parses each template once. The cache
//! grows with the number of distinct templates ever rendered, which is bounded
//! by the journeys loaded over the daemon's life.

mod error;
mod fast;
mod filters;
mod generators;
mod json;
mod source;
mod text;

pub use error::TemplateError;
use error::error_range;
pub use source::Template;

use text::{char_offset, find_name, is_literal, undefined_message};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{PoisonError, RwLock};

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

pub use generators::{GENERATORS, MAX_RANDOM_DIGITS};

/// One variable a template reads: `order_id`, `env.SHOP_URL`, `secret.test_card`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reference {
    /// A var or a capture (generators are never reported).
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
///
/// Filters: minijinja's builtins (`default`, `lower`, `upper`, `urlencode`, ...)
/// plus `base64` and `b64decode`. Undefined values are errors (strict mode), and
/// nothing is HTML-escaped: templates build URLs, headers and JSON, not pages.
pub struct Engine {
    /// Compiled templates are registered under their own source text. Writes
    /// only happen the first time a template is seen.
    env: RwLock<Environment<'static>>,
    /// Names of the environment's globals (builtin functions like `range`, and
    /// `random_digits`): defined everywhere, so never references.
    globals: BTreeSet<String>,
    /// Same filters and functions, undefined values allowed: a dry run at load
    /// time finds unknown filters and functions, which minijinja only reports
    /// when rendering.
    lenient: Environment<'static>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// A new engine.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // The default callback picks HTML escaping from the template name, and our
        // names are the sources: `{{ base }}/index.html` would get escaped.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // A raw body written as a YAML block scalar ends in a newline; it must be sent.
        env.set_keep_trailing_newline(true);
        // Debug mode snapshots the context (secrets included) into errors; error
        // positions are available without it.
        env.set_debug(false);
        env.set_formatter(filters::json_formatter);
        filters::register(&mut env);
        let globals = env.globals().map(|(name, _)| name.to_string()).collect();
        let mut lenient = Environment::new();
        lenient.set_undefined_behavior(UndefinedBehavior::Lenient);
        filters::register(&mut lenient);
        Self {
            env: RwLock::new(env),
            globals,
            lenient,
        }
    }

    /// Renders `source` with nothing defined and reports only unknown filters,
    /// functions and tests (everything else depends on run-time values).
    fn check_callables(&self, source: &str) -> Result<(), TemplateError> {
        use minijinja::ErrorKind;
        match self.lenient.render_str(source, minijinja::context! {}) {
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::UnknownFilter | ErrorKind::UnknownFunction | ErrorKind::UnknownTest
                ) =>
            {
                Err(TemplateError {
                    message: e
                        .detail()
                        .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind())),
                    offset: None,
                })
            }
            _ => Ok(()),
        }
    }

    /// Syntax-checks `source` and lists the variables it reads, ordered by first
    /// appearance. Generators and builtin functions are not listed.
    pub fn references(&self, source: &str) -> Result<Vec<Reference>, TemplateError> {
        if is_literal(source) {
            return Ok(Vec::new());
        }
        let names = self.with_template(source, |t| t.undeclared_variables(true))?;
        self.check_callables(source)?;
        let mut found: Vec<(usize, Reference)> = Vec::new();
        for name in names {
            let pos = find_name(source, &name);
            let mut parts = name.split('.');
            let head = parts.next().unwrap_or_default();
            let reference = match (head, parts.next()) {
                ("env", Some(var)) => Reference::Env(var.to_string()),
                ("secret", Some(key)) => Reference::Secret(key.to_string()),
                ("env" | "secret", None) => {
                    return Err(TemplateError {
                        message: format!("`{head}` needs a name: use {head}.NAME"),
                        offset: pos.map(|p| char_offset(source, p)),
                    });
                }
                (var, _) if GENERATORS.contains(&var) || self.globals.contains(var) => continue,
                (var, _) => Reference::Var(var.to_string()),
            };
            found.push((pos.unwrap_or(usize::MAX), reference));
        }
        found.sort();
        let mut seen = BTreeSet::new();
        Ok(found
            .into_iter()
            .filter_map(|(_, r)| seen.insert(r.clone()).then_some(r))
            .collect())
    }

    /// Renders a template to a string.
    pub fn render(&self, t: &Template, scope: &Scope) -> Result<String, TemplateError> {
        if t.is_literal() {
            return Ok(t.source.clone());
        }
        if let Some(text) = fast::render(&t.source, scope) {
            return Ok(text);
        }
        self.render_str(&t.source, &context(scope), scope)
    }

    /// Renders `source` with a prepared context.
    fn render_str(
        &self,
        source: &str,
        ctx: &Value,
        scope: &Scope,
    ) -> Result<String, TemplateError> {
        if is_literal(source) {
            return Ok(source.to_string());
        }
        self.with_template(source, |t| t.render(ctx))?
            .map_err(|e| self.render_error(&e, source, 0, scope))
    }

    /// Evaluates the expression of a one-expression leaf (`leaf` is the whole
    /// string, used to name undefined variables) and converts it to JSON.
    fn eval_expression(
        &self,
        leaf: &str,
        expr: &str,
        ctx: &Value,
        scope: &Scope,
    ) -> Result<serde_json::Value, TemplateError> {
        // Errors point into the expression; shift them to the leaf.
        let shift = (expr.as_ptr() as usize).saturating_sub(leaf.as_ptr() as usize);
        let value = {
            let env = self.env.read().unwrap_or_else(PoisonError::into_inner);
            let compiled = env
                .compile_expression_owned(expr.to_string())
                .map_err(|e| TemplateError::from_minijinja_at(&e, leaf, shift))?;
            compiled.eval(ctx)
        }
        .map_err(|e| self.render_error(&e, leaf, shift, scope))?;
        // Strict mode only rejects undefined values when they are printed or
        // iterated; a bare expression result is neither, so check here.
        if value.is_undefined() {
            return Err(self
                .name_undefined(leaf, scope, None)
                .unwrap_or_else(|| TemplateError::new(format!("`{expr}` is undefined"))));
        }
        serde_json::to_value(&value)
            .map_err(|e| TemplateError::new(format!("`{expr}` is not representable as JSON: {e}")))
    }

    /// Runs `f` on the compiled template for `source`, compiling and caching it
    /// the first time.
    fn with_template<R>(
        &self,
        source: &str,
        f: impl FnOnce(&minijinja::Template<'_, '_>) -> R,
    ) -> Result<R, TemplateError> {
        {
            let env = self.env.read().unwrap_or_else(PoisonError::into_inner);
            if let Ok(t) = env.get_template(source) {
                return Ok(f(&t));
            }
        }
        self.env
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .add_template_owned(source.to_string(), source.to_string())
            .map_err(|e| TemplateError::from_minijinja(&e, source))?;
        let env = self.env.read().unwrap_or_else(PoisonError::into_inner);
        let t = env
            .get_template(source)
            .map_err(|e| TemplateError::from_minijinja(&e, source))?;
        Ok(f(&t))
    }

    /// Turns a render error into a message; undefined errors name the variable.
    /// The error's positions are `shift` bytes into `source`.
    fn render_error(
        &self,
        err: &minijinja::Error,
        source: &str,
        shift: usize,
        scope: &Scope,
    ) -> TemplateError {
        let range = error_range(err, shift);
        if err.kind() == ErrorKind::UndefinedError
            && let Some(named) = self.name_undefined(source, scope, range.clone())
        {
            return named;
        }
        let mut converted = TemplateError::from_minijinja_at(err, source, shift);
        // Quote the failing expression so the author can find it in a long template.
        if let Some(text) = range.and_then(|r| source.get(r)) {
            let text = text.trim_start_matches(['{', '%', '-', '+']);
            let text = text.trim_end_matches(['}', '%', '-', '+']).trim();
            converted.message = format!("{} in `{text}`", converted.message);
        }
        converted
    }

    /// minijinja's undefined error does not say which name was undefined, so
    /// look for a name the template reads that the scope cannot resolve,
    /// preferring one inside the failing expression (`failing`, byte range).
    fn name_undefined(
        &self,
        source: &str,
        scope: &Scope,
        failing: Option<std::ops::Range<usize>>,
    ) -> Option<TemplateError> {
        let names = self
            .with_template(source, |t| t.undeclared_variables(true))
            .ok()?;
        let mut missing: Vec<(usize, String)> = names
            .into_iter()
            .filter(|n| !resolves(n, scope, &self.globals))
            .map(|n| (find_name(source, &n).unwrap_or(usize::MAX), n))
            .collect();
        missing.sort();
        let (pos, name) = failing
            .and_then(|r| missing.iter().find(|(p, _)| r.contains(p)).cloned())
            .or_else(|| missing.into_iter().next())?;
        Some(TemplateError {
            message: undefined_message(&name),
            offset: (pos != usize::MAX).then(|| char_offset(source, pos)),
        })
    }
}

/// The context of one render: generators, then vars (a var may shadow a
/// generator), then `env` and `secret`, which always mean what they say.
fn context(scope: &Scope) -> Value {
    let mut ctx: BTreeMap<&str, Value> = BTreeMap::new();
    generators::insert(&mut ctx);
    for (name, value) in &scope.vars {
        ctx.insert(name, Value::from_serialize(value));
    }
    ctx.insert("env", Value::from_serialize(&scope.env));
    ctx.insert("secret", Value::from_serialize(&scope.secrets));
    Value::from_iter(ctx)
}

/// Whether a dotted name (`order.id`, `env.SHOP_URL`) has a value in `scope`.
fn resolves(name: &str, scope: &Scope, globals: &BTreeSet<String>) -> bool {
    let mut parts = name.split('.');
    let head = parts.next().unwrap_or_default();
    match head {
        "env" => parts.next().is_none_or(|n| scope.env.contains_key(n)),
        "secret" => parts.next().is_none_or(|n| scope.secrets.contains_key(n)),
        _ => match scope.vars.get(head) {
            Some(mut value) => {
                for part in parts {
                    match value.get(part) {
                        Some(inner) => value = inner,
                        None => return false,
                    }
                }
                true
            }
            None => GENERATORS.contains(&head) || globals.contains(head),
        },
    }
}

#[cfg(test)]
mod tests;
