//! One exchange: build the request, wait for the headers, read the body under its
//! cap, all before one deadline, then turn what happened into an [`Exchange`].
//!
//! The deadline covers the whole exchange rather than each read, because a server
//! dripping one byte a second never trips a per-read timeout but still breaks the
//! customer's journey.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::{Method, RequestBuilder, Response};
use tokio::time::{Instant, timeout_at};
use url::Url;

use super::classify::{self, Phase};
use super::timing::Stage;
use super::{Exchange, HttpClient, HttpResponse, PreparedRequest, TransportError};
use crate::runner::result::{FailureClass, PhaseTimings};

/// Never reserve more than this up front, whatever `content-length` claims.
const MAX_PREALLOCATION: usize = 64 * 1024;

/// When the headers and the end of the body arrived.
#[derive(Debug, Default)]
struct Marks {
    headers_at: Option<Instant>,
    body_done_at: Option<Instant>,
}

pub(super) async fn send(
    client: &HttpClient,
    req: &PreparedRequest,
    timeout: Duration,
    max_body: u64,
) -> Exchange {
    let started = Instant::now();
    let deadline = crate::units::later(started, timeout);
    client.slot.begin();
    client.redirects.set(req.redirects);
    let mut marks = Marks::default();
    let limits = Limits {
        deadline,
        timeout,
        max_body,
    };
    let outcome = exchange(client, req, limits, &mut marks).await;
    let ended = Instant::now();
    Exchange {
        outcome,
        timings: timings(client, started, ended, &marks),
        elapsed: ended - started,
    }
}

fn timings(client: &HttpClient, started: Instant, ended: Instant, marks: &Marks) -> PhaseTimings {
    let c = client.slot.collected();
    let head_end = marks.headers_at.unwrap_or(ended);
    // Time before the headers that was not spent resolving or connecting is the
    // server's (or the network's) processing, unless we never got a connection.
    let processing = match (marks.headers_at, c.stage) {
        (None, Stage::Resolving | Stage::Connecting) => Duration::ZERO,
        _ => (head_end - started).saturating_sub(c.connect_total),
    };
    let transfer = marks
        .headers_at
        .map_or(Duration::ZERO, |h| marks.body_done_at.unwrap_or(ended) - h);
    PhaseTimings {
        resolve: c.resolve.as_secs_f64(),
        connect: c.connect.as_secs_f64(),
        processing: processing.as_secs_f64(),
        transfer: transfer.as_secs_f64(),
    }
}

fn failure(class: FailureClass, message: String, partial: Option<HttpResponse>) -> TransportError {
    TransportError {
        class,
        message,
        partial,
    }
}

/// The bounds of one exchange.
#[derive(Debug, Clone, Copy)]
struct Limits {
    deadline: Instant,
    timeout: Duration,
    max_body: u64,
}

async fn exchange(
    client: &HttpClient,
    req: &PreparedRequest,
    limits: Limits,
    marks: &mut Marks,
) -> Result<HttpResponse, TransportError> {
    let (url, request) = build_request(client, req)
        .map_err(|message| failure(FailureClass::Protocol, message, None))?;
    let mut response = match timeout_at(limits.deadline, request.send()).await {
        Err(_) => {
            let stage = client.slot.collected().stage;
            let message = head_timeout_message(stage, &url, limits.timeout);
            return Err(failure(FailureClass::Timeout, message, None));
        }
        Ok(Err(e)) => {
            let (class, message) = classify::classify(&e, &url, Phase::Head);
            return Err(failure(class, message, None));
        }
        Ok(Ok(response)) => response,
    };
    marks.headers_at = Some(Instant::now());

    let head = head_of(&response);
    let (body, stop) = read_body(&mut response, limits).await;
    marks.body_done_at = Some(Instant::now());
    let complete = HttpResponse {
        body: body.freeze(),
        ..head
    };
    let (class, message) = match stop {
        None => return Ok(complete),
        Some(BodyStop::TooLarge) => (
            FailureClass::BodyTooLarge,
            format!(
                "response body larger than the {}-byte limit; stopped reading",
                limits.max_body
            ),
        ),
        Some(BodyStop::Timeout) => (
            FailureClass::Timeout,
            format!(
                "body still arriving after {} ({} received)",
                humantime::format_duration(limits.timeout),
                bytes_text(complete.body.len())
            ),
        ),
        Some(BodyStop::Failed(e)) => classify::classify(&e, response.url(), Phase::Body),
    };
    Err(failure(class, message, Some(complete)))
}

