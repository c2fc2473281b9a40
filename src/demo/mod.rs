//! The demo company: a small in-memory back-end with a shop, energy
//! contracts and app requests, whose asynchronous processes (payment,
//! fulfillment, activation, back office) can be broken on demand through an
//! admin API. journeyd's README demo and tests run journeys against it.
//!
//! See `docs/demo.md` for every endpoint and fault.
//!
//! # Layout
//!
//! - `server`: accept loop, hyper connections, graceful shutdown.
//! - `gate`: maps each request to its process and applies endpoint faults.
//! - `router`: mounts every handler's routes; `api`: JSON errors and
//!   extractors shared by the handlers; `shop`, `auth`, `contracts`,
//!   `requests`: the handlers; `admin`: the fault admin API; `backoffice`: the
//!   back office's view of an order (`GET /admin/orders/{id}`); `idempotency`:
//!   replays the answer to a repeated POST `Idempotency-Key`; `traces`: the
//!   log of received `traceparent` headers (`GET /admin/traces`).
//! - `workers`: the background processes; `faults`: the fault model;
//!   `state`: the capped in-memory store.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

mod admin;
mod api;
mod auth;
mod backoffice;
mod contracts;
mod faults;
mod gate;
mod idempotency;
mod requests;
mod router;
mod server;
mod shop;
mod state;
mod traces;
mod workers;

#[cfg(test)]
mod tests;

/// Tuning of the demo company.
#[derive(Clone)]
pub struct DemoConfig {
    /// How long payment takes to settle an accepted order.
    pub payment_delay: Duration,
    /// How long fulfillment takes to ship a paid order.
    pub fulfillment_delay: Duration,
    /// How long activation takes to activate a signed contract.
    pub activation_delay: Duration,
    /// How long the back office takes to process a request.
    pub backoffice_delay: Duration,
    /// The password `POST /api/login` accepts (for any username).
    pub password: String,
    /// How often each worker looks for due items.
    pub worker_tick: Duration,
    /// How many records of each kind (carts, orders, logins, quotes,
    /// contracts, requests) are kept; the oldest are forgotten beyond it.
    pub max_records: usize,
    /// How long shutdown waits for open connections before dropping them.
    pub shutdown_grace: Duration,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            payment_delay: Duration::from_millis(300),
            fulfillment_delay: Duration::from_millis(1200),
            activation_delay: Duration::from_millis(800),
            backoffice_delay: Duration::from_millis(700),
            password: "demo-password".to_string(),
            worker_tick: Duration::from_millis(50),
            max_records: 10_000,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

// Hand-written so the password never reaches a log line.
impl fmt::Debug for DemoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoConfig")
            .field("payment_delay", &self.payment_delay)
            .field("fulfillment_delay", &self.fulfillment_delay)
            .field("activation_delay", &self.activation_delay)
            .field("backoffice_delay", &self.backoffice_delay)
            .field("password", &"[redacted]")
            .field("worker_tick", &self.worker_tick)
            .field("max_records", &self.max_records)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish()
    }
}

/// Serves the demo company on `listener`, with its background workers, until
/// `shutdown` completes; then stops accepting, lets open requests finish
/// within [`DemoConfig::shutdown_grace`] and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: DemoConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = state::App::new(config, CancellationToken::new());
    server::run(listener, app, shutdown).await
}
