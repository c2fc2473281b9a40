//! Validation of the raw journey and construction of the model. Pure apart
//! from checking that referenced TLS files exist. Every problem is recorded
//! and building continues, so one `journeyd check` shows them all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use indexmap::IndexMap;

use super::JourneyDefaults;
use super::raw::{RawDefaults, RawJourney, RawTls, S, Value};
pub(super) use super::step::Defaults;
use crate::diagnostics::{Diagnostic, decode_yaml};
use crate::journey::model::*;
use crate::journey::template::{Engine, GENERATORS};
use crate::units::{DurationRange, limits, parse_duration_in, parse_size_in};

pub(super) use crate::diagnostics::loc;

/// Decodes a journey file into raw types.
pub(super) fn decode_raw(file: &Path, source: &str) -> Result<RawJourney, Vec<Diagnostic>> {
    decode_yaml(file, source)
}

/// Request timeout of steps when neither the step nor `defaults` sets one.
const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(10);

const DEFAULT_MAX_BODY: u64 = 1 << 20;

/// Variables visible at some point of the journey.
#[derive(Default, Clone)]
pub(super) struct Known {
    pub(super) vars: BTreeSet<String>,
    /// capture name → the step that captures it
    pub(super) captures: BTreeMap<String, String>,
}

/// Accumulates diagnostics while building the model.
pub(super) struct Builder<'a> {
    pub(super) file: &'a Path,
    pub(super) engine: &'a Engine,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) known: Known,
    /// Every capture of the journey (name → step), for "used before captured" hints.
    pub(super) all_captures: BTreeMap<String, String>,
    /// Variables referenced by the step being built.
    pub(super) uses: BTreeSet<String>,
    /// Interval and timeout for journeys that set none.
    pub(super) defaults: JourneyDefaults,
    /// Secrets referenced anywhere.
    pub(super) secrets: BTreeSet<String>,
    /// Environment variables referenced anywhere.
    pub(super) env: BTreeSet<String>,
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
        let interval = self.duration_or(
            raw.interval.as_ref(),
            "interval",
            limits::INTERVAL,
            self.defaults.interval,
        );
        let timeout = self.duration_or(
            raw.timeout.as_ref(),
            "timeout",
            limits::JOURNEY_TIMEOUT,
            self.defaults.timeout,
        );
        let labels = self.labels(raw.labels.as_ref());
        let runbook = raw.runbook.as_ref().map(|r| {
            if !(r.value.starts_with("https://") || r.value.starts_with("http://")) {
                self.err(loc(r), "runbook", "runbook must be an http(s) URL");
            }
            r.value.clone()
        });
        let locations = self.locations(raw.locations.as_ref());
        let max_body = self.max_body(raw.max_body.as_ref());
        let tls = raw.tls.as_ref().map(|t| self.tls(t)).unwrap_or_default();
        let trace = self.trace(raw.trace.as_ref());
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
        // After the main steps: the journey's diagnostics may read any of their captures.
        let diagnostics = self.journey_diagnostics(&raw, &defaults);
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
            locations,
            vars,
            secrets: std::mem::take(&mut self.secrets).into_iter().collect(),
            env: std::mem::take(&mut self.env).into_iter().collect(),
            max_body_bytes: max_body,
            tls,
            trace,
            diagnostics,
            steps,
            cleanup,
        })
    }

    pub(super) fn journey_name(&mut self, name: &S<String>) -> String {
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

    /// Parses a duration key within its documented range (see [`limits`]).
    pub(super) fn duration(
        &mut self,
        d: &S<String>,
        path: &str,
        range: DurationRange,
    ) -> Option<Duration> {
        match parse_duration_in(&d.value, range) {
            Ok(v) => Some(v),
            Err(m) => {
                self.err(loc(d), path, m.to_string());
                None
            }
        }
    }

    pub(super) fn duration_or(
        &mut self,
        d: Option<&S<String>>,
        path: &str,
        range: DurationRange,
        default: Duration,
    ) -> Duration {
        d.and_then(|d| self.duration(d, path, range))
            .unwrap_or(default)
    }

    pub(super) fn labels(
        &mut self,
        labels: Option<&S<IndexMap<String, String>>>,
    ) -> BTreeMap<String, String> {
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

    pub(super) fn max_body(&mut self, v: Option<&S<Value>>) -> u64 {
        let Some(v) = v else {
            return DEFAULT_MAX_BODY;
        };
        let text = match &v.value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        match parse_size_in(&text, limits::MAX_BODY) {
            Ok(n) => n,
            Err(m) => {
                self.err(loc(v), "max_body", m.to_string());
                DEFAULT_MAX_BODY
            }
        }
    }

    pub(super) fn tls(&mut self, t: &RawTls) -> TlsOptions {
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

    pub(super) fn vars(&mut self, raw: &IndexMap<String, S<Value>>) -> Vec<(String, Template)> {
        // Exact capacity: kept for the journey's life, and a Vec's first growth
        // makes room for four (224 bytes for one variable).
        let mut out = Vec::with_capacity(raw.len());
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

    pub(super) fn defaults(&mut self, d: Option<&RawDefaults>) -> Defaults {
        let mut out = Defaults {
            headers: Vec::new(),
            timeout: DEFAULT_STEP_TIMEOUT,
            redirects: Redirects::default(),
            retry: Retry::default(),
        };
        let Some(d) = d else {
            return out;
        };
        out.retry = self.retry("defaults.retry", d.retry.as_ref(), &out.retry);
        out.headers = self.headers(&d.headers, "defaults.headers");
        if let Some(t) = d
            .timeout
            .as_ref()
            .and_then(|t| self.duration(t, "defaults.timeout", limits::STEP_TIMEOUT))
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
}
