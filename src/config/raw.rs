//! Unvalidated serde form of the daemon configuration file.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub listen: Option<Spanned<String>>,
    #[serde(default)]
    pub journeys: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub state_dir: Option<Spanned<String>>,
    #[serde(default)]
    pub secrets_dir: Option<Spanned<String>>,
    #[serde(default)]
    pub defaults: Option<RawDefaults>,
    #[serde(default)]
    pub concurrency: Option<Spanned<u32>>,
    #[serde(default)]
    pub history: Option<RawHistory>,
    #[serde(default)]
    pub labels: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    pub admin_token_secret: Option<Spanned<String>>,
    #[serde(default)]
    pub log_format: Option<Spanned<String>>,
    #[serde(default)]
    pub shutdown_grace: Option<Spanned<String>>,
    #[serde(default)]
    pub dns_servers: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub first_run_within: Option<Spanned<String>>,
    #[serde(default)]
    pub alerting: Option<super::alerting::RawAlerting>,
    #[serde(default)]
    pub metrics: Option<RawMetrics>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    #[serde(default)]
    pub step_detail: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHistory {
    #[serde(default)]
    pub max_age: Option<Spanned<String>>,
    #[serde(default)]
    pub max_runs_per_journey: Option<Spanned<u32>>,
    #[serde(default)]
    pub cleanup_max_age: Option<Spanned<String>>,
}
