//! Alert receivers: one file per kind, holding the receiver's settings, their
//! validation from the configuration ([`ReceiverSpec`]) and the receiver
//! itself. Adding a receiver means one file here and one line in the
//! `receiver_kinds!` list below (its [`ReceiverKind`] variant).
//!
//! Every HTTP receiver shares `http.rs`: one client each (10 s timeout, no
//! redirects, journeyd's User-Agent) and one classification of answers
//! (network errors, 429 and 5xx are retryable; other 4xx are permanent).
//! Secrets (routing keys, webhook URLs, HMAC keys) never reach an error
//! message, a log line or a `Debug` output.

mod alertmanager;
mod http;
mod log;
mod pagerduty;
pub mod raw;
mod slack;
mod webhook;

#[cfg(test)]
mod testutil;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use self::raw::{Fields, RawReceiver};
use super::state::{Alert, AlertEvent};
use crate::journey::secrets::SecretSource;

pub use alertmanager::{Alertmanager, AlertmanagerConfig};
pub use log::{Log, LogConfig};
pub use pagerduty::{PagerDuty, PagerDutyConfig};
pub use slack::{Slack, SlackConfig};
pub use webhook::{
    DELIVERY_HEADER, SIGNATURE_HEADER, Target as WebhookTarget, Webhook, WebhookConfig,
};

/// One receiver type's settings: how they are read from the configuration and
/// how the receiver is built from them. Each receiver file implements it.
pub trait ReceiverSpec: Sized {
    /// The `type:` value.
    const TYPE: &'static str;
    /// The keys it accepts besides `name` and `type`.
    const KEYS: &'static [&'static str];
    /// Reads and validates the settings, recording problems in `fields`
    /// (unknown keys are already reported). Pure: no I/O, secrets only named.
    fn validate(fields: &mut Fields<'_>) -> Self;
    /// Builds the receiver, reading its secrets.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Receiver>, String>;
}

/// What building a receiver may use.
#[derive(Debug)]
pub struct BuildContext<'a> {
    /// The receiver's name.
    pub name: &'a str,
    /// Where secrets are read.
    pub secrets: &'a SecretSource,
    /// journeyd's external URL, for links in notifications.
    pub external_url: Option<&'a str>,
}

impl BuildContext<'_> {
    /// The value of secret `secret`; the error names it (never a value).
    pub fn secret(&self, secret: &str) -> Result<String, String> {
        read_secret(self.secrets, self.name, secret)
    }
}

/// A configured receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverConfig {
    /// Unique name, used in routes and metrics.
    pub name: String,
    /// Kind and settings.
    pub kind: ReceiverKind,
}

