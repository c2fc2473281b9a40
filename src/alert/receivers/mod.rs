//! Alert receivers: one file per kind. Adding a receiver means one file here
//! and one [`ReceiverKind`] variant, plus one arm in [`build`].
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

use super::config::{ReceiverConfig, ReceiverKind};
use super::state::{Alert, AlertEvent};
use crate::journey::secrets::SecretSource;

pub use alertmanager::Alertmanager;
pub use log::Log;
pub use pagerduty::PagerDuty;
pub use slack::Slack;
pub use webhook::{DELIVERY_HEADER, SIGNATURE_HEADER, Target as WebhookTarget, Webhook};

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
    let name = config.name.as_str();
    let secret = |secret: &str| read_secret(secrets, name, secret);
    let receiver: Arc<dyn Receiver> = match &config.kind {
        ReceiverKind::Alertmanager {
            urls,
            resend_interval,
        } => Arc::new(Alertmanager::new(
            name,
            urls,
            *resend_interval,
            external_url,
        )?),
        ReceiverKind::PagerDuty {
            url,
            routing_key_secret,
        } => Arc::new(PagerDuty::new(
            name,
            url,
            secret(routing_key_secret)?,
            external_url,
        )?),
        ReceiverKind::Slack { url_secret } => Arc::new(Slack::new(name, secret(url_secret)?)?),
        ReceiverKind::Webhook {
            url,
            url_secret,
            hmac_secret,
        } => {
            let target = match (url, url_secret) {
                (None, Some(s)) => WebhookTarget::Secret(secret(s)?),
                (Some(u), None) => WebhookTarget::Plain(u.clone()),
                _ => {
                    return Err(format!(
                        "receiver '{name}': a webhook needs exactly one of url and url_secret"
                    ));
                }
            };
            let key = hmac_secret.as_deref().map(secret).transpose()?;
            Arc::new(Webhook::new(name, target, key, external_url)?)
        }
        ReceiverKind::Log => Arc::new(Log::new(name)),
    };
    Ok(receiver)
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
    secrets.get(secret).ok_or_else(|| {
        format!(
            "receiver '{receiver}': secret '{secret}' is not set (set JOURNEYD_SECRET_{} \
             or put a file named '{secret}' in the secrets directory)",
            secret.to_ascii_uppercase()
        )
    })
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
