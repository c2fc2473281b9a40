//! Unvalidated serde types mirroring the YAML journey format. Private to the
//! parser: only validated [`crate::journey::Journey`] values leave it.
//!
//! Fields whose position matters for error messages are `Spanned`. Fields with
//! several accepted shapes (status, predicates, captures) are taken as a
//! `serde_json::Value` and decoded by hand (`expect.rs`, `body.rs`,
//! `capture.rs`), because serde's untagged enums lose both the position and a
//! useful message; `shapes.rs` describes those shapes for the JSON Schema.
//!
//! `JsonSchema` is derived here so the published schema (`journeyd schema
//! journey`, `schema/journey.schema.json`) is generated from these types and
//! cannot drift from what the parser accepts. `Spanned<T>` fields say
//! `#[schemars(with = "T")]`: the span is not part of the format.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

pub(super) type S<T> = Spanned<T>;
pub(super) type Value = serde_json::Value;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJourney {
    #[schemars(with = "String")]
    pub name: S<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub interval: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<IndexMap<String, String>>")]
    pub labels: Option<S<IndexMap<String, String>>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub runbook: Option<S<String>>,
    /// The fleet locations that run the journey (`locations.rs`); default: every one.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub locations: Option<S<Vec<S<String>>>>,
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::scalar_map")]
    pub vars: IndexMap<String, S<Value>>,
    #[serde(default)]
    pub defaults: Option<RawDefaults>,
    #[serde(default)]
    pub tls: Option<RawTls>,
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::size")]
    pub max_body: Option<S<Value>>,
    /// `trace: false` or `trace: { hosts: [...] }`, decoded in `trace.rs`.
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::trace")]
    pub trace: Option<S<Value>>,
    /// Requests run when a step fails (`diagnostics.rs`).
    #[serde(default)]
    #[schemars(with = "Vec<super::diagnostics::RawDiagnostic>")]
    pub diagnostics: Vec<S<super::diagnostics::RawDiagnostic>>,
    #[schemars(with = "Vec<RawStep>")]
    pub steps: S<Vec<S<RawStep>>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawStep>")]
    pub cleanup: Vec<S<RawStep>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::scalar_map")]
    pub headers: IndexMap<String, S<Value>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    #[serde(default)]
    pub follow_redirects: Option<bool>,
    #[serde(default)]
    pub max_redirects: Option<u32>,
    #[serde(default)]
    #[schemars(with = "Option<RawRetry>")]
    pub retry: Option<S<RawRetry>>,
}

/// `retry:` on a step or in `defaults`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetry {
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub max: Option<S<u32>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub delay: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<Vec<u16>>")]
    pub statuses: Option<S<Vec<u16>>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ca_file: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub client_cert: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub client_key: Option<S<String>>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    #[schemars(with = "String")]
    pub name: S<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub backend: Option<S<String>>,
    #[schemars(with = "RawRequest")]
    pub request: S<RawRequest>,
    #[serde(default)]
    #[schemars(with = "Option<RawExpect>")]
    pub expect: Option<S<RawExpect>>,
    #[serde(default)]
    #[schemars(with = "Option<RawExpect>")]
    pub fail_fast: Option<S<RawExpect>>,
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::captures")]
    pub capture: IndexMap<String, S<Value>>,
    #[serde(default)]
    #[schemars(with = "Option<RawEventually>")]
    pub eventually: Option<S<RawEventually>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub warn_duration: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<RawRetry>")]
    pub retry: Option<S<RawRetry>>,
    /// Requests run when this step fails (`diagnostics.rs`).
    #[serde(default)]
    #[schemars(with = "Vec<super::diagnostics::RawDiagnostic>")]
    pub diagnostics: Vec<S<super::diagnostics::RawDiagnostic>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequest {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub method: Option<S<String>>,
    #[schemars(with = "String")]
    pub url: S<String>,
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::scalar_map")]
    pub query: IndexMap<String, S<Value>>,
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::scalar_map")]
    pub headers: IndexMap<String, S<Value>>,
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub json: Option<S<Value>>,
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::scalar_map")]
    pub form: Option<S<IndexMap<String, S<Value>>>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub body: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    #[serde(default)]
    pub follow_redirects: Option<bool>,
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub max_redirects: Option<S<u32>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpect {
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::status")]
    pub status: Option<S<Value>>,
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::header_checks")]
    pub headers: IndexMap<String, S<Value>>,
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::body")]
    pub body: Option<S<Value>>,
    #[serde(default)]
    #[schemars(schema_with = "super::shapes::json_predicates")]
    pub json: IndexMap<String, S<Value>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub max_duration: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub cert_valid_days: Option<S<u32>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEventually {
    #[schemars(with = "String")]
    pub within: S<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub every: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub backoff: Option<S<f64>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub max_every: Option<S<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub warn_after: Option<S<String>>,
    /// Watch the back-end beyond the run: the step becomes an obligation the daemon polls.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub durable: Option<S<bool>>,
}
