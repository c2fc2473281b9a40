//! `capture`: values taken from a response (JSONPath, header, cookie, regex
//! group, status, URL) for later steps, one shape per source.

use indexmap::IndexMap;

use super::build::{Builder, loc};
use super::raw::{S, Value};
use super::values::*;
use crate::journey::model::*;

pub(super) const CAPTURE_SOURCES: &[&str] = &["json", "header", "cookie", "regex", "status", "url"];

impl Builder<'_> {
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

    pub(super) fn capture(&mut self, name: &str, v: &S<Value>, path: &str) -> Option<Capture> {
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

    pub(super) fn capture_source(
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
                match super::patterns::json_path(&src) {
                    Ok(query) => CaptureSource::Json(query),
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
}

fn group_text(g: &RegexGroup) -> String {
    match g {
        RegexGroup::Index(i) => i.to_string(),
        RegexGroup::Name(n) => format!("`{n}`"),
    }
}