/// The reqwest request for `req`, or why it cannot be sent at all (reported like a
/// target that speaks no HTTP: no exchange can happen).
fn build_request(
    client: &HttpClient,
    req: &PreparedRequest,
) -> Result<(Url, RequestBuilder), String> {
    let invalid = |what: &str, value: &str| format!("the request {what} {value:?} is not valid");
    let url = match &req.parsed_url {
        Some(parsed) if parsed.as_str() == req.url => parsed.clone(),
        _ => Url::parse(&req.url).map_err(|_| invalid("URL", &req.url))?,
    };
    let method =
        Method::from_bytes(req.method.as_bytes()).map_err(|_| invalid("method", &req.method))?;
    let mut builder = client.client.request(method, url.clone());
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = &req.body {
        builder = builder.body(body.clone());
    }
    Ok((url, builder))
}

fn bytes_text(n: usize) -> String {
    if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

/// Names the phase the request was stuck in when the deadline passed.
fn head_timeout_message(stage: Stage, url: &Url, timeout: Duration) -> String {
    let within = humantime::format_duration(timeout);
    let target = classify::target(url);
    match stage {
        Stage::Resolving => format!(
            "DNS lookup of {} not finished within {within}",
            url.host_str().unwrap_or(&target)
        ),
        Stage::Connecting if url.scheme() == "https" => {
            format!("TCP/TLS connection to {target} not established within {within}")
        }
        Stage::Connecting => format!("TCP connection to {target} not established within {within}"),
        Stage::Idle | Stage::Connected => format!("no response headers within {within}"),
    }
}

/// Status, headers, final URL and certificate: everything but the body.
fn head_of(response: &Response) -> HttpResponse {
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    HttpResponse {
        status: response.status().as_u16(),
        headers,
        body: Bytes::new(),
        final_url: response.url().to_string(),
        cert_not_after: super::tls::cert_not_after(response),
    }
}

/// Why the body was not read to its end.
enum BodyStop {
    TooLarge,
    Timeout,
    Failed(reqwest::Error),
}

/// Reads the body chunk by chunk, keeping at most `max_body` bytes: whatever the
/// server sends, memory stays bounded by the cap plus one chunk.
async fn read_body(response: &mut Response, limits: Limits) -> (BytesMut, Option<BodyStop>) {
    let cap = usize::try_from(limits.max_body).unwrap_or(usize::MAX);
    let hint = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let mut body = BytesMut::with_capacity(hint.min(cap).min(MAX_PREALLOCATION));
    loop {
        let chunk = match timeout_at(limits.deadline, response.chunk()).await {
            Err(_) => return (body, Some(BodyStop::Timeout)),
            Ok(Err(e)) => return (body, Some(BodyStop::Failed(e))),
            Ok(Ok(None)) => return (body, None),
            Ok(Ok(Some(chunk))) => chunk,
        };
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return (body, Some(BodyStop::TooLarge));
        }
        body.extend_from_slice(&chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_timeout_names_the_phase() {
        let url = Url::parse("https://shop.example/pay").unwrap();
        let t = Duration::from_secs(2);
        assert_eq!(
            head_timeout_message(Stage::Resolving, &url, t),
            "DNS lookup of shop.example not finished within 2s"
        );
        assert_eq!(
            head_timeout_message(Stage::Connecting, &url, t),
            "TCP/TLS connection to shop.example:443 not established within 2s"
        );
        assert_eq!(
            head_timeout_message(Stage::Connected, &url, t),
            "no response headers within 2s"
        );
    }

    /// Sends `GET "not a url"` (with `parsed_url` as given) and checks it fails as
    /// a protocol error naming the URL, before any connection.
    async fn assert_not_a_url_is_refused(parsed_url: Option<Url>) {
        let client = HttpClient::new(&super::super::ClientOptions::default()).unwrap();
        let req = PreparedRequest {
            method: "GET".into(),
            url: "not a url".into(),
            parsed_url,
            ..PreparedRequest::default()
        };
        let ex = client.send(&req, Duration::from_secs(1), 1024).await;
        let err = ex.outcome.unwrap_err();
        assert_eq!(err.class, FailureClass::Protocol);
        assert!(err.message.contains("not a url"), "{}", err.message);
    }

    #[tokio::test]
    async fn invalid_url_is_a_protocol_failure_not_a_panic() {
        assert_not_a_url_is_refused(None).await;
    }

    #[tokio::test]
    async fn a_parsed_url_whose_text_differs_is_not_used() {
        // Whoever changes `url` after rendering must not send the stale parse.
        assert_not_a_url_is_refused(Url::parse("http://127.0.0.1:9/").ok()).await;
    }
}
