//! Generic JSON webhook in Alertmanager's webhook format, version 4, so tools
//! written for Alertmanager's webhooks take journeyd's unchanged. One
//! notification carries one alert; its `fingerprint` is [`fingerprint`].
//!
//! Headers:
//! - `X-Journeyd-Delivery: <id>`: the notification id, the same on every retry
//!   of one notification, so a receiver can drop duplicates.
//! - `X-Journeyd-Signature: sha256=<hex>` when an HMAC secret is configured:
//!   the lowercase hex HMAC-SHA256 of the exact request body bytes, keyed with
//!   the secret (like GitHub's `X-Hub-Signature-256`). Verify it over the raw
//!   body, before parsing, with a constant-time comparison.

use std::sync::Arc;

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use sha2::Sha256;

use super::http::{self, Peer};
use super::raw::Fields;
use super::{BuildContext, ReceiverSpec};
use super::{DeliveryError, Notification, Receiver, fingerprint, hex, parts, timestamp};
use crate::alert::state::Alert;

/// The signature header; its value is `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Journeyd-Signature";
/// The notification id header.
pub const DELIVERY_HEADER: &str = "X-Journeyd-Delivery";

/// Alertmanager's `endsAt` for an alert that has not ended (Go's zero time).
const NOT_ENDED: &str = "0001-01-01T00:00:00Z";

/// Where the webhook posts, and whether that URL may be shown.
#[derive(Clone, PartialEq)]
pub enum Target {
    /// From the configuration file.
    Plain(String),
    /// From a secret (it embeds a token): never printed.
    Secret(String),
}

/// Posts Alertmanager-format JSON to one URL, optionally signed.
pub struct Webhook {
    name: String,
    target: Target,
    hmac_key: Option<String>,
    external_url: Option<String>,
    client: reqwest::Client,
    peer: Peer,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match &self.target {
            Target::Plain(u) => u.as_str(),
            Target::Secret(_) => "***",
        };
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("url", &url)
            .field("hmac_key", &self.hmac_key.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// `hmac_key` (from a secret) signs every body when set.
    pub fn new(
        name: &str,
        target: Target,
        hmac_key: Option<String>,
        external_url: Option<&str>,
    ) -> Result<Self, String> {
        let url = match &target {
            Target::Plain(u) | Target::Secret(u) => u,
        };
        // Not quoting the URL or the parse error: the URL may be a secret.
        if !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            return Err(format!(
                "receiver '{name}': the webhook URL is not an http(s) URL"
            ));
        }
        let mut peer = Peer::new(format!("the webhook (receiver '{name}')")).hiding(url);
        if let Some(key) = &hmac_key {
            peer = peer.hiding(key);
        }
        Ok(Self {
            name: name.to_string(),
            target,
            hmac_key,
            external_url: external_url.map(str::to_string),
            client: http::client()?,
            peer,
        })
    }

    /// The version 4 body for one alert.
    fn payload(&self, alert: &Alert, ends_at: Option<String>) -> Value {
        let status = if ends_at.is_some() {
            "resolved"
        } else {
            "firing"
        };
        let group: BTreeMap<&str, &str> = ["alertname", "journey"]
            .into_iter()
            .filter_map(|k| alert.labels.get(k).map(|v| (k, v.as_str())))
            .collect();
        json!({
            "version": "4",
            "groupKey": group_key(&group),
            "status": status,
            "receiver": self.name,
            "groupLabels": group,
            "commonLabels": alert.labels,
            "commonAnnotations": alert.annotations,
            "externalURL": self.external_url.as_deref().unwrap_or_default(),
            "alerts": [{
                "status": status,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "startsAt": timestamp(alert.starts_at),
                "endsAt": ends_at.as_deref().unwrap_or(NOT_ENDED),
                "generatorURL": alert.annotations.get("run_url").map_or("", String::as_str),
                "fingerprint": fingerprint(&alert.labels),
            }],
            "truncatedAlerts": 0,
        })
    }
}

/// Alertmanager's shape: `{}:{alertname="JourneyFailing", journey="purchase"}`.
fn group_key(group: &BTreeMap<&str, &str>) -> String {
    let pairs: Vec<String> = group.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{}}:{{{}}}", pairs.join(", "))
}

/// `sha256=<hex>` of `body` keyed with `key`.
fn signature(key: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail; fall back to an empty
    // (unverifiable) signature rather than sending the body unsigned.
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .map(|mut m| {
            m.update(body);
            hex(&m.finalize().into_bytes())
        })
        .unwrap_or_default();
    format!("sha256={mac}")
}

#[async_trait::async_trait]
impl Receiver for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let (alert, ended) = parts(&n.event);
        // Signed bytes and sent bytes must be the same bytes: serialize once.
        let body = self
            .payload(alert, ended.map(timestamp))
            .to_string()
            .into_bytes();
        let url = match &self.target {
            Target::Plain(u) | Target::Secret(u) => u,
        };
        let mut request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(DELIVERY_HEADER, n.id.to_string());
        if let Some(key) = &self.hmac_key {
            request = request.header(SIGNATURE_HEADER, signature(key, &body));
        }
        http::send(request.body(body), &self.peer).await
    }
}

/// `type: webhook` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// Plain URL (when not secret).
    pub url: Option<String>,
    /// Secret holding the URL.
    pub url_secret: Option<String>,
    /// Secret holding the HMAC-SHA256 key; signs the body when set.
    pub hmac_secret: Option<String>,
}

