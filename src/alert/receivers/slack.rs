//! Slack incoming webhook: one message per alert change, written for the
//! person on call: what broke (journey, step, backend, class), the summary,
//! expected vs actual, when it last worked, and links to the run and runbook.
//!
//! The webhook URL is itself the credential, so it comes from a secret and is
//! never printed: errors say "the Slack webhook (receiver 'x') answered 503".

use std::sync::Arc;

use std::fmt;

use chrono::{DateTime, Utc};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use super::http::{self, Peer};
use super::raw::Fields;
use super::{BuildContext, ReceiverSpec};
use super::{DeliveryError, Notification, Receiver, parts, truncate};
use crate::alert::state::Alert;

/// Slack rejects a header over 150 characters and a section text over 3000.
const HEADER_MAX_CHARS: usize = 150;
const TEXT_MAX_CHARS: usize = 2900;
const FIELD_MAX_CHARS: usize = 1900;

/// Posts alert messages to one Slack incoming webhook.
pub struct Slack {
    name: String,
    url: String,
    client: reqwest::Client,
    peer: Peer,
}

impl fmt::Debug for Slack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slack")
            .field("name", &self.name)
            .field("url", &"***")
            .finish_non_exhaustive()
    }
}

impl Slack {
    /// `url` is the webhook URL, read from a secret.
    pub fn new(name: &str, url: String) -> Result<Self, String> {
        // The parse error is not quoted: it could echo part of the URL.
        if !url::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            return Err(format!(
                "receiver '{name}': the Slack webhook secret is not an http(s) URL"
            ));
        }
        let peer = Peer::new(format!("the Slack webhook (receiver '{name}')")).hiding(&url);
        Ok(Self {
            name: name.to_string(),
            url,
            client: http::client()?,
            peer,
        })
    }
}

/// The message: `text` is the notification fallback, `blocks` what people read.
fn message(alert: &Alert, resolved_at: Option<DateTime<Utc>>) -> Value {
    let label = |k: &str| alert.labels.get(k).map(String::as_str);
    let note = |k: &str| alert.annotations.get(k).map(String::as_str);
    let journey = label("journey").unwrap_or("?");
    let status = match (resolved_at, label("severity")) {
        (Some(_), _) => "✅ RESOLVED",
        (None, Some("critical") | None) => "🔴 FIRING",
        (None, Some(_)) => "🟠 FIRING",
    };
    let summary = note("summary").unwrap_or(journey);
    let mut blocks = vec![
        json!({"type": "header", "text": {
            "type": "plain_text",
            "text": truncate(&format!("{status}: {journey}"), HEADER_MAX_CHARS),
            "emoji": true,
        }}),
        section(&escape(summary)),
        json!({"type": "section", "fields": fields(alert, resolved_at)}),
    ];
    if resolved_at.is_none()
        && let (Some(expected), Some(actual)) = (note("expected"), note("actual"))
    {
        blocks.push(section(&format!(
            "*Expected:* {}\n*Actual:* {}",
            code(expected),
            code(actual)
        )));
    }
    let links: Vec<String> = [("run_url", "View the run"), ("runbook_url", "Runbook")]
        .into_iter()
        .filter_map(|(k, text)| note(k).map(|url| format!("<{}|{text}>", link_target(url))))
        .collect();
    if !links.is_empty() {
        blocks.push(section(&links.join("  ·  ")));
    }
    let fallback = format!(
        "{}: {summary}",
        status.trim_start_matches(|c: char| !c.is_ascii()).trim()
    );
    json!({"text": truncate(&fallback, TEXT_MAX_CHARS), "blocks": blocks})
}

fn fields(alert: &Alert, resolved_at: Option<DateTime<Utc>>) -> Vec<Value> {
    let mut fields: Vec<(&str, String)> = ["journey", "step", "backend", "class", "alertname"]
        .into_iter()
        .filter_map(|k| alert.labels.get(k).map(|v| (k, escape(v))))
        .map(|(k, v)| (title(k), v))
        .collect();
    fields.push(("Started", date(alert.starts_at)));
    match resolved_at {
        Some(at) => fields.push(("Resolved", date(at))),
        None => {
            if let Some(s) = alert.annotations.get("last_success") {
                let shown = DateTime::parse_from_rfc3339(s)
                    .map_or_else(|_| escape(s), |t| date(t.to_utc()));
                fields.push(("Last success", shown));
            }
        }
    }
    fields
        .into_iter()
        .map(|(k, v)| json!({"type": "mrkdwn", "text": truncate(&format!("*{k}*\n{v}"), FIELD_MAX_CHARS)}))
        .collect()
}

fn title(label: &str) -> &'static str {
    match label {
        "journey" => "Journey",
        "step" => "Step",
        "backend" => "Backend",
        "class" => "Class",
        _ => "Alert",
    }
}

fn section(mrkdwn: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(mrkdwn, TEXT_MAX_CHARS)}})
}

/// Slack shows the date in each reader's time zone; the fallback is UTC.
fn date(t: DateTime<Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time_secs}}|{}>",
        t.timestamp(),
        t.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Inline code; a backquote inside would end it early.
fn code(s: &str) -> String {
    format!("`{}`", escape(&s.replace('`', "'")))
}

/// A URL inside `<url|text>`: `|` and `>` would end it early.
fn link_target(url: &str) -> String {
    url.replace('|', "%7C")
        .replace('>', "%3E")
        .replace('<', "%3C")
}

