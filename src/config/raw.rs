//! Unvalidated serde form of the daemon configuration file. `JsonSchema` is
//! derived so `journeyd schema config` (and `schema/config.schema.json`) is
//! generated from what the parser accepts; `Spanned<T>` fields are described
//! as `T`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub listen: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub journeys: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub state_dir: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub secrets_dir: Option<Spanned<String>>,
    #[serde(default)]
    pub defaults: Option<RawDefaults>,
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub concurrency: Option<Spanned<u32>>,
    #[serde(default)]
    pub history: Option<RawHistory>,
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub labels: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub admin_token_secret: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub log_format: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub shutdown_grace: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub dns_servers: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub first_run_within: Option<Spanned<String>>,
    #[serde(default)]
    pub alerting: Option<super::alerting::RawAlerting>,
    #[serde(default)]
    pub metrics: Option<RawMetrics>,
    #[serde(default)]
    pub store: Option<super::fleet::RawStore>,
    #[serde(default)]
    pub fleet: Option<super::fleet::RawFleet>,
    #[serde(default)]
    pub tracing: Option<super::otlp::RawTracing>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub step_detail: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub interval: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHistory {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub max_age: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub max_runs_per_journey: Option<Spanned<u32>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub cleanup_max_age: Option<Spanned<String>>,
}

/// The JSON Schema of the configuration file, for editors.
pub fn config_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(RawConfig);
    schema.insert("title".into(), "journeyd configuration".into());
    schema.to_value()
}
