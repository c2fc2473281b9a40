//! Alertmanager API v2: `POST {url}/api/v2/alerts` to every configured instance.
//!
//! Alertmanager forgets a firing alert once its `endsAt` passes, so a firing
//! alert's `endsAt` is four resend intervals ahead and the engine re-sends it
//! every [`Receiver::resend_interval`]: a few lost re-sends do not resolve it,
//! and if journeyd dies Alertmanager resolves it by itself instead of keeping
//! a stale page forever. A resolved alert's `endsAt` is when it resolved.
//!
//! HA Alertmanagers gossip silences and notification logs, not alerts: each
//! instance must get each alert, so every URL is sent to (never just one) and
//! any retryable failure makes the whole delivery retryable. Re-sending to the
//! instances that already accepted is harmless: they dedup by labels.

use std::sync::Arc;

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use url::Url;

use super::http::{self, Peer};
use super::raw::Fields;
use super::{BuildContext, ReceiverSpec};
use super::{DeliveryError, Notification, Receiver, parts, timestamp};
use crate::alert::state::AlertEvent;

/// How many resend intervals ahead a firing alert's `endsAt` is.
const ENDS_AT_RESENDS: u32 = 4;

/// Sends alerts to every listed Alertmanager.
pub struct Alertmanager {
    name: String,
    instances: Vec<Instance>,
    resend_interval: Duration,
    external_url: Option<String>,
    client: reqwest::Client,
}

#[derive(Clone)]
struct Instance {
    endpoint: Url,
    peer: Peer,
}

impl fmt::Debug for Alertmanager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Peers name instances without credentials; `Url`'s Debug would print a password.
        let instances: Vec<&str> = self
            .instances
            .iter()
            .map(|i| i.peer.what.as_str())
            .collect();
        f.debug_struct("Alertmanager")
            .field("name", &self.name)
            .field("instances", &instances)
            .field("resend_interval", &self.resend_interval)
            .finish_non_exhaustive()
    }
}

impl Alertmanager {
    /// `urls` are base URLs (`http://127.0.0.1:9093`, or with a path prefix).
    pub fn new(
        name: &str,
        urls: &[String],
        resend_interval: Duration,
        external_url: Option<&str>,
    ) -> Result<Self, String> {
        if urls.is_empty() {
            return Err(format!(
                "receiver '{name}': alertmanager needs at least one URL"
            ));
        }
        let instances = urls
            .iter()
            .enumerate()
            .map(|(i, u)| instance(name, i, u))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            name: name.to_string(),
            instances,
            resend_interval,
            external_url: external_url.map(str::to_string),
            client: http::client()?,
        })
    }

    /// The API v2 body: a list of one alert.
    fn payload(&self, event: &AlertEvent, now: DateTime<Utc>) -> Value {
        let (alert, ended) = parts(event);
        let ends_at = ended.unwrap_or_else(|| {
            let ahead = self.resend_interval.saturating_mul(ENDS_AT_RESENDS);
            let ahead = TimeDelta::from_std(ahead).unwrap_or(TimeDelta::MAX);
            now.checked_add_signed(ahead)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        });
        let mut a = json!({
            "labels": alert.labels,
            "annotations": alert.annotations,
            "startsAt": timestamp(alert.starts_at),
            "endsAt": timestamp(ends_at),
        });
        // Alertmanager rejects an empty generatorURL, so leave it out when there is none.
        let generator = alert
            .annotations
            .get("run_url")
            .or(self.external_url.as_ref());
        if let Some(g) = generator {
            a["generatorURL"] = json!(g);
        }
        json!([a])
    }
}

fn instance(name: &str, index: usize, base: &str) -> Result<Instance, String> {
    let invalid = |why: &str| format!("receiver '{name}': URL #{} is not valid: {why}", index + 1);
    let mut url = Url::parse(base).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    let mut shown = url.clone();
    // Credentials in a URL must not reach messages. Setters only fail on URLs
    // that cannot have credentials, which then have none to hide.
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    url.path_segments_mut()
        .map_err(|()| invalid("it cannot have a path"))?
        .pop_if_empty()
        .extend(["api", "v2", "alerts"]);
    let mut peer = Peer::new(format!("Alertmanager {shown} (receiver '{name}')"));
    // Too short a password would blank out ordinary words; nobody uses one.
    if let Some(password) = url.password().filter(|p| p.len() >= 4) {
        peer = peer.hiding(password);
    }
    Ok(Instance {
        endpoint: url,
        peer,
    })
}

