//! `expect` and `fail_fast`: status, header and body checks and JSONPath
//! predicates, decoded by hand because they accept several shapes
//! (`status: 200`, `status: [201, 202]`, `status: 2xx`) that serde's untagged
//! enums would reject with "did not match any variant".

use super::build::{Builder, loc};
use super::raw::{RawExpect, S, Value};
use super::values::*;
use crate::journey::model::*;
use crate::units::limits;

pub(super) const PREDICATES: &[&str] = &[
    "eq", "ne", "gt", "gte", "lt", "lte", "contains", "matches", "exists", "len", "len_gt",
    "len_lt", "one_of", "type",
];

/// Header checks: `equals`, `matches` and `exists` are header-specific; the
/// others are the JSON [`PREDICATES`] of the same name, applied to the value.
pub(super) const HEADER_CHECKS: &[&str] = &[
    "equals", "matches", "exists", "contains", "one_of", "gt", "gte", "lt", "lte",
];

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
            && let Some(d) =
                self.duration(d, &format!("{path}.max_duration"), limits::STEP_DURATION)
        {
            out.push(Expectation::MaxDuration(d));
        }
        if let Some(days) = &raw.cert_valid_days {
            out.push(Expectation::CertValidDays(days.value));
        }
        out
    }

    pub(super) fn status(&mut self, path: &str, s: &S<Value>) -> Option<Expectation> {
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

    pub(super) fn header_check(
        &mut self,
        path: &str,
        name: &str,
        v: &S<Value>,
    ) -> Vec<Expectation> {
        let name = name.to_ascii_lowercase();
        let checks = match &v.value {
            Value::Object(map) => self.keyed(path, loc(v), map, HEADER_CHECKS),
            Value::String(_) | Value::Number(_) => vec![("equals".to_string(), v.value.clone())],
            _ => {
                self.err(
                    loc(v),
                    path,
                    "expected a value or a map of checks (equals, matches, exists, contains, one_of, gt, gte, lt, lte)",
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
                // A header is text: expected values are compared as text.
                "contains" | "one_of" => self
                    .predicate(&k, &as_text(&val), loc(v), &format!("{path}.{k}"))
                    .map(HeaderCheck::Predicate),
                _ => self
                    .predicate(&k, &val, loc(v), &format!("{path}.{k}"))
                    .map(HeaderCheck::Predicate),
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

    pub(super) fn json_predicates(
        &mut self,
        path: &str,
        json_path: &str,
        v: &S<Value>,
    ) -> Vec<Expectation> {
        let compiled = match super::patterns::json_path(json_path) {
            Ok(q) => q,
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
                    query: compiled.clone(),
                    predicate,
                });
            }
        }
        out
    }

    pub(super) fn predicate(
        &mut self,
        key: &str,
        val: &Value,
        at: Location,
        path: &str,
    ) -> Option<Predicate> {
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

    pub(super) fn json_type(&mut self, val: &Value, at: Location, path: &str) -> Option<JsonType> {
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
}

/// Scalars (and the items of a list) as strings: `one_of: [200, 204]` on a
/// header means the texts "200" and "204".
fn as_text(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(as_text).collect()),
        Value::Object(_) => v.clone(),
        other => Value::String(scalar_text(other)),
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