#[async_trait::async_trait]
impl Receiver for Slack {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let (alert, resolved_at) = parts(&n.event);
        let body = message(alert, resolved_at).to_string();
        let request = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        http::send(request, &self.peer).await
    }
}

/// `type: slack` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackConfig {
    /// Secret holding the webhook URL.
    pub url_secret: String,
}

impl ReceiverSpec for SlackConfig {
    const TYPE: &'static str = "slack";
    const KEYS: &'static [&'static str] = &["url_secret"];

    fn validate(fields: &mut Fields<'_>) -> Self {
        let url_secret = fields.secret("url_secret").unwrap_or_else(|| {
            fields.problem(
                "slack needs `url_secret`: the name of the secret holding the webhook URL",
            );
            String::new()
        });
        SlackConfig { url_secret }
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Receiver>, String> {
        Ok(Arc::new(Slack::new(
            ctx.name,
            ctx.secret(&self.url_secret)?,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::receivers::testutil::{Reply, TestServer, purchase_alert, utc};
    use crate::alert::state::AlertEvent;

    const TOKEN_PATH: &str = "/services/T0000/B0000/XXXXsecretXXXX";

    #[tokio::test]
    async fn firing_message_says_what_broke_and_links_the_run() {
        let mut server = TestServer::start(Reply::status(200).body("ok")).await;
        let slack = Slack::new("oncall", format!("{}{TOKEN_PATH}", server.url)).unwrap();
        let n = Notification {
            id: 1,
            event: AlertEvent::Firing(purchase_alert()),
        };
        slack.deliver(&n).await.unwrap();
        let got = server.next().await;
        assert_eq!(got.path, TOKEN_PATH);
        let summary = purchase_alert().annotations["summary"].clone();
        assert_eq!(
            got.json(),
            json!({
                "text": format!("FIRING: {summary}"),
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "🔴 FIRING: purchase", "emoji": true}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
                    {"type": "section", "fields": [
                        {"type": "mrkdwn", "text": "*Journey*\npurchase"},
                        {"type": "mrkdwn", "text": "*Step*\norder_ships"},
                        {"type": "mrkdwn", "text": "*Backend*\nfulfillment"},
                        {"type": "mrkdwn", "text": "*Class*\nbackend_timeout"},
                        {"type": "mrkdwn", "text": "*Alert*\nJourneyFailing"},
                        {"type": "mrkdwn", "text": "*Started*\n<!date^1772359200^{date_short_pretty} {time_secs}|2026-03-01 10:00:00 UTC>"},
                        {"type": "mrkdwn", "text": "*Last success*\n<!date^1772359080^{date_short_pretty} {time_secs}|2026-03-01 09:58:00 UTC>"},
                    ]},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*Expected:* `$.status == \"shipped\"`\n*Actual:* `\"pending\"`"}},
                    {"type": "section", "text": {"type": "mrkdwn", "text":
                        "<http://journeyd.example.com:9750/runs/0f8e|View the run>  ·  <https://wiki.example.com/runbooks/purchase|Runbook>"}},
                ],
            })
        );
    }

    #[test]
    fn resolved_message_is_green_and_says_when() {
        let m = message(&purchase_alert(), Some(utc("2026-03-01T10:05:00Z")));
        assert_eq!(m["blocks"][0]["text"]["text"], "✅ RESOLVED: purchase");
        assert!(
            m["text"]
                .as_str()
                .unwrap()
                .starts_with("RESOLVED: purchase: "),
            "{m}"
        );
        let fields = m["blocks"][2]["fields"].to_string();
        assert!(
            fields.contains("*Resolved*\\n<!date^1772359500^"),
            "{fields}"
        );
        assert!(
            !m.to_string().contains("*Expected:*"),
            "stale expected/actual on a resolve"
        );
    }

    #[test]
    fn warning_is_orange_and_mrkdwn_is_escaped() {
        let mut alert = purchase_alert();
        alert.labels.insert("severity".into(), "warning".into());
        alert
            .annotations
            .insert("summary".into(), "a <b> & `c`".into());
        alert.annotations.insert("actual".into(), "x`y<z".into());
        let m = message(&alert, None);
        assert_eq!(m["blocks"][0]["text"]["text"], "🟠 FIRING: purchase");
        assert_eq!(m["blocks"][1]["text"]["text"], "a &lt;b&gt; &amp; `c`");
        assert!(
            m["blocks"][3]["text"]["text"]
                .as_str()
                .unwrap()
                .ends_with("*Actual:* `x'y&lt;z`"),
            "{m}"
        );
    }

    #[tokio::test]
    async fn webhook_url_never_appears_in_errors() {
        // The server echoes the secret path back, as some proxies' error pages do.
        let server =
            TestServer::start(Reply::status(500).body(&format!("no route for {TOKEN_PATH}"))).await;
        let url = format!("{}{TOKEN_PATH}", server.url);
        let slack = Slack::new("oncall", url.clone()).unwrap();
        let n = Notification {
            id: 1,
            event: AlertEvent::Firing(purchase_alert()),
        };
        let err = slack.deliver(&n).await.unwrap_err();
        assert!(err.retryable);
        assert_eq!(
            err.message,
            "the Slack webhook (receiver 'oncall') answered 500 Internal Server Error: no route for ***"
        );
        assert!(!format!("{slack:?}").contains("XXXXsecret"), "{slack:?}");
        let not_a_url = Slack::new("oncall", "hooks/XXXXsecretXXXX".into()).unwrap_err();
        assert_eq!(
            not_a_url,
            "receiver 'oncall': the Slack webhook secret is not an http(s) URL"
        );
    }
}
