//! The per-run HTTP client: phase timings, body cap, TLS options, failure classification.
//! OWNER: helper B — stub, to be implemented.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::result::{FailureClass, PhaseTimings};
use crate::journey::model::{Redirects, TlsOptions};

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

/// One run's HTTP client: its own connection pool and cookie jar.
#[derive(Debug)]
pub struct HttpClient {}

impl HttpClient {
    /// Builds a fresh client.
    pub fn new(_opts: &ClientOptions) -> Result<Self, ClientError> {
        todo!()
    }

    /// Sends a request, reading at most `max_body` bytes, all within `timeout`.
    pub async fn send(
        &self,
        _req: &PreparedRequest,
        _timeout: Duration,
        _max_body: u64,
    ) -> Exchange {
        todo!()
    }
}
