//! A receiver as written in the configuration, and the validation context each
//! receiver file uses to turn its keys into its settings.
//!
//! Why not a serde internally-tagged enum (`#[serde(tag = "type")]`): serde
//! buffers such a map into its private `Content` before picking the variant,
//! and serde-saphyr's `Spanned` then reports `Location::UNKNOWN` for every
//! field; an unknown `type` would also be a fatal decode error that stops the
//! other problems from being collected. So the map is read here with each
//! value's position, the `type` picks the receiver file, and that file checks
//! its own keys (unknown keys with did-you-mean, `file:line:col` intact).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostics::{Location, closest};
use crate::journey::secrets::is_valid_name;
use crate::units::parse_duration;

/// A receiver entry before validation: `name`, `type` and the type's own keys,
/// each with its position.
#[derive(Debug)]
pub struct RawReceiver {
    /// `name:`.
    pub name: Spanned<String>,
    /// `type:`.
    pub kind: Spanned<String>,
    /// Every other key, in file order.
    fields: Vec<(String, Spanned<RawValue>)>,
}

/// The shapes a receiver setting can take.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawValue {
    Text(String),
    List(Vec<String>),
    /// Anything else (a number, a map): reported as the wrong type by the getter.
    Other(IgnoredAny),
}

impl<'de> Deserialize<'de> for RawReceiver {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RawReceiverVisitor)
    }
}

struct RawReceiverVisitor;

impl<'de> Visitor<'de> for RawReceiverVisitor {
    type Value = RawReceiver;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a receiver like `{ name: pager, type: pagerduty, ... }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawReceiver, A::Error> {
        let (mut name, mut kind, mut fields) = (None, None, Vec::new());
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = Some(map.next_value()?),
                "type" => kind = Some(map.next_value()?),
                _ => fields.push((key, map.next_value()?)),
            }
        }
        Ok(RawReceiver {
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            kind: kind.ok_or_else(|| de::Error::missing_field("type"))?,
            fields,
        })
    }
}

/// One problem found while validating a receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Where.
    pub loc: Location,
    /// Field path, like `alerting.receivers[1].url_secret`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A secret a receiver names (checked for existence by `journeyd check`).
#[derive(Debug, Clone, PartialEq)]
pub struct SecretUse {
    /// Field path.
    pub path: String,
    /// Secret name.
    pub name: String,
    /// Where it is written.
    pub loc: Location,
}

/// What one receiver file sees while validating its keys: typed getters that
/// record problems instead of failing, so every problem is reported at once.
#[derive(Debug)]
pub struct Fields<'a> {
    raw: &'a RawReceiver,
    path: &'a str,
    /// Problems found so far.
    pub problems: Vec<Problem>,
    /// Secrets named so far.
    pub secrets: Vec<SecretUse>,
}

fn loc<T>(s: &Spanned<T>) -> Location {
    Location {
        line: s.referenced.line() as u32,
        col: s.referenced.column() as u32,
    }
}

impl<'a> Fields<'a> {
    /// Validation context for `raw` at `path` (`alerting.receivers[2]`).
    pub fn new(raw: &'a RawReceiver, path: &'a str) -> Self {
        Fields {
            raw,
            path,
            problems: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// Reports keys outside `allowed` (besides `name` and `type`), with the
    /// closest valid key when one is near.
    pub fn reject_unknown(&mut self, allowed: &[&str]) {
        let kind = self.raw.kind.value.clone();
        for (key, value) in &self.raw.fields {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let message = match closest(key, allowed.iter().copied()) {
                Some(best) => {
                    format!("unknown key `{key}` for a {kind} receiver; did you mean `{best}`?")
                }
                None if allowed.is_empty() => {
                    format!("unknown key `{key}`: a {kind} receiver has only `name` and `type`")
                }
                None => format!(
                    "unknown key `{key}` for a {kind} receiver; valid keys here: name, type, {}",
                    allowed.join(", ")
                ),
            };
            self.push(loc(value), key, message);
        }
    }

    /// Records a problem on the receiver itself (at its `type`).
    pub fn problem(&mut self, message: impl Into<String>) {
        let at = loc(&self.raw.kind);
        self.problems.push(Problem {
            loc: at,
            path: self.path.to_string(),
            message: message.into(),
        });
    }

    /// Records a problem on `key`, at the receiver's `type` (for a key that is
    /// missing or wrong as a whole).
    pub fn problem_at_type(&mut self, key: &str, message: impl Into<String>) {
        let at = loc(&self.raw.kind);
        self.push(at, key, message);
    }

    /// Records a problem on `key`, at `at`.
    fn push(&mut self, at: Location, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            loc: at,
            path: format!("{}.{key}", self.path),
            message: message.into(),
        });
    }

    fn get(&self, key: &str) -> Option<&'a Spanned<RawValue>> {
        self.raw
            .fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` is written at all.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A text setting.
    pub fn text(&mut self, key: &str) -> Option<String> {
        let v = self.get(key)?;
        match &v.value {
            RawValue::Text(s) => Some(s.clone()),
            _ => {
                self.push(loc(v), key, "expected a text value");
                None
            }
        }
    }

    /// A list of texts.
    pub fn list(&mut self, key: &str) -> Option<Vec<String>> {
        let v = self.get(key)?;
        match &v.value {
            RawValue::List(items) => Some(items.clone()),
            _ => {
                self.push(loc(v), key, "expected a list of text values");
                None
            }
        }
    }

    /// A duration like `30s`, or `default` when absent or invalid.
    pub fn duration(&mut self, key: &str, default: Duration) -> Duration {
        let Some(text) = self.text(key) else {
            return default;
        };
        parse_duration(&text).unwrap_or_else(|e| {
            let at = self.get(key).map(loc).unwrap_or_default();
            self.push(at, key, e.to_string());
            default
        })
    }

    /// The name of a secret: letters, digits and `_`; recorded for `journeyd check`.
    pub fn secret(&mut self, key: &str) -> Option<String> {
        let name = self.text(key)?;
        let at = self.get(key).map(loc).unwrap_or_default();
        self.secrets.push(SecretUse {
            path: format!("{}.{key}", self.path),
            name: name.clone(),
            loc: at,
        });
        if !is_valid_name(&name) {
            self.push(at, key, "a secret name is letters, digits and `_`");
        }
        Some(name)
    }
}
