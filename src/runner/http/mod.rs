//! The per-run HTTP client: phase timings, body cap, TLS options, failure classification.
//!
//! Each journey run gets its own [`HttpClient`], built fresh, because a run plays one
//! new customer: a cookie set at login must reach the next step, and nothing (neither
//! cookies nor pooled connections) may leak from one run into the next, or a run would
//! pass thanks to a connection or session another run opened. Within a run a
//! connection is reused per origin, so the first request pays for DNS, TCP and TLS and
//! later ones show zero there, as a browser would.
//!
//! [`HttpClient::send`] never fails as a Rust error: whatever the target does (answer
//! nothing, drip one byte a second, reset, stream forever, redirect in circles, present
//! a bad certificate) comes back as an [`Exchange`] with a classified
//! [`TransportError`], within the step timeout, holding at most `max_body` bytes.
//!
//! The client is hyper's connection API with what a browser-like client adds around
//! it, written here rather than taken from reqwest (which journeyd used before):
//! reqwest's pooled client, built and dropped per run, with a task per connection
//! and the URL parsed again in three of its layers, was about a third of a
//! five-step run's CPU (docs/benchmarks.md, "Ninth pass"). Cookies still use
//! reqwest's jar.
//!
//! Layout: `send.rs` (one exchange: redirects, head, body, deadline), `request.rs`
//! (the request on the wire and its default headers), `conn.rs` (DNS, TCP, TLS,
//! HTTP/1.1 or HTTP/2), `body.rs` (the body under its cap, gzip), `redirect.rs`
//! (whether and how to follow), `timing.rs` (the per-client timing slot), `dns.rs`
//! (system or hickory resolver), `tls.rs` (CA bundle, client identity, certificate
//! expiry), `classify.rs` (error chain to [`FailureClass`]), `trace.rs` (W3C
//! `traceparent` on the journey's own hosts).

mod body;
mod classify;
mod conn;
mod dns;
mod redirect;
mod request;
mod send;
mod timing;
mod tls;
mod trace;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::result::{FailureClass, PhaseTimings};
use crate::journey::model::{Redirects, TlsOptions};
use conn::{Conn, Opener, Origin};
use timing::TimingSlot;
pub use trace::{TRACESTATE, TraceContext, new_span_id, traceparent};

/// How to build a run's client.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// TLS settings of the journey.
    pub tls: TlsOptions,
    /// DNS servers to use instead of the system resolver (empty = system).
    pub dns_servers: Vec<SocketAddr>,
}

/// The client could not be built (unreadable CA bundle, bad client certificate).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub String);

/// A fully rendered request.
#[derive(Debug, Clone, Default)]
pub struct PreparedRequest {
    /// Method, upper case.
    pub method: String,
    /// Absolute URL including query.
    pub url: String,
    /// `url` already parsed by whoever rendered it, so a send does not parse
    /// it again (with its IDNA pass, a parse is ~1 % of a run's CPU). Used only
    /// while its text is still `url`'s.
    pub parsed_url: Option<url::Url>,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
    /// Redirect policy for this request.
    pub redirects: Redirects,
}

/// A response read completely (body within the cap).
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers with lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: bytes::Bytes,
    /// URL after redirects.
    pub final_url: String,
    /// Peer certificate expiry for HTTPS.
    pub cert_not_after: Option<DateTime<Utc>>,
}

/// A transport-level failure, already classified.
#[derive(Debug, Clone)]
pub struct TransportError {
    /// dns, connect, tls, timeout, connection_reset, redirect, protocol or body_too_large.
    pub class: FailureClass,
    /// One sentence for a person.
    pub message: String,
    /// Status, headers and the first part of the body when the failure came after the headers.
    pub partial: Option<HttpResponse>,
}

/// What one request produced.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The response or the classified failure.
    pub outcome: Result<HttpResponse, TransportError>,
    /// Phase timings.
    pub timings: PhaseTimings,
    /// Total wall time.
    pub elapsed: Duration,
}

/// One run's HTTP client: its own connections and cookie jar.
///
/// Meant for one run's sequential requests: the timing slot belongs to the request
/// in flight, so concurrent `send`s on one client would mix their timings (their
/// outcomes stay correct).
#[derive(Debug)]
pub struct HttpClient {
    resolver: dns::Resolver,
    tls: Arc<rustls::ClientConfig>,
    jar: reqwest::cookie::Jar,
    /// Open connections between requests, at most one per origin.
    conns: Mutex<Vec<Conn>>,
    slot: TimingSlot,
}

impl HttpClient {
    /// Builds a fresh client: empty cookie jar, no connection, the journey's TLS
    /// settings, `crate::USER_AGENT` unless a request sets `user-agent`.
    ///
    /// It never uses a proxy: a probe measures the path to the target, and an
    /// ambient `HTTP_PROXY` would silently measure the proxy instead (Prometheus'
    /// own HTTP client makes the same choice by default). No TCP keepalive either:
    /// a run's connection lives for its few requests, and every wait on it is
    /// bounded by the step's deadline.
    pub fn new(opts: &ClientOptions) -> Result<Self, ClientError> {
        Ok(Self {
            resolver: dns::Resolver::new(&opts.dns_servers),
            tls: tls::config(&opts.tls)?,
            jar: reqwest::cookie::Jar::default(),
            conns: Mutex::new(Vec::new()),
            slot: TimingSlot::default(),
        })
    }

    fn opener(&self) -> Opener<'_> {
        Opener {
            resolver: &self.resolver,
            tls: &self.tls,
            slot: &self.slot,
        }
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        // A connection list left by a panic is still a list of connections.
        self.conns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The open connection to `origin`, taken out for one exchange.
    fn reuse(&self, origin: &Origin) -> Option<Conn> {
        let mut conns = self.conns();
        conns.retain(Conn::usable);
        let at = conns.iter().position(|c| c.origin == *origin)?;
        Some(conns.swap_remove(at))
    }

    /// Puts a connection back after an exchange that read its response whole.
    fn keep(&self, conn: Conn) {
        if conn.usable() {
            let mut conns = self.conns();
            conns.retain(|c| c.origin != conn.origin);
            conns.push(conn);
        }
    }

    /// Sends a request, reading at most `max_body` bytes, all within `timeout`.
    ///
    /// Never fails as a Rust error: target failures are in [`Exchange::outcome`].
    pub async fn send(&self, req: &PreparedRequest, timeout: Duration, max_body: u64) -> Exchange {
        send::send(self, req, timeout, max_body).await
    }
}
