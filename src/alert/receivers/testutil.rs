//! Test stand-ins for receivers' peers: an axum server on `127.0.0.1:0` that
//! answers what the test says and forwards every request it got (method,
//! path, headers, body) over a channel, so tests assert the exact payload.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::alert::state::Alert;

/// What the stand-in answers.
#[derive(Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.into();
        self
    }
}

/// One request the stand-in got.
#[derive(Debug)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A running stand-in.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    rx: mpsc::Receiver<Received>,
}

impl TestServer {
    /// Binds before returning, so requests sent right after are accepted: no readiness wait.
    pub async fn start(reply: Reply) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel(16);
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (tx, reply) = (tx.clone(), reply.clone());
                async move {
                    let path = uri
                        .path_and_query()
                        .map_or_else(String::new, |p| p.to_string());
                    let _ = tx
                        .send(Received {
                            method,
                            path,
                            headers,
                            body,
                        })
                        .await;
                    let mut out = HeaderMap::new();
                    for (k, v) in &reply.headers {
                        out.insert(
                            HeaderName::from_bytes(k.as_bytes()).unwrap(),
                            HeaderValue::from_str(v).unwrap(),
                        );
                    }
                    (StatusCode::from_u16(reply.status).unwrap(), out, reply.body)
                }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, rx }
    }

    /// The next request; fails the test rather than hanging when none comes.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("no request within 10s")
            .expect("server gone")
    }

    /// A request already received, if any.
    pub fn try_next(&mut self) -> Option<Received> {
        self.rx.try_recv().ok()
    }
}

/// A URL whose port was just closed: connecting is refused.
pub async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The alert the state machine builds for a purchase whose order never shipped.
pub fn purchase_alert() -> Alert {
    Alert {
        labels: map(&[
            ("alertname", "JourneyFailing"),
            ("journey", "purchase"),
            ("severity", "critical"),
            ("step", "order_ships"),
            ("backend", "fulfillment"),
            ("class", "backend_timeout"),
            ("team", "checkout"),
        ]),
        annotations: map(&[
            (
                "summary",
                "purchase: step 'order_ships' failed (backend fulfillment): backend_timeout: order never reached 'shipped' within 30s",
            ),
            ("expected", "$.status == \"shipped\""),
            ("actual", "\"pending\""),
            ("failure_streak", "2"),
            ("last_success", "2026-03-01T09:58:00+00:00"),
            ("run_url", "http://journeyd.example.com:9750/runs/0f8e"),
            ("runbook_url", "https://wiki.example.com/runbooks/purchase"),
        ]),
        starts_at: utc("2026-03-01T10:00:00Z"),
    }
}
