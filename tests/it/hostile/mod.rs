//! Hostile targets: the HTTP client classifies every misbehaving server within its timeout.
//!
//! Every server is real and bound on `127.0.0.1:0`; the only timing assertion is an
//! upper bound on `elapsed`, so a slow machine cannot make a test fail by being fast.
//! Shared helpers here, one file per area.

mod http;
mod tls;
mod wire;

use std::time::Duration;

use journeyd::journey::model::{Redirects, TlsOptions};
use journeyd::runner::FailureClass;
use journeyd::runner::http::{
    ClientOptions, Exchange, HttpClient, PreparedRequest, TransportError,
};

use crate::util::dns::NxDomainServer;
use crate::util::hostile::{self, response};
use crate::util::tls::{Pki, SERVER_NOT_AFTER_UNIX};

pub(super) const TIMEOUT: Duration = Duration::from_secs(1);
/// Upper bound on `elapsed` for a failure that must be cut off by TIMEOUT.
pub(super) const BOUND: Duration = Duration::from_secs(3);
pub(super) const MAX_BODY: u64 = 64 * 1024;

pub(super) fn get(url: &str) -> PreparedRequest {
    PreparedRequest {
        method: "GET".into(),
        url: url.into(),
        ..PreparedRequest::default()
    }
}

pub(super) fn client() -> HttpClient {
    HttpClient::new(&ClientOptions::default()).unwrap()
}

/// Sends `req` and asserts it failed with `class` within the bound.
pub(super) async fn expect_failure(
    client: &HttpClient,
    req: &PreparedRequest,
    class: FailureClass,
) -> TransportError {
    let ex = client.send(req, TIMEOUT, MAX_BODY).await;
    assert!(ex.elapsed < BOUND, "took {:?}", ex.elapsed);
    match ex.outcome {
        Err(e) => {
            assert_eq!(e.class, class, "message: {}", e.message);
            e
        }
        Ok(r) => panic!("expected {class}, got status {}", r.status),
    }
}

pub(super) fn assert_timings_sane(ex: &Exchange) {
    let t = ex.timings;
    for (phase, v) in [
        ("resolve", t.resolve),
        ("connect", t.connect),
        ("processing", t.processing),
        ("transfer", t.transfer),
    ] {
        assert!(
            v >= 0.0 && v <= ex.elapsed.as_secs_f64() + 1e-3,
            "{phase} = {v}, elapsed {:?}",
            ex.elapsed
        );
    }
}
