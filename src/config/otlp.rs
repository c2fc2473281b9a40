//! The `tracing:` section of the daemon configuration: the optional OTLP/HTTP
//! export of runs as spans (`tracing.otlp`), validated into
//! [`OtlpSettings`](crate::trace_export::OtlpSettings).

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{ConfigBuilder, loc};
use crate::trace_export::OtlpSettings;
use crate::units::limits;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTracing {
    #[serde(default)]
    otlp: Option<RawOtlp>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawOtlp {
    #[schemars(with = "String")]
    endpoint: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    headers_secret: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    service_name: Option<Spanned<String>>,
}

/// Export requests give up after this long unless `tracing.otlp.timeout` says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

impl ConfigBuilder<'_> {
    pub(super) fn tracing(&mut self, raw: Option<&RawTracing>) -> Option<OtlpSettings> {
        let otlp = raw?.otlp.as_ref()?;
        let endpoint = self.otlp_endpoint(&otlp.endpoint);
        let headers_secret = (otlp.headers_secret.as_ref())
            .map(|s| self.secret_ref("tracing.otlp.headers_secret", s));
        let timeout = self.duration(
            &otlp.timeout,
            "tracing.otlp.timeout",
            limits::OTLP_TIMEOUT,
            DEFAULT_TIMEOUT,
        );
        let service_name = match &otlp.service_name {
            Some(s) if s.value.trim().is_empty() => {
                self.err(loc(s), "tracing.otlp.service_name", "must not be empty");
                None
            }
            Some(s) => Some(s.value.clone()),
            None => None,
        };
        Some(OtlpSettings {
            endpoint,
            headers_secret,
            timeout,
            service_name: service_name.unwrap_or_else(|| "journeyd".into()),
        })
    }

    /// An absolute http(s) URL without credentials (they belong in `headers_secret`,
    /// which is read from the secrets, never from the configuration).
    fn otlp_endpoint(&mut self, e: &Spanned<String>) -> String {
        let path = "tracing.otlp.endpoint";
        match url::Url::parse(&e.value) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => self.err(
                loc(e),
                path,
                format!("`{}` must be an http or https URL", e.value),
            ),
            Ok(u) if !u.username().is_empty() || u.password().is_some() => self.err(
                loc(e),
                path,
                "put credentials in `headers_secret`, not in the URL",
            ),
            Ok(_) => {}
            Err(_) => self.err(
                loc(e),
                path,
                format!(
                    "`{}` is not an absolute URL like http://127.0.0.1:4318/v1/traces",
                    e.value
                ),
            ),
        }
        e.value.clone()
    }
}
