//! One exchange: send the request (following redirects), wait for the headers,
//! read the body under its cap, all before one deadline, then turn what happened
//! into an [`Exchange`].
//!
//! The deadline covers the whole exchange rather than each read, because a server
//! dripping one byte a second never trips a per-read timeout but still breaks the
//! customer's journey.

use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Response};
use reqwest::cookie::CookieStore;
use tokio::time::{Instant, timeout_at};
use url::Url;

use super::body::{self, BodyStop, Reading};
use super::classify::{self, HttpError, Phase};
use super::conn::{Conn, Origin};
use super::redirect;
use super::request::Outgoing;
use super::timing::Stage;
use super::{Exchange, HttpClient, HttpResponse, PreparedRequest, TransportError};
use crate::runner::result::{FailureClass, PhaseTimings};

/// A redirect's own body is read (so its connection can serve the next hop) up to
/// this size; a larger one costs the connection instead.
const REDIRECT_BODY: usize = 64 * 1024;

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
    let protocol = |message: String| failure(FailureClass::Protocol, message, None);
    let mut url = match &req.parsed_url {
        Some(parsed) if parsed.as_str() == req.url => parsed.clone(),
        _ => Url::parse(&req.url)
            .map_err(|_| protocol(format!("the request URL {:?} is not valid", req.url)))?,
    };
    let mut out = Outgoing::of(req).map_err(protocol)?;
    let mut visited = Vec::new();
    let (mut conn, mut response) = loop {
        let origin = Origin::of(&url).map_err(protocol)?;
        let request = out.to(&url, &client.jar).map_err(protocol)?;
        let (conn, response) =
            match timeout_at(limits.deadline, round_trip(client, &origin, &url, request)).await {
                Err(_) => {
                    let stage = client.slot.collected().stage;
                    let message = head_timeout_message(stage, &url, limits.timeout);
                    return Err(failure(FailureClass::Timeout, message, None));
                }
                Ok(Err(e)) => {
                    let (class, message) = classify::classify(&e, &url, Phase::Head);
                    return Err(failure(class, message, None));
                }
                Ok(Ok(found)) => found,
            };
        let mut cookies = response.headers().get_all(header::SET_COOKIE).iter();
        client.jar.set_cookies(&mut cookies, &url);
        let status = response.status();
        let to = redirect::next(
            status,
            response.headers(),
            &url,
            req.redirects,
            &mut visited,
        )
        .map_err(|e| failure(FailureClass::Redirect, e.0, None))?;
        let Some(to) = to else {
            break (conn, response);
        };
        discard(client, conn, response, limits.deadline).await;
        redirect::rewrite(
            status,
            &mut out.method,
            &mut out.body,
            &mut out.headers,
            (&url, &to),
        );
        url = to;
    };
    marks.headers_at = Some(Instant::now());

    let gzip = is_gzip(&out.method, &response);
    let head = head_of(&response, &url, conn.cert_not_after, gzip);
    let reading = Reading {
        cap: usize::try_from(limits.max_body).unwrap_or(usize::MAX),
        hint: content_length(response.headers()),
        gzip,
        deadline: limits.deadline,
    };
    let (body, stop) = body::read(&mut conn, response.body_mut(), reading).await;
    marks.body_done_at = Some(Instant::now());
    let complete = HttpResponse { body, ..head };
    let (class, message) = match stop {
        None => {
            client.keep(conn);
            return Ok(complete);
        }
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
        Some(BodyStop::Failed(e)) => classify::classify(&e, &url, Phase::Body),
    };
    Err(failure(class, message, Some(complete)))
}

/// Sends `request` to `origin`, on the run's open connection there when it has one
/// (again on a new one if the server had closed it before the request went out).
async fn round_trip(
    client: &HttpClient,
    origin: &Origin,
    url: &Url,
    request: hyper::Request<super::conn::Body>,
) -> Result<(Conn, Response<Incoming>), HttpError> {
    let mut request = request;
    if let Some(mut conn) = client.reuse(origin) {
        match conn.send(request, url).await {
            Ok(response) => return Ok((conn, response)),
            Err((_, Some(unsent))) => request = unsent,
            Err((e, None)) => return Err(e),
        }
    }
    let mut conn = client.opener().open(origin).await?;
    let response = conn.send(request, url).await.map_err(|(e, _)| e)?;
    Ok((conn, response))
}

/// Reads a redirect's body away, so its connection can carry the next hop.
async fn discard(
    client: &HttpClient,
    mut conn: Conn,
    mut response: Response<Incoming>,
    deadline: Instant,
) {
    let reading = Reading {
        cap: REDIRECT_BODY,
        hint: 0,
        gzip: false,
        deadline,
    };
    if body::read(&mut conn, response.body_mut(), reading)
        .await
        .1
        .is_none()
    {
        client.keep(conn);
    }
}

/// The body is gzip and gets decompressed (as for any client that sends
/// `accept-encoding: gzip`, which this one does by default).
fn is_gzip(method: &Method, response: &Response<Incoming>) -> bool {
    let status = response.status().as_u16();
    *method != Method::HEAD
        && status != 204
        && status != 304
        && response
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"))
}

fn content_length(headers: &HeaderMap) -> usize {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
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

/// Status, headers, final URL and certificate: everything but the body. A body
/// that is decompressed loses the headers that describe its compressed form.
fn head_of(
    response: &Response<Incoming>,
    url: &Url,
    cert_not_after: Option<chrono::DateTime<chrono::Utc>>,
    decompressed: bool,
) -> HttpResponse {
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            !decompressed || (*name != header::CONTENT_ENCODING && *name != header::CONTENT_LENGTH)
        })
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
        body: bytes::Bytes::new(),
        final_url: url.to_string(),
        cert_not_after,
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