/// Declares [`ReceiverKind`] with one variant per receiver file, and the two
/// dispatches over it (validate by `type:`, build), so they cannot drift.
macro_rules! receiver_kinds {
    ($($(#[$doc:meta])* $variant:ident($config:ty),)*) => {
        /// Receiver kinds and their validated settings. Secret values (keys,
        /// webhook URLs) are named, never inline.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ReceiverKind {
            $($(#[$doc])* $variant($config),)*
        }

        /// Every `type:` value, in declaration order.
        pub const TYPES: &[&str] = &[$(<$config as ReceiverSpec>::TYPE,)*];

        impl ReceiverKind {
            fn validate_as(kind: &str, fields: &mut Fields<'_>) -> Option<Self> {
                $(if kind == <$config as ReceiverSpec>::TYPE {
                    fields.reject_unknown(<$config as ReceiverSpec>::KEYS);
                    return Some(Self::$variant(<$config as ReceiverSpec>::validate(fields)));
                })*
                None
            }

            fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Receiver>, String> {
                match self {
                    $(Self::$variant(c) => c.build(ctx),)*
                }
            }
        }
    };
}

receiver_kinds! {
    /// Alertmanager API v2, every listed instance directly.
    Alertmanager(AlertmanagerConfig),
    /// PagerDuty Events API v2.
    PagerDuty(PagerDutyConfig),
    /// Slack incoming webhook.
    Slack(SlackConfig),
    /// Generic JSON webhook (Alertmanager webhook format, version 4).
    Webhook(WebhookConfig),
    /// Structured log lines.
    Log(LogConfig),
}

/// What validating one receiver entry found: its settings (`None` for an
/// unknown type), every problem, and the secrets it names.
#[derive(Debug)]
pub struct Validated {
    /// The settings, when the type is known.
    pub kind: Option<ReceiverKind>,
    /// Every problem, with position and field path.
    pub problems: Vec<raw::Problem>,
    /// The secrets it names.
    pub secrets: Vec<raw::SecretUse>,
}

/// Validates one receiver entry at `path` (`alerting.receivers[2]`).
pub fn validate(raw: &RawReceiver, path: &str) -> Validated {
    let mut fields = Fields::new(raw, path);
    let kind = ReceiverKind::validate_as(&raw.kind.value, &mut fields);
    let mut problems = fields.problems;
    if kind.is_none() {
        let other = raw.kind.value.as_str();
        let hint = crate::diagnostics::closest(other, TYPES.iter().copied())
            .map(|k| format!("; did you mean `{k}`?"))
            .unwrap_or_default();
        problems.push(raw::Problem {
            loc: crate::diagnostics::Location {
                line: raw.kind.referenced.line() as u32,
                col: raw.kind.referenced.column() as u32,
            },
            path: format!("{path}.type"),
            message: format!(
                "unknown receiver type `{other}`{hint} (one of {})",
                TYPES.join(", ")
            ),
        });
    }
    Validated {
        kind,
        problems,
        secrets: fields.secrets,
    }
}

/// One notification to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Outbox row id (stable across retries and restarts; used as idempotency hint).
    pub id: i64,
    /// What happened.
    pub event: AlertEvent,
}

/// Why a delivery failed; messages never contain secrets (URLs with keys, tokens).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// Network error, 429 or 5xx: try again later. Otherwise the notification is dropped.
    pub retryable: bool,
    /// The receiver's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    /// What went wrong.
    pub message: String,
}

/// Somewhere alerts go.
#[async_trait::async_trait]
pub trait Receiver: Send + Sync + std::fmt::Debug {
    /// The configured name (metrics label, routes).
    fn name(&self) -> &str;
    /// Delivers one notification.
    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError>;
    /// How often the engine must re-send a firing alert, for receivers that
    /// forget alerts nobody restates (Alertmanager). `None`: send once.
    fn resend_interval(&self) -> Option<Duration> {
        None
    }
}

/// The identity of an alert as one string: hex SHA-256 of its labels as
/// `name=value` lines in name order. PagerDuty's `dedup_key` and the webhook's
/// `fingerprint` both use it, so one alert has one identity everywhere.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    // BTreeMap iterates in key order, so insertion order cannot change the result.
    let lines: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    hex(&Sha256::digest(lines.join("\n").as_bytes()))
}

/// Builds a receiver from its configuration, reading its secrets.
///
/// A missing secret is an error naming the secret (never a value).
pub fn build(
    config: &ReceiverConfig,
    secrets: &SecretSource,
    external_url: Option<&str>,
) -> Result<Arc<dyn Receiver>, String> {
    config.kind.build(&BuildContext {
        name: &config.name,
        secrets,
        external_url,
    })
}

/// Builds every configured receiver, collecting all errors so an operator
/// fixes them in one go. No receiver configured: the log receiver.
pub fn build_all(
    configs: &[ReceiverConfig],
    secrets: &SecretSource,
    external_url: Option<&str>,
) -> Result<Vec<Arc<dyn Receiver>>, Vec<String>> {
    if configs.is_empty() {
        return Ok(vec![Arc::new(Log::new("log"))]);
    }
    let (ok, errors): (Vec<_>, Vec<_>) = configs
        .iter()
        .map(|c| build(c, secrets, external_url))
        .partition(Result::is_ok);
    if errors.is_empty() {
        Ok(ok.into_iter().filter_map(Result::ok).collect())
    } else {
        Err(errors.into_iter().filter_map(Result::err).collect())
    }
}

fn read_secret(secrets: &SecretSource, receiver: &str, secret: &str) -> Result<String, String> {
    match secrets.get(secret) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(format!(
            "receiver '{receiver}': secret '{secret}' is not set (set JOURNEYD_SECRET_{} \
             or put a file named '{secret}' in the secrets directory)",
            secret.to_ascii_uppercase()
        )),
        Err(e) => Err(format!("receiver '{receiver}': {e}")),
    }
}

/// The alert, and when it ended (`None` while firing).
fn parts(event: &AlertEvent) -> (&Alert, Option<DateTime<Utc>>) {
    match event {
        AlertEvent::Firing(a) => (a, None),
        AlertEvent::Resolved(a, at) => (a, Some(*at)),
    }
}

/// RFC 3339 with milliseconds, `Z`: what Alertmanager, PagerDuty and webhook consumers parse.
fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Cuts `s` to `max` characters (not bytes, so UTF-8 stays valid), marking the cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            // Writing to a String cannot fail.
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests;
