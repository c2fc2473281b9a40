//! What every HTTP receiver shares: how its client is built and how an answer
//! (or its absence) becomes `Ok` or a [`DeliveryError`].
//!
//! Network errors, timeouts, 429 and 5xx are retryable, with the receiver's
//! `Retry-After` when it gave one; any other non-2xx answer is permanent,
//! because sending the same body again would get the same answer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;

use super::DeliveryError;

/// Per request, connection included: a stuck receiver must not hold the outbox.
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);

/// The most of an error answer's body quoted in a message: enough for
/// "invalid_token" or PagerDuty's error list, not a whole HTML page.
const BODY_EXCERPT_CHARS: usize = 200;

/// One client per receiver, so a slow receiver's pool never starves another's.
pub(super) fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(crate::USER_AGENT)
        // A redirect would re-send the body (and headers) somewhere not configured.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// Who is being talked to, as errors name it, and what they must never show.
#[derive(Clone)]
pub(super) struct Peer {
    /// "the Slack webhook (receiver 'oncall')": never a URL from a secret.
    pub what: String,
    /// Values replaced by `***` in every message (keys, secret URLs and their paths).
    pub secrets: Vec<String>,
}

impl Peer {
    /// A peer with nothing to hide (beyond what `what` already leaves out).
    pub fn new(what: String) -> Self {
        Self {
            what,
            secrets: Vec::new(),
        }
    }

    /// Adds a value to hide; for a URL, its path and query too, since an error
    /// from the network stack may quote only part of it.
    pub fn hiding(mut self, secret: &str) -> Self {
        if let Ok(url) = url::Url::parse(secret) {
            let path = &url[url::Position::BeforePath..];
            if path.len() > 1 {
                self.secrets.push(path.to_string());
            }
            // The parsed form may differ from the text (normalised), and either may be quoted.
            self.secrets.push(url.to_string());
        }
        self.secrets.push(secret.to_string());
        self
    }

    fn redact(&self, message: String) -> String {
        // Longest first, so a URL is hidden whole rather than leaving its host around a `***`.
        let mut secrets: Vec<&String> = self.secrets.iter().filter(|s| !s.is_empty()).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets
            .iter()
            .fold(message, |m, s| m.replace(s.as_str(), "***"))
    }
}

/// Sends one request and classifies the outcome.
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    peer: &Peer,
) -> Result<(), DeliveryError> {
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Err(network_error(&e, peer)),
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retryable = is_retryable(status);
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()))
        .filter(|_| retryable);
    let redirect = if status.is_redirection() {
        " (redirects are not followed: configure the final URL)"
    } else {
        ""
    };
    let body = body_excerpt(response).await;
    let message = format!("{} answered {status}{redirect}{body}", peer.what);
    Err(DeliveryError {
        retryable,
        retry_after,
        message: peer.redact(message),
    })
}

/// 429 and 5xx: the receiver is overloaded or broken now, and may not be later.
pub(super) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date
/// in the past means "now".
pub(super) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT") is a subset of RFC 2822.
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn network_error(e: &reqwest::Error, peer: &Peer) -> DeliveryError {
    // reqwest's own Display quotes the URL, which may be a secret: describe the
    // error from its sources instead, and redact them anyway.
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = s.source();
    }
    let cause = causes.join(": ");
    let (retryable, message) = if e.is_timeout() {
        (
            true,
            format!("{} did not answer within {}s", peer.what, TIMEOUT.as_secs()),
        )
    } else if e.is_connect() {
        (true, format!("{} could not be reached: {cause}", peer.what))
    } else if e.is_builder() {
        // A request that cannot even be built will not build next time either.
        (false, format!("{}: invalid request: {cause}", peer.what))
    } else {
        (true, format!("{}: request failed: {cause}", peer.what))
    };
    DeliveryError {
        retryable,
        retry_after: None,
        message: peer.redact(message),
    }
}

async fn body_excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    // Read only what is quoted: an error page may be large.
    while bytes.len() < BODY_EXCERPT_CHARS * 4 {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        String::new()
    } else {
        format!(": {}", super::truncate(&text, BODY_EXCERPT_CHARS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::receivers::testutil::{Reply, TestServer, closed_port_url};

    async fn post(url: &str) -> Result<(), DeliveryError> {
        let client = client().unwrap();
        send(
            client.post(url).body("{}"),
            &Peer::new("the test peer".into()),
        )
        .await
    }

    #[tokio::test]
    async fn server_error_is_retryable() {
        let mut server = TestServer::start(Reply::status(503)).await;
        let err = post(&server.url).await.unwrap_err();
        server.next().await;
        assert!(err.retryable, "{err:?}");
        assert_eq!(err.retry_after, None);
        assert_eq!(
            err.message,
            "the test peer answered 503 Service Unavailable"
        );
    }

    #[tokio::test]
    async fn too_many_requests_is_retryable_after_its_retry_after() {
        let server = TestServer::start(Reply::status(429).header("retry-after", "7")).await;
        let err = post(&server.url).await.unwrap_err();
        assert!(err.retryable);
        assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
    }

    #[tokio::test]
    async fn client_error_is_permanent_and_quotes_the_body() {
        let server = TestServer::start(
            Reply::status(400)
                .header("retry-after", "7")
                .body("{\"status\":\"invalid event\",\n \"errors\":[\"x\"]}"),
        )
        .await;
        let err = post(&server.url).await.unwrap_err();
        assert!(!err.retryable);
        assert_eq!(
            err.retry_after, None,
            "Retry-After only matters when retrying"
        );
        assert_eq!(
            err.message,
            "the test peer answered 400 Bad Request: {\"status\":\"invalid event\", \"errors\":[\"x\"]}"
        );
    }

    #[tokio::test]
    async fn closed_port_is_retryable() {
        let err = post(&closed_port_url().await).await.unwrap_err();
        assert!(err.retryable, "{err:?}");
        assert!(
            err.message
                .starts_with("the test peer could not be reached"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn redirect_is_not_followed_and_is_permanent() {
        let mut target = TestServer::start(Reply::status(200)).await;
        let server = TestServer::start(Reply::status(302).header("location", &target.url)).await;
        let err = post(&server.url).await.unwrap_err();
        assert!(!err.retryable);
        assert!(
            err.message
                .contains("302 Found (redirects are not followed"),
            "{err}"
        );
        assert!(target.try_next().is_none(), "the redirect was followed");
    }

    #[tokio::test]
    async fn success_sends_journeyd_user_agent() {
        let mut server = TestServer::start(Reply::status(204)).await;
        post(&server.url).await.unwrap();
        let got = server.next().await;
        assert_eq!(got.header("user-agent"), crate::USER_AGENT);
    }

    #[test]
    fn redaction_hides_secret_urls_and_their_paths() {
        let peer = Peer::new("x".into()).hiding("https://hooks.example.com/services/T0/B0/tok");
        assert_eq!(
            peer.redact(
                "GET https://hooks.example.com/services/T0/B0/tok and /services/T0/B0/tok".into()
            ),
            "GET *** and ***"
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:30Z")
            .unwrap()
            .to_utc();
        let cases = [
            ("7", Some(7)),
            (" 120 ", Some(120)),
            ("Wed, 21 Oct 2015 07:28:00 GMT", Some(30)),
            ("Wed, 21 Oct 2015 07:00:00 GMT", Some(0)),
            ("soon", None),
            ("-3", None),
        ];
        for (value, want) in cases {
            assert_eq!(
                parse_retry_after(value, now),
                want.map(Duration::from_secs),
                "Retry-After: {value}"
            );
        }
    }
}
