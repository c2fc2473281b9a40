//! Validation of the raw journey and construction of the model. Pure apart
//! from checking that referenced TLS files exist. Every problem is recorded
//! and building continues, so one `journeyd check` shows them all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use indexmap::IndexMap;

use super::JourneyDefaults;
use super::raw::{RawDefaults, RawJourney, RawRequest, RawStep, RawTls, S, Value};
use crate::diagnostics::{Diagnostic, closest, decode_yaml};
use crate::units::{parse_duration, parse_size};

/// Decodes a journey file into raw types.
pub(super) fn decode_raw(file: &Path, source: &str) -> Result<RawJourney, Vec<Diagnostic>> {
    decode_yaml(file, source)
}
use crate::journey::model::*;
use crate::journey::template::{Engine, GENERATORS, Reference};

const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_BODY: u64 = 1 << 20;
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
pub(super) use crate::diagnostics::loc;

/// Variables visible at some point of the journey.
#[derive(Default, Clone)]
struct Known {
    vars: BTreeSet<String>,
    /// capture name → the step that captures it
    captures: BTreeMap<String, String>,
}

/// Accumulates diagnostics while building the model.
pub(super) struct Builder<'a> {
    file: &'a Path,
    engine: &'a Engine,
    diags: Vec<Diagnostic>,
    known: Known,
    /// Every capture of the journey (name → step), for "used before captured" hints.
    all_captures: BTreeMap<String, String>,
    /// Variables referenced by the step being built.
    uses: BTreeSet<String>,
    /// Interval and timeout for journeys that set none.
    defaults: JourneyDefaults,
    /// Secrets referenced anywhere.
    secrets: BTreeSet<String>,
    /// Environment variables referenced anywhere.
    env: BTreeSet<String>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(file: &'a Path, engine: &'a Engine, defaults: JourneyDefaults) -> Self {
        Self {
            defaults,
            file,
            engine,
            diags: Vec::new(),
            known: Known::default(),
            all_captures: BTreeMap::new(),
            uses: BTreeSet::new(),
            secrets: BTreeSet::new(),
            env: BTreeSet::new(),
        }
    }

    /// Records a problem.
    pub(super) fn err(&mut self, loc: Location, path: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: self.file.to_path_buf(),
            loc,
            path: path.to_string(),
            message: message.into(),
        });
    }

    pub(super) fn build(mut self, raw: RawJourney) -> Result<Journey, Vec<Diagnostic>> {
        let name = self.journey_name(&raw.name);
        let interval = self.duration_or(raw.interval.as_ref(), "interval", self.defaults.interval);
        let timeout = self.duration_or(raw.timeout.as_ref(), "timeout", self.defaults.timeout);
        let labels = self.labels(raw.labels.as_ref());
        let runbook = raw.runbook.as_ref().map(|r| {
            if !(r.value.starts_with("https://") || r.value.starts_with("http://")) {
                self.err(loc(r), "runbook", "runbook must be an http(s) URL");
            }
            r.value.clone()
        });
        let max_body = self.max_body(raw.max_body.as_ref());
        let tls = raw.tls.as_ref().map(|t| self.tls(t)).unwrap_or_default();
        let vars = self.vars(&raw.vars);
        let defaults = self.defaults(raw.defaults.as_ref());
        let sections = [("steps", &raw.steps.value), ("cleanup", &raw.cleanup)];
        for (section, steps) in sections {
            for (i, s) in steps.iter().enumerate() {
                for key in s.value.capture.keys() {
                    self.all_captures
                        .entry(key.clone())
                        .or_insert_with(|| format!("`{}` ({section}[{i}])", s.value.name.value));
                }
            }
        }
        if raw.steps.value.is_empty() {
            self.err(
                loc(&raw.steps),
                "steps",
                "a journey needs at least one step",
            );
        }
        let steps = self.steps("steps", &raw.steps.value, &defaults);
        let cleanup = self.steps("cleanup", &raw.cleanup, &defaults);
        self.unique_step_names(&raw);
        if !self.diags.is_empty() {
            self.diags.sort_by_key(|d| d.loc);
            return Err(self.diags);
        }
        Ok(Journey {
            name,
            name_loc: loc(&raw.name),
            description: raw.description,
            source: self.file.to_path_buf(),
            interval,
            timeout,
            labels,
            runbook,
            vars,
            secrets: std::mem::take(&mut self.secrets).into_iter().collect(),
            env: std::mem::take(&mut self.env).into_iter().collect(),
            max_body_bytes: max_body,
            tls,
            steps,
            cleanup,
        })
    }

    fn journey_name(&mut self, name: &S<String>) -> String {
        let n = name.value.trim();
        let ok = !n.is_empty()
            && n.len() <= 64
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            self.err(
                loc(name),
                "name",
                format!("journey name `{n}` must be 1-64 characters of letters, digits, `-`, `_` or `.` (it appears in metric labels and URLs)"),
            );
        }
        n.to_string()
    }

    pub(super) fn duration(&mut self, d: &S<String>, path: &str) -> Option<Duration> {
        match parse_duration(&d.value) {
            Ok(v) => Some(v),
            Err(m) => {
                self.err(loc(d), path, m);
                None
            }
        }
    }

    fn duration_or(&mut self, d: Option<&S<String>>, path: &str, default: Duration) -> Duration {
        d.and_then(|d| self.duration(d, path)).unwrap_or(default)
    }

    fn labels(&mut self, labels: Option<&S<IndexMap<String, String>>>) -> BTreeMap<String, String> {
        let Some(labels) = labels else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for (k, v) in &labels.value {
            if let Err(e) = crate::labels::check_name(k) {
                self.err(loc(labels), &format!("labels.{k}"), e.to_string());
            }
            out.insert(k.clone(), v.clone());
        }
        out
    }

    fn max_body(&mut self, v: Option<&S<Value>>) -> u64 {
        let Some(v) = v else {
            return DEFAULT_MAX_BODY;
        };
        let text = match &v.value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        match parse_size(&text) {
            Ok(n) => n,
            Err(m) => {
                self.err(loc(v), "max_body", m);
                DEFAULT_MAX_BODY
            }
        }
    }

    fn tls(&mut self, t: &RawTls) -> TlsOptions {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let file = |b: &mut Self, f: &Option<S<String>>, key: &str| {
            f.as_ref().map(|f| {
                let p = dir.join(&f.value);
                if !p.is_file() {
                    b.err(loc(f), &format!("tls.{key}"), format!("file `{}` does not exist (relative paths are relative to the journey file)", p.display()));
                }
                p
            })
        };
        let ca_file = file(self, &t.ca_file, "ca_file");
        let client_cert = file(self, &t.client_cert, "client_cert");
        let client_key = file(self, &t.client_key, "client_key");
        if client_cert.is_some() != client_key.is_some() {
            let at = t
                .client_cert
                .as_ref()
                .or(t.client_key.as_ref())
                .map(loc)
                .unwrap_or_default();
            self.err(at, "tls", "mTLS needs both `client_cert` and `client_key`");
        }
        TlsOptions {
            ca_file,
            client_cert,
            client_key,
            insecure_skip_verify: t.insecure_skip_verify,
        }
    }

    fn vars(&mut self, raw: &IndexMap<String, S<Value>>) -> Vec<(String, Template)> {
        let mut out = Vec::new();
        for (name, value) in raw {
            let path = format!("vars.{name}");
            self.variable_name(name, loc(value), &path);
            if let Some(t) = self.scalar_template(value, &path) {
                out.push((name.clone(), t));
            }
            // Defined after its own template was checked: a var cannot use itself.
            self.known.vars.insert(name.clone());
        }
        out
    }

    pub(super) fn variable_name(&mut self, name: &str, at: Location, path: &str) {
        let ident = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident {
            self.err(at, path, format!("variable name `{name}` must be letters, digits and `_`, not starting with a digit"));
        } else if GENERATORS.contains(&name) || name == "env" || name == "secret" {
            self.err(
                at,
                path,
                format!("`{name}` is a built-in name; choose another variable name"),
            );
        }
    }

    fn defaults(&mut self, d: Option<&RawDefaults>) -> Defaults {
        let mut out = Defaults {
            headers: Vec::new(),
            timeout: DEFAULT_STEP_TIMEOUT,
            redirects: Redirects::default(),
        };
        let Some(d) = d else {
            return out;
        };
        out.headers = self.headers(&d.headers, "defaults.headers");
        if let Some(t) = d
            .timeout
            .as_ref()
            .and_then(|t| self.duration(t, "defaults.timeout"))
        {
            out.timeout = t;
        }
        if let Some(f) = d.follow_redirects {
            out.redirects.follow = f;
        }
        if let Some(m) = d.max_redirects {
            out.redirects.max = m;
        }
        out
    }

    pub(super) fn headers(
        &mut self,
        raw: &IndexMap<String, S<Value>>,
        path: &str,
    ) -> Vec<(String, Template)> {
        let mut out = Vec::new();
        for (name, value) in raw {
            let p = format!("{path}.{name}");
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.err(
                    loc(value),
                    &p,
                    format!("`{name}` is not a valid HTTP header name"),
                );
            }
            if let Some(t) = self.scalar_template(value, &p) {
                out.push((name.to_ascii_lowercase(), t));
            }
        }
        out
    }

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

    fn check_var(&mut self, v: &str, at: Location, path: &str) {
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

    fn steps(&mut self, section: &str, raw: &[S<RawStep>], defaults: &Defaults) -> Vec<Step> {
        let mut out = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            let path = format!("{section}[{i}]");
            let step = self.step(&path, s, defaults);
            for key in s.value.capture.keys() {
                self.known
                    .captures
                    .insert(key.clone(), s.value.name.value.clone());
            }
            out.push(step);
        }
        out
    }

    fn step(&mut self, path: &str, s: &S<RawStep>, defaults: &Defaults) -> Step {
        self.uses.clear();
        let raw = &s.value;
        let name = raw.name.value.trim().to_string();
        if name.is_empty() || name.len() > 100 {
            self.err(
                loc(&raw.name),
                &format!("{path}.name"),
                "step name must be 1-100 characters",
            );
        }
        let backend = raw.backend.as_ref().map(|b| {
            let ok = !b.value.is_empty()
                && b.value.len() <= 64
                && b.value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok {
                self.err(loc(b), &format!("{path}.backend"), "backend must be 1-64 characters of letters, digits, `-`, `_` or `.` (it is a metric label)");
            }
            b.value.clone()
        });
        let (request, timeout) = self.request(&format!("{path}.request"), &raw.request, defaults);
        let expect = match &raw.expect {
            Some(e) => self.expect(&format!("{path}.expect"), e),
            None => Vec::new(),
        };
        let eventually = raw
            .eventually
            .as_ref()
            .and_then(|e| self.eventually(&format!("{path}.eventually"), e));
        let fail_fast = match &raw.fail_fast {
            Some(f) if raw.eventually.is_none() => {
                self.err(loc(f), &format!("{path}.fail_fast"), "fail_fast only makes sense with `eventually`: add `eventually: { within: 30s }` or remove fail_fast");
                Vec::new()
            }
            Some(f) => self.expect(&format!("{path}.fail_fast"), f),
            None => Vec::new(),
        };
        let captures = self.captures(&format!("{path}.capture"), &raw.capture);
        let warn_duration = raw
            .warn_duration
            .as_ref()
            .and_then(|w| self.duration(w, &format!("{path}.warn_duration")));
        Step {
            name,
            loc: loc(s),
            backend,
            request,
            timeout,
            expect,
            fail_fast,
            captures,
            eventually,
            warn_duration,
            uses: std::mem::take(&mut self.uses).into_iter().collect(),
        }
    }

    fn request(
        &mut self,
        path: &str,
        r: &S<RawRequest>,
        defaults: &Defaults,
    ) -> (RequestSpec, Duration) {
        let raw = &r.value;
        let method = match &raw.method {
            Some(m) => {
                let upper = m.value.to_ascii_uppercase();
                if !METHODS.contains(&upper.as_str()) {
                    self.err(
                        loc(m),
                        &format!("{path}.method"),
                        format!(
                            "unknown method `{}`; use one of {}",
                            m.value,
                            METHODS.join(", ")
                        ),
                    );
                }
                upper
            }
            None => "GET".to_string(),
        };
        let url = self.template(&raw.url.value, loc(&raw.url), &format!("{path}.url"));
        if url.is_literal() {
            match url::Url::parse(&url.source) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(u) => self.err(
                    url.loc,
                    &format!("{path}.url"),
                    format!("unsupported scheme `{}`: use http or https", u.scheme()),
                ),
                Err(e) => self.err(
                    url.loc,
                    &format!("{path}.url"),
                    format!("invalid URL `{}`: {e}", url.source),
                ),
            }
        }
        let query = raw
            .query
            .iter()
            .filter_map(|(k, v)| {
                self.scalar_template(v, &format!("{path}.query.{k}"))
                    .map(|t| (k.clone(), t))
            })
            .collect();
        let mut headers = defaults.headers.clone();
        for (name, t) in self.headers(&raw.headers, &format!("{path}.headers")) {
            headers.retain(|(n, _)| *n != name);
            headers.push((name, t));
        }
        let body = self.body(path, raw);
        let timeout = raw
            .timeout
            .as_ref()
            .and_then(|t| self.duration(t, &format!("{path}.timeout")))
            .unwrap_or(defaults.timeout);
        let mut redirects = defaults.redirects;
        if let Some(f) = raw.follow_redirects {
            redirects.follow = f;
        }
        if let Some(m) = &raw.max_redirects {
            redirects.max = m.value;
        }
        (
            RequestSpec {
                method,
                url,
                query,
                headers,
                body,
                redirects,
            },
            timeout,
        )
    }

    fn body(&mut self, path: &str, raw: &RawRequest) -> Option<BodySpec> {
        let given = [raw.json.is_some(), raw.form.is_some(), raw.body.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            let at = loc(&raw.url);
            self.err(
                at,
                path,
                "a request has at most one of `json`, `form` and `body`",
            );
            return None;
        }
        if let Some(j) = &raw.json {
            self.json_templates(&j.value, loc(j), &format!("{path}.json"));
            return Some(BodySpec::Json(j.value.clone()));
        }
        if let Some(f) = &raw.form {
            let fields = f
                .value
                .iter()
                .filter_map(|(k, v)| {
                    self.scalar_template(v, &format!("{path}.form.{k}"))
                        .map(|t| (k.clone(), t))
                })
                .collect();
            return Some(BodySpec::Form(fields));
        }
        raw.body
            .as_ref()
            .map(|b| BodySpec::Raw(self.template(&b.value, loc(b), &format!("{path}.body"))))
    }

    fn unique_step_names(&mut self, raw: &RawJourney) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let all = raw
            .steps
            .value
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("steps[{i}]"), s))
            .chain(
                raw.cleanup
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (format!("cleanup[{i}]"), s)),
            );
        for (path, s) in all {
            let name = s.value.name.value.trim().to_string();
            if let Some(first) = seen.get(&name) {
                let msg = format!(
                    "step name `{name}` is already used by {first}; step names must be unique within a journey"
                );
                self.err(loc(&s.value.name), &format!("{path}.name"), msg);
            } else {
                seen.insert(name, path);
            }
        }
    }
}

/// Journey-wide request defaults.
struct Defaults {
    headers: Vec<(String, Template)>,
    timeout: Duration,
    redirects: Redirects,
}
