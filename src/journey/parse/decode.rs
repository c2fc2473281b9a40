//! Hand decoding of the polymorphic parts of a step: status, header and body
//! checks, JSONPath predicates, captures and `eventually`. They accept
//! several shapes (`status: 200`, `status: [201, 202]`, `status: 2xx`), which
//! serde's untagged enums would reject with "did not match any variant".

use indexmap::IndexMap;
use regex::Regex;
use serde_json_path::JsonPath;

use super::build::{Builder, loc};
use super::raw::{RawEventually, RawExpect, S, Value};
use crate::diagnostics::closest;
use crate::journey::model::*;

const PREDICATES: &[&str] = &[
    "eq", "ne", "gt", "gte", "lt", "lte", "contains", "matches", "exists", "len", "len_gt",
    "len_lt", "one_of", "type",
];
const CAPTURE_SOURCES: &[&str] = &["json", "header", "cookie", "regex", "status", "url"];
const HEADER_CHECKS: &[&str] = &["equals", "matches", "exists"];
const BODY_CHECKS: &[&str] = &["contains", "matches"];

impl Builder<'_> {
    pub(super) fn expect(&mut self, path: &str, e: &S<RawExpect>) -> Vec<Expectation> {
        let raw = &e.value;
        let mut out = Vec::new();
        if let Some(s) = &raw.status {
            out.extend(self.status(&format!("{path}.status"), s));
        }
        for (name, check) in &raw.headers {
            out.extend(self.header_check(&format!("{path}.headers.{name}"), name, check));
        }
        if let Some(b) = &raw.body {
            out.extend(self.body_checks(&format!("{path}.body"), b));
        }
        for (p, preds) in &raw.json {
            out.extend(self.json_predicates(&format!("{path}.json.{p}"), p, preds));
        }
        if let Some(d) = &raw.max_duration
            && let Some(d) = self.duration(d, &format!("{path}.max_duration"))
        {
            out.push(Expectation::MaxDuration(d));
        }
        if let Some(days) = &raw.cert_valid_days {
            out.push(Expectation::CertValidDays(days.value));
        }
        out
    }

    fn status(&mut self, path: &str, s: &S<Value>) -> Option<Expectation> {
        let items: Vec<&Value> = match &s.value {
            Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        let mut matches = Vec::new();
        for item in items {
            match status_match(item) {
                Some(m) => matches.push(m),
                None => {
                    self.err(loc(s), path, format!("invalid status `{}`: use a code (200), a class (2xx) or a list of them", compact(item)));
                    return None;
                }
            }
        }
        if matches.is_empty() {
            self.err(loc(s), path, "status list is empty");
            return None;
        }
        Some(Expectation::Status(matches))
    }

    fn header_check(&mut self, path: &str, name: &str, v: &S<Value>) -> Vec<Expectation> {
        let name = name.to_ascii_lowercase();
        let checks = match &v.value {
            Value::Object(map) => self.keyed(path, loc(v), map, HEADER_CHECKS),
            Value::String(_) | Value::Number(_) => vec![("equals".to_string(), v.value.clone())],
            _ => {
                self.err(
                    loc(v),
                    path,
                    "expected a value or `{ equals | matches | exists }`",
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (k, val) in checks {
            let check = match k.as_str() {
                "equals" => Some(HeaderCheck::Equals(self.template(
                    &scalar_text(&val),
                    loc(v),
                    path,
                ))),
                "matches" => self.regex(&val, loc(v), path).map(HeaderCheck::Matches),
                "exists" => self.boolean(&val, loc(v), path).map(HeaderCheck::Exists),
                _ => None,
            };
            if let Some(check) = check {
                out.push(Expectation::Header {
                    name: name.clone(),
                    check,
                });
            }
        }
        out
    }

    fn body_checks(&mut self, path: &str, v: &S<Value>) -> Vec<Expectation> {
        let checks = match &v.value {
            Value::Object(map) => self.keyed(path, loc(v), map, BODY_CHECKS),
            Value::String(_) => vec![("contains".to_string(), v.value.clone())],
            _ => {
                self.err(
                    loc(v),
                    path,
                    "expected text (contains) or `{ contains, matches }`",
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
                _ => {}
            }
        }
        out
    }

    fn json_predicates(&mut self, path: &str, json_path: &str, v: &S<Value>) -> Vec<Expectation> {
        let compiled = match JsonPath::parse(json_path) {
            Ok(p) => p,
            Err(e) => {
                self.err(loc(v), path, format!("invalid JSONPath `{json_path}`: {e} (paths start with `$`, like `$.items[0].id`)"));
                return Vec::new();
            }
        };
        let preds = match &v.value {
            Value::Object(map) => self.keyed(path, loc(v), map, PREDICATES),
            // `"$.status": shipped` is shorthand for `eq`.
            other => vec![("eq".to_string(), other.clone())],
        };
        let mut out = Vec::new();
        for (k, val) in preds {
            let p = format!("{path}.{k}");
            if let Some(predicate) = self.predicate(&k, &val, loc(v), &p) {
                out.push(Expectation::Json {
                    path_source: json_path.to_string(),
                    path: compiled.clone(),
                    predicate,
                });
            }
        }
        out
    }

    fn predicate(&mut self, key: &str, val: &Value, at: Location, path: &str) -> Option<Predicate> {
        let number = |b: &mut Self| match val.as_f64() {
            Some(n) => Some(n),
            None => {
                b.err(
                    at,
                    path,
                    format!("`{key}` needs a number, got `{}`", compact(val)),
                );
                None
            }
        };
        let count = |b: &mut Self| match val.as_u64() {
            Some(n) => Some(n as usize),
            None => {
                b.err(
                    at,
                    path,
                    format!("`{key}` needs a whole number, got `{}`", compact(val)),
                );
                None
            }
        };
        Some(match key {
            "eq" | "ne" | "contains" => {
                self.json_templates(val, at, path);
                match key {
                    "eq" => Predicate::Eq(val.clone()),
                    "ne" => Predicate::Ne(val.clone()),
                    _ => Predicate::Contains(val.clone()),
                }
            }
            "gt" => Predicate::Gt(number(self)?),
            "gte" => Predicate::Gte(number(self)?),
            "lt" => Predicate::Lt(number(self)?),
            "lte" => Predicate::Lte(number(self)?),
            "matches" => Predicate::Matches(self.regex(val, at, path)?),
            "exists" => Predicate::Exists(self.boolean(val, at, path)?),
            "len" => Predicate::Len(count(self)?),
            "len_gt" => Predicate::LenGt(count(self)?),
            "len_lt" => Predicate::LenLt(count(self)?),
            "one_of" => match val {
                Value::Array(items) if !items.is_empty() => {
                    self.json_templates(val, at, path);
                    Predicate::OneOf(items.clone())
                }
                _ => {
                    self.err(
                        at,
                        path,
                        "`one_of` needs a non-empty list, like `one_of: [paid, shipped]`",
                    );
                    return None;
                }
            },
            "type" => Predicate::Type(self.json_type(val, at, path)?),
            _ => return None,
        })
    }

    fn json_type(&mut self, val: &Value, at: Location, path: &str) -> Option<JsonType> {
        let all = [
            JsonType::Null,
            JsonType::Bool,
            JsonType::Number,
            JsonType::String,
            JsonType::Array,
            JsonType::Object,
        ];
        let name = scalar_text(val);
        let found = all.into_iter().find(|t| t.as_str() == name);
        if found.is_none() {
            self.err(
                at,
                path,
                format!(
                    "unknown type `{name}`; use one of null, bool, number, string, array, object"
                ),
            );
        }
        found
    }

    pub(super) fn captures(
        &mut self,
        path: &str,
        raw: &IndexMap<String, S<Value>>,
    ) -> Vec<Capture> {
        let mut out = Vec::new();
        for (name, v) in raw {
            let p = format!("{path}.{name}");
            self.variable_name(name, loc(v), &p);
            if let Some(c) = self.capture(name, v, &p) {
                out.push(c);
            }
        }
        out
    }

    fn capture(&mut self, name: &str, v: &S<Value>, path: &str) -> Option<Capture> {
        let Value::Object(map) = &v.value else {
            self.err(loc(v), path, "expected a capture like `{ json: \"$.id\" }`, `{ header: location }`, `{ cookie: session }`, `{ regex: \"id=(\\\\d+)\" }`, `{ status: true }` or `{ url: true }`");
            return None;
        };
        let mut allowed: Vec<&str> = CAPTURE_SOURCES.to_vec();
        allowed.extend(["secret", "group"]);
        let entries = self.keyed(path, loc(v), map, &allowed);
        let secret = match map.get("secret") {
            Some(s) => self.boolean(s, loc(v), path)?,
            None => false,
        };
        let sources: Vec<&(String, Value)> = entries
            .iter()
            .filter(|(k, _)| CAPTURE_SOURCES.contains(&k.as_str()))
            .collect();
        let [(kind, val)] = sources.as_slice() else {
            self.err(
                loc(v),
                path,
                format!(
                    "a capture needs exactly one source among {}",
                    CAPTURE_SOURCES.join(", ")
                ),
            );
            return None;
        };
        if map.contains_key("group") && kind != "regex" {
            self.err(loc(v), path, "`group` only applies to `regex` captures");
        }
        let source = self.capture_source(kind, val, map.get("group"), loc(v), path)?;
        Some(Capture {
            name: name.to_string(),
            source,
            secret,
        })
    }

    fn capture_source(
        &mut self,
        kind: &str,
        val: &Value,
        group: Option<&Value>,
        at: Location,
        path: &str,
    ) -> Option<CaptureSource> {
        Some(match kind {
            "json" => {
                let src = scalar_text(val);
                match JsonPath::parse(&src) {
                    Ok(p) => CaptureSource::Json {
                        path_source: src,
                        path: p,
                    },
                    Err(e) => {
                        self.err(at, path, format!("invalid JSONPath `{src}`: {e}"));
                        return None;
                    }
                }
            }
            "header" => CaptureSource::Header(scalar_text(val).to_ascii_lowercase()),
            "cookie" => CaptureSource::Cookie(scalar_text(val)),
            "regex" => {
                let regex = self.regex(val, at, path)?;
                let group = match group {
                    None => RegexGroup::Index(usize::from(regex.captures_len() > 1)),
                    Some(Value::Number(n)) => {
                        RegexGroup::Index(n.as_u64().unwrap_or(u64::MAX) as usize)
                    }
                    Some(g) => RegexGroup::Name(scalar_text(g)),
                };
                let valid = match &group {
                    RegexGroup::Index(i) => *i < regex.captures_len(),
                    RegexGroup::Name(n) => regex.capture_names().flatten().any(|c| c == n),
                };
                if !valid {
                    self.err(
                        at,
                        path,
                        format!(
                            "regex `{}` has no group {}",
                            regex.as_str(),
                            group_text(&group)
                        ),
                    );
                }
                CaptureSource::Regex { regex, group }
            }
            "status" => CaptureSource::Status,
            _ => CaptureSource::Url,
        })
    }

    pub(super) fn eventually(&mut self, path: &str, e: &S<RawEventually>) -> Option<Eventually> {
        let raw = &e.value;
        let within = self.duration(&raw.within, &format!("{path}.within"));
        let every = match &raw.every {
            Some(d) => self.duration(d, &format!("{path}.every")),
            None => Some(std::time::Duration::from_secs(1)),
        };
        let backoff = raw.backoff.as_ref().map_or(1.0, |b| b.value);
        if let Some(b) = &raw.backoff
            && !(1.0..=10.0).contains(&b.value)
        {
            self.err(
                loc(b),
                &format!("{path}.backoff"),
                "backoff is a multiplier between 1.0 (fixed interval) and 10.0",
            );
        }
        let max_every = match &raw.max_every {
            Some(d) => self.duration(d, &format!("{path}.max_every")),
            None => every.map(|e| {
                if backoff > 1.0 {
                    e.max(std::time::Duration::from_secs(10))
                } else {
                    e
                }
            }),
        };
        let warn_after = raw
            .warn_after
            .as_ref()
            .and_then(|w| self.duration(w, &format!("{path}.warn_after")));
        let (within, every, max_every) = (within?, every?, max_every?);
        if every >= within {
            let at = raw.every.as_ref().map(loc).unwrap_or(loc(e));
            self.err(
                at,
                &format!("{path}.every"),
                format!("`every` ({every:?}) must be shorter than `within` ({within:?})"),
            );
        }
        Some(Eventually {
            within,
            every,
            backoff,
            max_every,
            warn_after,
        })
    }

    /// Entries of a small keyed map, reporting unknown keys with a suggestion.
    fn keyed(
        &mut self,
        path: &str,
        at: Location,
        map: &serde_json::Map<String, Value>,
        allowed: &[&str],
    ) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for (k, v) in map {
            if allowed.contains(&k.as_str()) {
                out.push((k.clone(), v.clone()));
                continue;
            }
            let msg = match closest(k, allowed.iter().copied()) {
                Some(best) => format!("unknown key `{k}`; did you mean `{best}`?"),
                None => format!("unknown key `{k}`; valid keys here: {}", allowed.join(", ")),
            };
            self.err(at, &format!("{path}.{k}"), msg);
        }
        out
    }

    fn regex(&mut self, v: &Value, at: Location, path: &str) -> Option<Regex> {
        let src = scalar_text(v);
        match Regex::new(&src) {
            Ok(r) => Some(r),
            Err(e) => {
                let first = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                self.err(at, path, format!("invalid regex `{src}`: {first}"));
                None
            }
        }
    }

    fn boolean(&mut self, v: &Value, at: Location, path: &str) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.err(
                    at,
                    path,
                    format!("expected true or false, got `{}`", compact(other)),
                );
                None
            }
        }
    }
}

fn status_match(v: &Value) -> Option<StatusMatch> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .filter(|c| (100..=599).contains(c))
            .map(|c| StatusMatch::Code(c as u16)),
        Value::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            if let Some(class) = s.strip_suffix("xx") {
                return class
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (1..=5).contains(c))
                    .map(StatusMatch::Class);
            }
            s.parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .map(StatusMatch::Code)
        }
        _ => None,
    }
}

fn group_text(g: &RegexGroup) -> String {
    match g {
        RegexGroup::Index(i) => i.to_string(),
        RegexGroup::Name(n) => format!("`{n}`"),
    }
}

/// A scalar as text (strings without quotes).
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