#[async_trait::async_trait]
impl Receiver for Alertmanager {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let body = Bytes::from(self.payload(&n.event, Utc::now()).to_string());
        // Concurrently: instances are independent and each may take the full timeout.
        let mut tasks = JoinSet::new();
        for (i, inst) in self.instances.iter().cloned().enumerate() {
            let request = self
                .client
                .post(inst.endpoint)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
            tasks.spawn(async move { (i, http::send(request, &inst.peer).await) });
        }
        let mut failures = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((_, Ok(()))) => {}
                Ok((i, Err(e))) => failures.push((i, e)),
                Err(e) => failures.push((usize::MAX, task_failed(&e))),
            }
        }
        combine(failures, self.instances.len())
    }

    fn resend_interval(&self) -> Option<Duration> {
        Some(self.resend_interval)
    }
}

fn task_failed(e: &tokio::task::JoinError) -> DeliveryError {
    DeliveryError {
        retryable: true,
        retry_after: None,
        message: format!("an Alertmanager delivery task failed: {e}"),
    }
}

/// One error for the whole delivery: retryable when any instance may accept later.
fn combine(mut failures: Vec<(usize, DeliveryError)>, total: usize) -> Result<(), DeliveryError> {
    if failures.is_empty() {
        return Ok(());
    }
    failures.sort_by_key(|(i, _)| *i);
    let retryable = failures.iter().any(|(_, e)| e.retryable);
    let retry_after = failures
        .iter()
        .filter(|(_, e)| e.retryable)
        .filter_map(|(_, e)| e.retry_after)
        .max();
    let reasons: Vec<&str> = failures.iter().map(|(_, e)| e.message.as_str()).collect();
    Err(DeliveryError {
        retryable,
        retry_after,
        message: format!(
            "{} of {total} Alertmanager instances did not take the alert: {}",
            failures.len(),
            reasons.join("; ")
        ),
    })
}

/// `type: alertmanager` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerConfig {
    /// Base URLs (`http://127.0.0.1:9093`).
    pub urls: Vec<String>,
    /// Re-send firing alerts this often (their `endsAt` is a few of these ahead).
    pub resend_interval: Duration,
}

