//! PagerDuty Events API v2: `trigger` when an alert fires, `resolve` when it
//! ends, both with the alert's [`fingerprint`] as `dedup_key`, so PagerDuty
//! folds re-sends into one incident and the resolve closes that incident even
//! after a journeyd restart. PagerDuty answers 202 when it queued the event.

use std::sync::Arc;

use std::collections::BTreeMap;
use std::fmt;

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use url::Url;

use super::http::{self, Peer};
use super::raw::Fields;
use super::{BuildContext, ReceiverSpec};
use super::{DeliveryError, Notification, Receiver, fingerprint, parts, timestamp, truncate};
use crate::alert::state::Alert;

/// PagerDuty cuts longer summaries; cut them ourselves so the mark shows where.
const SUMMARY_MAX_CHARS: usize = 1024;

/// Sends events to one PagerDuty service (its routing key).
pub struct PagerDuty {
    name: String,
    endpoint: Url,
    routing_key: String,
    external_url: Option<String>,
    client: reqwest::Client,
    peer: Peer,
}

impl fmt::Debug for PagerDuty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDuty")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint.as_str())
            .field("routing_key", &"***")
            .finish_non_exhaustive()
    }
}

impl PagerDuty {
    /// `url` is the events endpoint (`https://events.pagerduty.com/v2/enqueue`).
    pub fn new(
        name: &str,
        url: &str,
        routing_key: String,
        external_url: Option<&str>,
    ) -> Result<Self, String> {
        let endpoint = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| format!("receiver '{name}': the PagerDuty URL is not an http(s) URL"))?;
        let peer = Peer::new(format!("PagerDuty (receiver '{name}')")).hiding(&routing_key);
        Ok(Self {
            name: name.to_string(),
            endpoint,
            routing_key,
            external_url: external_url.map(str::to_string),
            client: http::client()?,
            peer,
        })
    }

    /// The Events API v2 body.
    fn payload(&self, alert: &Alert, resolved: bool, at: String) -> Value {
        let labels = &alert.labels;
        let summary = alert
            .annotations
            .get("summary")
            .cloned()
            .unwrap_or_else(|| {
                let name = labels.get("alertname").map_or("alert", String::as_str);
                let journey = labels.get("journey").map_or("?", String::as_str);
                format!("{name}: {journey}")
            });
        // Identity wins over text when a name is both a label and an annotation.
        let details: BTreeMap<&String, &String> =
            alert.annotations.iter().chain(labels.iter()).collect();
        let mut payload = json!({
            "summary": truncate(&summary, SUMMARY_MAX_CHARS),
            "source": "journeyd",
            "severity": severity(labels.get("severity").map(String::as_str)),
            "timestamp": at,
            "custom_details": details,
        });
        for (field, label) in [
            ("component", "backend"),
            ("group", "journey"),
            ("class", "class"),
        ] {
            if let Some(v) = labels.get(label) {
                payload[field] = json!(v);
            }
        }
        let mut event = json!({
            "routing_key": self.routing_key,
            "event_action": if resolved { "resolve" } else { "trigger" },
            "dedup_key": fingerprint(labels),
            "payload": payload,
            "links": links(alert),
            "client": "journeyd",
        });
        if let Some(u) = &self.external_url {
            event["client_url"] = json!(u);
        }
        event
    }
}

/// PagerDuty's severity for an alert's `severity` label. Unknown or missing
/// pages as critical: an alert nobody classified must not be quietly downgraded.
fn severity(label: Option<&str>) -> &'static str {
    match label {
        Some("warning") => "warning",
        Some("info") => "info",
        _ => "critical",
    }
}

fn links(alert: &Alert) -> Vec<Value> {
    [("run_url", "journeyd run"), ("runbook_url", "Runbook")]
        .into_iter()
        .filter_map(|(key, text)| {
            alert
                .annotations
                .get(key)
                .map(|href| json!({"href": href, "text": text}))
        })
        .collect()
}

#[async_trait::async_trait]
impl Receiver for PagerDuty {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let (alert, ended) = parts(&n.event);
        let at = timestamp(ended.unwrap_or(alert.starts_at));
        let body = self.payload(alert, ended.is_some(), at).to_string();
        let request = self
            .client
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        http::send(request, &self.peer).await
    }
}

/// PagerDuty's Events API v2 endpoint, unless `url` says otherwise.
const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// `type: pagerduty` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PagerDutyConfig {
    /// Events endpoint (default `https://events.pagerduty.com/v2/enqueue`).
    pub url: String,
    /// Secret holding the routing key.
    pub routing_key_secret: String,
}