impl ReceiverSpec for WebhookConfig {
    const TYPE: &'static str = "webhook";
    const KEYS: &'static [&'static str] = &["url", "url_secret", "hmac_secret"];

    fn validate(fields: &mut Fields<'_>) -> Self {
        let url = fields.text("url");
        let url_secret = fields.secret("url_secret");
        if url.is_none() == url_secret.is_none() {
            fields.problem("webhook needs exactly one of `url` and `url_secret`");
        }
        WebhookConfig {
            url,
            url_secret,
            hmac_secret: fields.secret("hmac_secret"),
        }
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Receiver>, String> {
        let target = match (&self.url, &self.url_secret) {
            (None, Some(s)) => Target::Secret(ctx.secret(s)?),
            (Some(u), None) => Target::Plain(u.clone()),
            _ => {
                return Err(format!(
                    "receiver '{}': a webhook needs exactly one of url and url_secret",
                    ctx.name
                ));
            }
        };
        let key = self
            .hmac_secret
            .as_deref()
            .map(|s| ctx.secret(s))
            .transpose()?;
        Ok(Arc::new(Webhook::new(
            ctx.name,
            target,
            key,
            ctx.external_url,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::receivers::testutil::{Reply, TestServer, purchase_alert, utc};
    use crate::alert::state::AlertEvent;

    fn receiver(url: &str, key: Option<&str>) -> Webhook {
        let target = Target::Secret(format!("{url}/hook?token=s3cr3t"));
        Webhook::new(
            "hook",
            target,
            key.map(str::to_string),
            Some("http://journeyd:9750"),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn body_follows_alertmanager_webhook_format_version_4() {
        let mut server = TestServer::start(Reply::status(200)).await;
        let alert = purchase_alert();
        let n = Notification {
            id: 42,
            event: AlertEvent::Firing(alert.clone()),
        };
        receiver(&server.url, None).deliver(&n).await.unwrap();
        let got = server.next().await;
        assert_eq!(got.path, "/hook?token=s3cr3t");
        assert_eq!(got.header("x-journeyd-delivery"), "42");
        assert_eq!(
            got.json(),
            json!({
                "version": "4",
                "groupKey": "{}:{alertname=\"JourneyFailing\", journey=\"purchase\"}",
                "status": "firing",
                "receiver": "hook",
                "groupLabels": {"alertname": "JourneyFailing", "journey": "purchase"},
                "commonLabels": alert.labels,
                "commonAnnotations": alert.annotations,
                "externalURL": "http://journeyd:9750",
                "alerts": [{
                    "status": "firing",
                    "labels": alert.labels,
                    "annotations": alert.annotations,
                    "startsAt": "2026-03-01T10:00:00.000Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://journeyd.example.com:9750/runs/0f8e",
                    "fingerprint": fingerprint(&alert.labels),
                }],
                "truncatedAlerts": 0,
            })
        );
    }

    #[tokio::test]
    async fn resolved_body_says_resolved_with_its_end() {
        let mut server = TestServer::start(Reply::status(204)).await;
        let n = Notification {
            id: 43,
            event: AlertEvent::Resolved(purchase_alert(), utc("2026-03-01T10:05:00Z")),
        };
        receiver(&server.url, None).deliver(&n).await.unwrap();
        let body = server.next().await.json();
        assert_eq!(body["status"], "resolved");
        assert_eq!(body["alerts"][0]["status"], "resolved");
        assert_eq!(body["alerts"][0]["endsAt"], "2026-03-01T10:05:00.000Z");
    }

    #[tokio::test]
    async fn hmac_signature_verifies_against_the_exact_body() {
        let mut server = TestServer::start(Reply::status(200)).await;
        let n = Notification {
            id: 7,
            event: AlertEvent::Firing(purchase_alert()),
        };
        receiver(&server.url, Some("whsec_test_key"))
            .deliver(&n)
            .await
            .unwrap();
        let got = server.next().await;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_test_key").unwrap();
        mac.update(&got.body);
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got.header("x-journeyd-signature"), format!("sha256={want}"));
    }

    #[tokio::test]
    async fn without_hmac_secret_there_is_no_signature_header() {
        let mut server = TestServer::start(Reply::status(200)).await;
        let n = Notification {
            id: 8,
            event: AlertEvent::Firing(purchase_alert()),
        };
        receiver(&server.url, None).deliver(&n).await.unwrap();
        let got = server.next().await;
        assert!(
            got.headers.get("x-journeyd-signature").is_none(),
            "{:?}",
            got.headers
        );
        assert_eq!(got.header("x-journeyd-delivery"), "8");
    }

    #[tokio::test]
    async fn secret_url_and_key_stay_out_of_errors_and_debug() {
        let server =
            TestServer::start(Reply::status(404).body("no hook at /hook?token=s3cr3t")).await;
        let hook = receiver(&server.url, Some("whsec_test_key"));
        let n = Notification {
            id: 9,
            event: AlertEvent::Firing(purchase_alert()),
        };
        let err = hook.deliver(&n).await.unwrap_err();
        assert!(!err.retryable);
        assert_eq!(
            err.message,
            "the webhook (receiver 'hook') answered 404 Not Found: no hook at ***"
        );
        let debug = format!("{hook:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("whsec"),
            "{debug}"
        );
    }
}
