//! Unvalidated serde types mirroring the YAML journey format. Private to the
//! parser: only validated [`crate::journey::Journey`] values leave it.
//!
//! Fields whose position matters for error messages are `Spanned`. Fields with
//! several accepted shapes (status, predicates, captures) are taken as a
//! `serde_json::Value` and decoded by hand in `decode.rs`, because serde's
//! untagged enums lose both the position and a useful message.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

pub(super) type S<T> = Spanned<T>;
pub(super) type Value = serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJourney {
    pub name: S<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub interval: Option<S<String>>,
    #[serde(default)]
    pub timeout: Option<S<String>>,
    #[serde(default)]
    pub labels: Option<S<IndexMap<String, String>>>,
    #[serde(default)]
    pub runbook: Option<S<String>>,
    #[serde(default)]
    pub vars: IndexMap<String, S<Value>>,
    #[serde(default)]
    pub defaults: Option<RawDefaults>,
    #[serde(default)]
    pub tls: Option<RawTls>,
    #[serde(default)]
    pub max_body: Option<S<Value>>,
    /// `trace: false` or `trace: { hosts: [...] }`, decoded in `trace.rs`.
    #[serde(default)]
    pub trace: Option<S<Value>>,
    pub steps: S<Vec<S<RawStep>>>,
    #[serde(default)]
    pub cleanup: Vec<S<RawStep>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    #[serde(default)]
    pub headers: IndexMap<String, S<Value>>,
    #[serde(default)]
    pub timeout: Option<S<String>>,
    #[serde(default)]
    pub follow_redirects: Option<bool>,
    #[serde(default)]
    pub max_redirects: Option<u32>,
    #[serde(default)]
    pub retry: Option<S<RawRetry>>,
}

/// `retry:` on a step or in `defaults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetry {
    #[serde(default)]
    pub max: Option<S<u32>>,
    #[serde(default)]
    pub delay: Option<S<String>>,
    #[serde(default)]
    pub statuses: Option<S<Vec<u16>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    #[serde(default)]
    pub ca_file: Option<S<String>>,
    #[serde(default)]
    pub client_cert: Option<S<String>>,
    #[serde(default)]
    pub client_key: Option<S<String>>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub name: S<String>,
    #[serde(default)]
    pub backend: Option<S<String>>,
    pub request: S<RawRequest>,
    #[serde(default)]
    pub expect: Option<S<RawExpect>>,
    #[serde(default)]
    pub fail_fast: Option<S<RawExpect>>,
    #[serde(default)]
    pub capture: IndexMap<String, S<Value>>,
    #[serde(default)]
    pub eventually: Option<S<RawEventually>>,
    #[serde(default)]
    pub warn_duration: Option<S<String>>,
    #[serde(default)]
    pub retry: Option<S<RawRetry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequest {
    #[serde(default)]
    pub method: Option<S<String>>,
    pub url: S<String>,
    #[serde(default)]
    pub query: IndexMap<String, S<Value>>,
    #[serde(default)]
    pub headers: IndexMap<String, S<Value>>,
    #[serde(default)]
    pub json: Option<S<Value>>,
    #[serde(default)]
    pub form: Option<S<IndexMap<String, S<Value>>>>,
    #[serde(default)]
    pub body: Option<S<String>>,
    #[serde(default)]
    pub timeout: Option<S<String>>,
    #[serde(default)]
    pub follow_redirects: Option<bool>,
    #[serde(default)]
    pub max_redirects: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpect {
    #[serde(default)]
    pub status: Option<S<Value>>,
    #[serde(default)]
    pub headers: IndexMap<String, S<Value>>,
    #[serde(default)]
    pub body: Option<S<Value>>,
    #[serde(default)]
    pub json: IndexMap<String, S<Value>>,
    #[serde(default)]
    pub max_duration: Option<S<String>>,
    #[serde(default)]
    pub cert_valid_days: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEventually {
    pub within: S<String>,
    #[serde(default)]
    pub every: Option<S<String>>,
    #[serde(default)]
    pub backoff: Option<S<f64>>,
    #[serde(default)]
    pub max_every: Option<S<String>>,
    #[serde(default)]
    pub warn_after: Option<S<String>>,
}
