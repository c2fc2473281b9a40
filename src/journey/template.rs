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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{PoisonError, RwLock};

use base64::Engine as _;
use chrono::{SecondsFormat, Utc};
use minijinja::value::{Value, ValueKind};
use minijinja::{
    AutoEscape, Environment, ErrorKind, Output, State, UndefinedBehavior, escape_formatter,
};
use rand::Rng;

use super::model::Template;

/// Names always defined in templates besides vars and captures.
pub const GENERATORS: &[&str] = &["uuid", "now", "now_unix", "random_digits"];

/// Largest `n` accepted by `random_digits(n)`.
pub const MAX_RANDOM_DIGITS: usize = 64;

/// A template failed to compile or render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// Human message naming the undefined variable or the syntax problem.
    pub message: String,
    /// Where in the template source the problem is, in characters from its start
    /// (0-based), when known. Add it to the template's column to point at the spot.
    pub offset: Option<usize>,
}

impl TemplateError {
    /// An error without a position.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            offset: None,
        }
    }

    /// Converts a minijinja error on `source`, dropping minijinja's own
    /// `(in <string>:1)` suffix: our callers report the journey file position.
    fn from_minijinja(err: &minijinja::Error, source: &str) -> Self {
        Self::from_minijinja_at(err, source, 0)
    }

    /// Like [`Self::from_minijinja`] for an error on a part of `source` that
    /// starts `shift` bytes in (the expression of a JSON leaf).
    fn from_minijinja_at(err: &minijinja::Error, source: &str, shift: usize) -> Self {
        let message = match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        };
        Self {
            message,
            offset: error_range(err, shift).map(|r| char_offset(source, r.start)),
        }
    }
}

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
        env.set_formatter(json_formatter);
        env.add_filter("base64", base64_filter);
        env.add_filter("b64decode", b64decode_filter);
        env.add_function("random_digits", random_digits);
        let globals = env.globals().map(|(name, _)| name.to_string()).collect();
        let mut lenient = Environment::new();
        lenient.set_undefined_behavior(UndefinedBehavior::Lenient);
        lenient.add_filter("base64", base64_filter);
        lenient.add_filter("b64decode", b64decode_filter);
        lenient.add_function("random_digits", random_digits);
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
        if Template::new(source).is_literal() {
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
        self.render_str(&t.source, &context(scope), scope)
    }

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
        self.render_json_with(v, &context(scope), scope)
    }

    fn render_json_with(
        &self,
        v: &serde_json::Value,
        ctx: &Value,
        scope: &Scope,
    ) -> Result<serde_json::Value, TemplateError> {
        use serde_json::Value as J;
        Ok(match v {
            J::String(s) => match single_expression(s) {
                Some(expr) => self.eval_expression(s, expr, ctx, scope)?,
                None => J::String(self.render_str(s, ctx, scope)?),
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
                        self.render_str(key, ctx, scope)?,
                        self.render_json_with(value, ctx, scope)?,
                    );
                }
                J::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Renders `source` with a prepared context.
    fn render_str(
        &self,
        source: &str,
        ctx: &Value,
        scope: &Scope,
    ) -> Result<String, TemplateError> {
        if Template::new(source).is_literal() {
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
    let now = Utc::now();
    let mut ctx: BTreeMap<&str, Value> = BTreeMap::new();
    ctx.insert("uuid", Value::from(uuid::Uuid::new_v4().to_string()));
    ctx.insert(
        "now",
        Value::from(now.to_rfc3339_opts(SecondsFormat::Secs, true)),
    );
    ctx.insert("now_unix", Value::from(now.timestamp()));
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

/// The message for an undefined dotted name, with the fix for env and secrets.
fn undefined_message(name: &str) -> String {
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
fn secret_env_var(key: &str) -> String {
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
fn find_name(source: &str, name: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    source.match_indices(name).map(|(i, _)| i).find(|&i| {
        let before = source[..i].chars().next_back();
        let after = source[i + name.len()..].chars().next();
        !before.is_some_and(|c| is_ident(c) || c == '.') && !after.is_some_and(is_ident)
    })
}

/// Converts a byte offset into a character offset.
fn char_offset(source: &str, byte: usize) -> usize {
    source.char_indices().take_while(|(i, _)| *i < byte).count()
}

/// The byte range of an error, moved `shift` bytes into the enclosing source.
fn error_range(err: &minijinja::Error, shift: usize) -> Option<std::ops::Range<usize>> {
    err.range().map(|r| r.start + shift..r.end + shift)
}

/// The expression of a string that is exactly one `{{ expression }}`.
fn single_expression(s: &str) -> Option<&str> {
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
fn has_template(v: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match v {
        J::String(s) => !Template::new(s.as_str()).is_literal(),
        J::Array(items) => items.iter().any(has_template),
        J::Object(map) => map
            .iter()
            .any(|(k, v)| !Template::new(k.as_str()).is_literal() || has_template(v)),
        _ => false,
    }
}

/// Prints values the way the web reads them: `true`, `null` and JSON for
/// objects and arrays, where minijinja would print `True`, `none` and a
/// Python-like form (a raw JSON body with `{{ paid }}` must stay valid JSON).
///
/// A custom formatter also takes over minijinja's strict check on printing an
/// undefined value, so it is done here. Unlike minijinja's own check, it also
/// rejects `{{ x if cond }}` without `else` when `cond` is false, as Jinja2's
/// strict mode does.
fn json_formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), minijinja::Error> {
    match value.kind() {
        ValueKind::Undefined => Err(minijinja::Error::from(ErrorKind::UndefinedError)),
        ValueKind::Bool => Ok(out.write_str(if value.is_true() { "true" } else { "false" })?),
        ValueKind::None => Ok(out.write_str("null")?),
        ValueKind::Map | ValueKind::Seq => match serde_json::to_string(value) {
            Ok(json) => Ok(out.write_str(&json)?),
            // Maps with non-string keys have no JSON form.
            Err(_) => escape_formatter(out, state, value),
        },
        _ => escape_formatter(out, state, value),
    }
}

/// `{{ "user:pass" | base64 }}`: standard base64 (with padding) of the text.
fn base64_filter(value: &Value) -> String {
    let text = match value.as_str() {
        Some(s) => s.to_string(),
        None => value.to_string(),
    };
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// `{{ encoded | b64decode }}`: decodes standard base64 into UTF-8 text.
fn b64decode_filter(value: &str) -> Result<String, minijinja::Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| {
            minijinja::Error::new(ErrorKind::InvalidOperation, format!("b64decode: {e}"))
        })?;
    String::from_utf8(bytes).map_err(|_| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            "b64decode: the decoded bytes are not UTF-8 text",
        )
    })
}

/// `random_digits(n)`: `n` random decimal digits, for unique phone numbers,
/// card suffixes and the like.
fn random_digits(n: usize) -> Result<String, minijinja::Error> {
    if n > MAX_RANDOM_DIGITS {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("random_digits({n}): at most {MAX_RANDOM_DIGITS} digits"),
        ));
    }
    let mut rng = rand::rng();
    Ok((0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope() -> Scope {
        let mut s = Scope::default();
        s.vars.insert("base".into(), json!("https://shop.test"));
        s.vars.insert("order_id".into(), json!(42));
        s.vars.insert("price".into(), json!(1.5));
        s.vars.insert("paid".into(), json!(true));
        s.vars
            .insert("order".into(), json!({"id": "ord_1", "lines": [1, 2]}));
        s.vars.insert("q".into(), json!("<a&b>"));
        s.env.insert("SHOP_URL".into(), "https://env.test".into());
        s.secrets.insert("test_card".into(), "4242".into());
        s
    }

    fn render(source: &str) -> Result<String, TemplateError> {
        Engine::new().render(&Template::new(source), &scope())
    }

    #[test]
    fn renders_vars_env_secrets_and_filters() {
        let cases = [
            ("plain text", "plain text"),
            (
                "{{ base }}/orders/{{ order_id }}",
                "https://shop.test/orders/42",
            ),
            (
                "{{ price }} {{ paid }} {{ not paid }} {{ none }}",
                "1.5 true false null",
            ),
            ("{{ order }}", r#"{"id":"ord_1","lines":[1,2]}"#),
            ("{\"paid\": {{ paid }}}", r#"{"paid": true}"#),
            ("{{ order.id }} {{ order.lines | length }}", "ord_1 2"),
            ("{{ env.SHOP_URL }}", "https://env.test"),
            ("{{ secret.test_card }}", "4242"),
            ("{{ 'AbC' | lower }}{{ 'AbC' | upper }}", "abcABC"),
            ("{{ 'a b&c/d' | urlencode }}", "a%20b%26c/d"),
            ("{{ 'user:pass' | base64 }}", "dXNlcjpwYXNz"),
            ("{{ 'dXNlcjpwYXNz' | b64decode }}", "user:pass"),
            ("{% if paid %}yes{% endif %}", "yes"),
        ];
        for (source, want) in cases {
            assert_eq!(render(source).as_deref(), Ok(want), "{source}");
        }
    }

    #[test]
    fn output_is_never_html_escaped() {
        // The name of a cached template is its source; one ending in `.html`
        // would switch minijinja's default escaping on.
        assert_eq!(
            render("{{ q }}/index.html").as_deref(),
            Ok("<a&b>/index.html")
        );
    }

    #[test]
    fn trailing_newline_is_kept() {
        assert_eq!(render("id={{ order_id }}\n").as_deref(), Ok("id=42\n"));
    }

    #[test]
    fn undefined_variable_is_named() {
        let cases = [
            ("{{ base }}/{{ missing }}", "undefined variable `missing`"),
            ("{{ order.nope }}", "undefined variable `order.nope`"),
            (
                "{{ env.NOPE }}",
                "undefined variable `env.NOPE` (set the environment variable NOPE or add `| default(...)`)",
            ),
            (
                "{{ secret.api_key }}",
                "secret `api_key` is not set (set JOURNEYD_SECRET_API_KEY or put a file named api_key in the secrets directory)",
            ),
            ("{{ missing | upper }}", "undefined variable `missing`"),
            ("{{ 'x' if false }}", "undefined value in `'x' if false`"),
            (
                "{{ base | nope }}",
                "unknown filter: filter nope is unknown in `nope`",
            ),
        ];
        for (source, want) in cases {
            let err = render(source).expect_err(source);
            assert_eq!(err.message, want, "{source}");
        }
    }

    #[test]
    fn undefined_error_points_at_the_variable() {
        let err = render("{{ base }}/{{ missing }}").expect_err("undefined");
        assert_eq!(err.offset, Some(14));
    }

    #[test]
    fn undefined_in_later_expression_names_that_one() {
        // Both are missing; the first expression is guarded by `default`.
        let err = render("{{ first | default('x') }}-{{ second }}").expect_err("undefined");
        assert_eq!(err.message, "undefined variable `second`");
    }

    #[test]
    fn default_filter_works_on_missing_env() {
        let cases = [
            (
                "{{ env.NOPE | default('http://localhost') }}",
                "http://localhost",
            ),
            ("{{ missing | default(3) }}", "3"),
            ("{{ secret.nope | default('none') }}", "none"),
            ("{{ env.SHOP_URL | default('unused') }}", "https://env.test"),
        ];
        for (source, want) in cases {
            assert_eq!(render(source).as_deref(), Ok(want), "{source}");
        }
    }

    #[test]
    fn uuid_differs_per_render() {
        let engine = Engine::new();
        let t = Template::new("{{ uuid }}");
        let a = engine.render(&t, &scope()).expect("render");
        let b = engine.render(&t, &scope()).expect("render");
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).expect("a uuid");
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn now_is_rfc3339_utc_seconds() {
        let before = Utc::now().timestamp();
        let out = render("{{ now }}|{{ now_unix }}").expect("render");
        let (now, unix) = out.split_once('|').expect("separator");
        assert!(now.ends_with('Z') && now.len() == 20, "{now}");
        let parsed = chrono::DateTime::parse_from_rfc3339(now).expect("rfc3339");
        let unix: i64 = unix.parse().expect("integer");
        assert_eq!(parsed.timestamp(), unix);
        assert!((before..=before + 5).contains(&unix));
    }

    #[test]
    fn random_digits_gives_n_digits() {
        for n in [0usize, 1, 8, 64] {
            let out = render(&format!("{{{{ random_digits({n}) }}}}")).expect("render");
            assert_eq!(out.len(), n);
            assert!(out.chars().all(|c| c.is_ascii_digit()), "{out}");
        }
        let err = render("{{ random_digits(65) }}").expect_err("too many");
        assert!(err.message.contains("at most 64"), "{}", err.message);
    }

    #[test]
    fn var_shadows_generator() {
        let engine = Engine::new();
        let mut s = scope();
        s.vars.insert("uuid".into(), json!("fixed"));
        assert_eq!(
            engine.render(&Template::new("{{ uuid }}"), &s).as_deref(),
            Ok("fixed")
        );
    }

    #[test]
    fn references_lists_what_the_template_reads_in_order() {
        use Reference::*;
        let cases: [(&str, Vec<Reference>); 4] = [
            (
                "{{ base }}/{{ env.SHOP }}/{{ secret.card }}/{{ order.id }}",
                vec![
                    Var("base".into()),
                    Env("SHOP".into()),
                    Secret("card".into()),
                    Var("order".into()),
                ],
            ),
            (
                "{{ uuid }}{{ now }}{{ now_unix }}{{ random_digits(4) }}{{ range(2) | join }}",
                vec![],
            ),
            (
                "{% for l in order.lines %}{{ l }}{% endfor %}{% set x = 1 %}{{ x }}",
                vec![Var("order".into())],
            ),
            (
                "{{ order_id }}{{ order.id }}{{ order_id }}",
                vec![Var("order_id".into()), Var("order".into())],
            ),
        ];
        let engine = Engine::new();
        for (source, want) in cases {
            assert_eq!(engine.references(source), Ok(want), "{source}");
        }
    }

    #[test]
    fn bare_env_or_secret_is_an_error() {
        let engine = Engine::new();
        for (source, want) in [
            ("{{ env }}", "`env` needs a name: use env.NAME"),
            (
                "{{ secret | length }}",
                "`secret` needs a name: use secret.NAME",
            ),
        ] {
            let err = engine.references(source).expect_err(source);
            assert_eq!(err.message, want);
            assert_eq!(err.offset, Some(3));
        }
    }

    #[test]
    fn syntax_error_has_clean_message_and_offset() {
        let engine = Engine::new();
        let err = engine
            .references("{{ base }}/{{ order_id")
            .expect_err("syntax");
        assert_eq!(
            err.message,
            "syntax error: unexpected end of input, expected end of variable block"
        );
        assert!(err.offset.is_some());
        let err = engine.references("é{{ a + }}").expect_err("syntax");
        assert!(err.message.starts_with("syntax error: "), "{}", err.message);
        assert_eq!(err.offset, Some(8), "offset counts characters, not bytes");
    }

    #[test]
    fn json_leaf_expression_keeps_its_type() {
        let engine = Engine::new();
        let cases = [
            (json!("{{ order_id }}"), json!(42)),
            (json!("{{order_id}}"), json!(42)),
            (json!("{{- order_id -}}"), json!(42)),
            (json!("{{ price }}"), json!(1.5)),
            (json!("{{ paid }}"), json!(true)),
            (
                json!("{{ order }}"),
                json!({"id": "ord_1", "lines": [1, 2]}),
            ),
            (json!("{{ order.lines }}"), json!([1, 2])),
            (json!("{{ order_id + 1 }}"), json!(43)),
            (json!("{{ none }}"), json!(null)),
            (json!("{{ missing | default(7) }}"), json!(7)),
            (json!("id-{{ order_id }}"), json!("id-42")),
            (json!("{{ order_id }}-{{ order_id }}"), json!("42-42")),
            (json!(" {{ order_id }}"), json!(" 42")),
            (json!(5), json!(5)),
        ];
        for (input, want) in cases {
            assert_eq!(engine.render_json(&input, &scope()), Ok(want), "{input}");
        }
    }

    #[test]
    fn render_json_renders_nested_leaves_and_keys() {
        let input = json!({
            "order": "{{ order_id }}",
            "meta_{{ order.id }}": ["{{ base }}/x", {"card": "{{ secret.test_card }}"}, null],
            "n": 1
        });
        let want = json!({
            "order": 42,
            "meta_ord_1": ["https://shop.test/x", {"card": "4242"}, null],
            "n": 1
        });
        assert_eq!(Engine::new().render_json(&input, &scope()), Ok(want));
    }

    #[test]
    fn render_json_names_undefined_leaf() {
        let engine = Engine::new();
        for (input, want) in [
            (
                json!({"a": ["{{ missing }}"]}),
                "undefined variable `missing`",
            ),
            (json!("x-{{ env.NOPE }}"), "undefined variable `env.NOPE`"),
            (json!("{{ order.nope }}"), "undefined variable `order.nope`"),
        ] {
            let err = engine.render_json(&input, &scope()).expect_err("undefined");
            assert!(err.message.starts_with(want), "{input}: {}", err.message);
        }
    }

    #[test]
    fn json_leaf_errors_point_into_the_leaf() {
        let engine = Engine::new();
        let err = engine
            .render_json(&json!("{{  order_id + 'x' }}"), &scope())
            .expect_err("type error");
        assert!(
            err.message.contains("in `order_id + 'x'`"),
            "{}",
            err.message
        );
        assert_eq!(err.offset, Some(4));
        let err = engine
            .render_json(&json!("{{  order_id + }}"), &scope())
            .expect_err("syntax error");
        assert!(err.message.starts_with("syntax error"), "{}", err.message);
        assert_eq!(err.offset, Some(13), "the dangling `+`");
    }

    #[test]
    fn engine_is_shared_across_tasks() {
        fn shareable<T: Send + Sync>(_: &T) {}
        let engine = std::sync::Arc::new(Engine::new());
        shareable(&engine);
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let engine = engine.clone();
                std::thread::spawn(move || {
                    let mut s = scope();
                    s.vars.insert("order_id".into(), json!(i));
                    engine.render(&Template::new("n={{ order_id }}"), &s)
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(
                h.join().expect("thread").as_deref(),
                Ok(format!("n={i}").as_str())
            );
        }
    }

    #[test]
    fn cached_template_renders_with_each_scope() {
        let engine = Engine::new();
        let t = Template::new("{{ order_id }}");
        let mut s = scope();
        assert_eq!(engine.render(&t, &s).as_deref(), Ok("42"));
        s.vars.insert("order_id".into(), json!(7));
        assert_eq!(engine.render(&t, &s).as_deref(), Ok("7"));
        s.vars.remove("order_id");
        assert!(engine.render(&t, &s).is_err());
    }
}