impl ReceiverSpec for AlertmanagerConfig {
    const TYPE: &'static str = "alertmanager";
    const KEYS: &'static [&'static str] = &["urls", "resend_interval"];

    fn validate(fields: &mut Fields<'_>) -> Self {
        // A `urls` of the wrong shape was reported by `list`; one message is enough.
        let urls = fields.list("urls");
        let bad = urls.as_ref().map_or(!fields.has("urls"), |urls| {
            urls.is_empty() || urls.iter().any(|u| url::Url::parse(u).is_err())
        });
        let urls = urls.unwrap_or_default();
        if bad {
            fields.problem_at_type(
                "urls",
                "alertmanager needs `urls`: every Alertmanager, like [http://127.0.0.1:9093]",
            );
        }
        AlertmanagerConfig {
            urls: urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            resend_interval: fields.duration("resend_interval", Duration::from_secs(60)),
        }
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Receiver>, String> {
        let am = Alertmanager::new(ctx.name, &self.urls, self.resend_interval, ctx.external_url)?;
        Ok(Arc::new(am))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::receivers::testutil::{Reply, TestServer, purchase_alert, utc};

    fn receiver(urls: &[&str]) -> Alertmanager {
        let urls: Vec<String> = urls.iter().map(|u| u.to_string()).collect();
        Alertmanager::new("am", &urls, Duration::from_secs(60), None).unwrap()
    }

    fn firing() -> Notification {
        Notification {
            id: 1,
            event: AlertEvent::Firing(purchase_alert()),
        }
    }

    #[tokio::test]
    async fn firing_alert_goes_to_every_instance_with_ends_at_four_resends_ahead() {
        let mut a = TestServer::start(Reply::status(200)).await;
        let mut b = TestServer::start(Reply::status(200)).await;
        let before = Utc::now();
        receiver(&[&a.url, &format!("{}/", b.url)])
            .deliver(&firing())
            .await
            .unwrap();
        let after = Utc::now();
        for got in [a.next().await, b.next().await] {
            assert_eq!(got.method, "POST");
            assert_eq!(got.path, "/api/v2/alerts");
            assert_eq!(got.header("content-type"), "application/json");
            let mut body = got.json();
            let ends_at = body[0]["endsAt"].take();
            let ends_at = utc(ends_at.as_str().unwrap());
            let four = TimeDelta::seconds(240);
            // Millisecond timestamps: allow the truncation.
            assert!(
                ends_at >= before + four - TimeDelta::milliseconds(1),
                "{ends_at}"
            );
            assert!(ends_at <= after + four, "{ends_at}");
            let alert = purchase_alert();
            assert_eq!(
                body,
                json!([{
                    "labels": alert.labels,
                    "annotations": alert.annotations,
                    "startsAt": "2026-03-01T10:00:00.000Z",
                    "endsAt": null,
                    "generatorURL": "http://journeyd.example.com:9750/runs/0f8e",
                }])
            );
        }
    }

    #[tokio::test]
    async fn resolved_alert_ends_at_the_resolve_time() {
        let mut server = TestServer::start(Reply::status(200)).await;
        let n = Notification {
            id: 2,
            event: AlertEvent::Resolved(purchase_alert(), utc("2026-03-01T10:05:00Z")),
        };
        receiver(&[&server.url]).deliver(&n).await.unwrap();
        let body = server.next().await.json();
        assert_eq!(body[0]["endsAt"], "2026-03-01T10:05:00.000Z");
        assert_eq!(body[0]["startsAt"], "2026-03-01T10:00:00.000Z");
    }

    #[tokio::test]
    async fn one_failing_instance_makes_the_delivery_retryable() {
        let mut ok = TestServer::start(Reply::status(200)).await;
        let down = TestServer::start(Reply::status(503).header("retry-after", "5")).await;
        let err = receiver(&[&ok.url, &down.url])
            .deliver(&firing())
            .await
            .unwrap_err();
        ok.next().await;
        assert!(err.retryable);
        assert_eq!(err.retry_after, Some(Duration::from_secs(5)));
        assert_eq!(
            err.message,
            format!(
                "1 of 2 Alertmanager instances did not take the alert: \
                 Alertmanager {}/ (receiver 'am') answered 503 Service Unavailable",
                down.url
            )
        );
    }

    #[tokio::test]
    async fn path_prefix_is_kept_and_credentials_are_not_shown() {
        let mut server = TestServer::start(Reply::status(400)).await;
        let with_auth = server.url.replace("http://", "http://ops:hunter2@");
        let r = receiver(&[&format!("{with_auth}/am/")]);
        let err = r.deliver(&firing()).await.unwrap_err();
        let got = server.next().await;
        assert_eq!(got.path, "/am/api/v2/alerts");
        assert_eq!(got.header("authorization"), "Basic b3BzOmh1bnRlcjI=");
        assert!(!err.retryable);
        assert!(!err.message.contains("hunter2"), "{err}");
        assert!(!format!("{r:?}").contains("hunter2"), "{r:?}");
    }

    #[test]
    fn asks_to_be_resent_and_rejects_bad_urls() {
        assert_eq!(
            receiver(&["http://am:9093"]).resend_interval(),
            Some(Duration::from_secs(60))
        );
        let bad = ["ftp://am".to_string()];
        let err = Alertmanager::new("am", &bad, Duration::from_secs(60), None).unwrap_err();
        assert_eq!(
            err,
            "receiver 'am': URL #1 is not valid: the scheme must be http or https"
        );
        assert!(Alertmanager::new("am", &[], Duration::from_secs(60), None).is_err());
    }
}