impl ReceiverSpec for PagerDutyConfig {
    const TYPE: &'static str = "pagerduty";
    const KEYS: &'static [&'static str] = &["url", "routing_key_secret"];

    fn validate(fields: &mut Fields<'_>) -> Self {
        let routing_key_secret = fields.secret("routing_key_secret").unwrap_or_else(|| {
            fields.problem("pagerduty needs `routing_key_secret`: the name of the secret holding the routing key");
            String::new()
        });
        PagerDutyConfig {
            url: fields
                .text("url")
                .unwrap_or_else(|| DEFAULT_URL.to_string()),
            routing_key_secret,
        }
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Receiver>, String> {
        let key = ctx.secret(&self.routing_key_secret)?;
        Ok(Arc::new(PagerDuty::new(
            ctx.name,
            &self.url,
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

    const KEY: &str = "R0UT1NGKEY0123456789abcdefabcdef";

    fn receiver(url: &str) -> PagerDuty {
        PagerDuty::new(
            "pd",
            url,
            KEY.into(),
            Some("http://journeyd.example.com:9750"),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn trigger_then_resolve_share_the_dedup_key() {
        let mut server =
            TestServer::start(Reply::status(202).body(r#"{"status":"success"}"#)).await;
        let pd = receiver(&format!("{}/v2/enqueue", server.url));
        let alert = purchase_alert();
        let fired = Notification {
            id: 1,
            event: AlertEvent::Firing(alert.clone()),
        };
        let ended = Notification {
            id: 2,
            event: AlertEvent::Resolved(alert.clone(), utc("2026-03-01T10:05:00Z")),
        };
        pd.deliver(&fired).await.unwrap();
        pd.deliver(&ended).await.unwrap();
        let (trigger, resolve) = (server.next().await, server.next().await);
        assert_eq!(trigger.path, "/v2/enqueue");
        let (trigger, resolve) = (trigger.json(), resolve.json());
        let mut details = serde_json::Map::new();
        for (k, v) in alert.annotations.iter().chain(alert.labels.iter()) {
            details.insert(k.clone(), json!(v));
        }
        assert_eq!(
            trigger,
            json!({
                "routing_key": KEY,
                "event_action": "trigger",
                "dedup_key": fingerprint(&alert.labels),
                "payload": {
                    "summary": alert.annotations["summary"],
                    "source": "journeyd",
                    "severity": "critical",
                    "timestamp": "2026-03-01T10:00:00.000Z",
                    "component": "fulfillment",
                    "group": "purchase",
                    "class": "backend_timeout",
                    "custom_details": details,
                },
                "links": [
                    {"href": "http://journeyd.example.com:9750/runs/0f8e", "text": "journeyd run"},
                    {"href": "https://wiki.example.com/runbooks/purchase", "text": "Runbook"},
                ],
                "client": "journeyd",
                "client_url": "http://journeyd.example.com:9750",
            })
        );
        assert_eq!(resolve["event_action"], "resolve");
        assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
        assert_eq!(resolve["payload"]["timestamp"], "2026-03-01T10:05:00.000Z");
    }

    #[test]
    fn severity_label_maps_to_pagerduty_severity() {
        let cases = [
            (Some("critical"), "critical"),
            (Some("warning"), "warning"),
            (Some("info"), "info"),
            (Some("page-me"), "critical"),
            (None, "critical"),
        ];
        for (label, want) in cases {
            assert_eq!(severity(label), want, "{label:?}");
        }
    }

    #[tokio::test]
    async fn degraded_alert_is_a_warning_without_a_component_when_no_backend() {
        let mut server = TestServer::start(Reply::status(202)).await;
        let mut alert = purchase_alert();
        alert.labels.insert("severity".into(), "warning".into());
        alert.labels.remove("backend");
        let n = Notification {
            id: 3,
            event: AlertEvent::Firing(alert),
        };
        receiver(&server.url).deliver(&n).await.unwrap();
        let body = server.next().await.json();
        assert_eq!(body["payload"]["severity"], "warning");
        assert!(body["payload"].get("component").is_none(), "{body}");
    }

    #[tokio::test]
    async fn routing_key_never_shows_in_errors_or_debug() {
        // A receiver that echoes what it got must not make us print the key.
        let echo = format!(r#"{{"status":"invalid event","message":"unknown routing key {KEY}"}}"#);
        let server = TestServer::start(Reply::status(400).body(&echo)).await;
        let pd = receiver(&server.url);
        let n = Notification {
            id: 4,
            event: AlertEvent::Firing(purchase_alert()),
        };
        let err = pd.deliver(&n).await.unwrap_err();
        assert!(!err.retryable);
        assert_eq!(
            err.message,
            "PagerDuty (receiver 'pd') answered 400 Bad Request: \
             {\"status\":\"invalid event\",\"message\":\"unknown routing key ***\"}"
        );
        assert!(!format!("{pd:?}").contains(KEY));
    }
}
