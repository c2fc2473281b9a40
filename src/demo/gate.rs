//! The front door of every request: a tower service in front of the router
//! that finds the process owning the endpoint and applies the endpoint side
//! of its fault (`down`, `error`, `slow`, and `stuck` for processes without a
//! worker). `wrong_data` and the worker side of faults live with the handlers
//! and workers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Bytes, HttpBody};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower::{BoxError, Service, ServiceExt};
use tracing::debug;

use super::api::ApiError;
use super::faults::{DEFAULT_SLOW_DELAY, Mode, Process};
use super::state::App;

/// The process that owns the endpoint at `path`, if a process owns it.
/// Must stay in step with the routes in `shop`, `auth`, `contracts` and `requests`.
pub fn process_of(path: &str) -> Option<Process> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let process = match segments.as_slice() {
        ["api", "products"] | ["api", "carts"] | ["api", "carts", _, "items"] => Process::Catalog,
        ["api", "checkout"] | ["api", "orders", _] => Process::Orders,
        ["api", "orders", _, "payment"] => Process::Payment,
        ["api", "orders", _, "shipment"] => Process::Fulfillment,
        ["api", "login"] => Process::Auth,
        ["api", "quotes"] | ["api", "contracts"] | ["api", "contracts", _] => Process::Contracts,
        ["api", "contracts", _, "activation"] => Process::Activation,
        ["api", "requests"] | ["api", "requests", _] => Process::App,
        ["api", "requests", _, "processing"] | ["api", "notifications"] => Process::Backoffice,
        _ => return None,
    };
    Some(process)
}

/// The error that makes hyper drop the connection without a response.
#[derive(Debug)]
pub struct ProcessDown(Process);

impl fmt::Display for ProcessDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is down (injected fault)", self.0)
    }
}

impl std::error::Error for ProcessDown {}

/// The router behind the fault gate.
#[derive(Clone)]
pub struct Gate {
    router: Router,
    app: Arc<App>,
}

impl Gate {
    /// Puts the gate in front of `router`.
    pub fn new(router: Router, app: Arc<App>) -> Gate {
        Gate { router, app }
    }
}

impl<B> Service<Request<B>> for Gate
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = ProcessDown;
    type Future = Pin<Box<dyn Future<Output = Result<Response, ProcessDown>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ProcessDown>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let router = self.router.clone();
        let app = self.app.clone();
        // Before the faults: a request a broken process refuses was still received.
        app.traces.record(&req);
        Box::pin(async move {
            if let Some(process) = process_of(req.uri().path())
                && let Some(response) = apply_fault(&app, process).await?
            {
                return Ok(response);
            }
            // The router's error type is `Infallible`: this pattern stops compiling if it changes.
            let Ok(response) = router.oneshot(req).await;
            Ok(response)
        })
    }
}

/// Applies the fault in force on `process`: `Some(response)` answers in
/// place of the handler, `None` lets the request through.
async fn apply_fault(app: &App, process: Process) -> Result<Option<Response>, ProcessDown> {
    // Loops because a held request must obey whatever fault replaces `stuck`.
    loop {
        let Some(fault) = app.faults.get(process) else {
            return Ok(None);
        };
        match fault.mode {
            Mode::Down => {
                debug!(
                    process = process.as_str(),
                    "Dropping the connection (injected fault)."
                );
                return Err(ProcessDown(process));
            }
            Mode::Error => {
                let message = format!("{process} unavailable (injected fault)");
                let error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message);
                return Ok(Some(error.into_response()));
            }
            Mode::Slow => {
                let delay = fault.delay.unwrap_or(DEFAULT_SLOW_DELAY);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => return Ok(None),
                    _ = app.shutdown.cancelled() => return Ok(Some(shutting_down())),
                }
            }
            Mode::Stuck if !process.has_worker() => {
                tokio::select! {
                    _ = app.faults.wait_until_not(process, Mode::Stuck) => continue,
                    _ = app.shutdown.cancelled() => return Ok(Some(shutting_down())),
                }
            }
            Mode::Stuck | Mode::WrongData | Mode::Reject => return Ok(None),
        }
    }
}

fn shutting_down() -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the demo company is shutting down",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_endpoint_to_its_process() {
        let cases = [
            ("/api/products", Some(Process::Catalog)),
            ("/api/carts", Some(Process::Catalog)),
            ("/api/carts/c-1/items", Some(Process::Catalog)),
            ("/api/checkout", Some(Process::Orders)),
            ("/api/orders/o-1", Some(Process::Orders)),
            ("/api/orders/o-1/payment", Some(Process::Payment)),
            ("/api/orders/o-1/shipment", Some(Process::Fulfillment)),
            ("/api/login", Some(Process::Auth)),
            ("/api/quotes", Some(Process::Contracts)),
            ("/api/contracts", Some(Process::Contracts)),
            ("/api/contracts/k-1", Some(Process::Contracts)),
            ("/api/contracts/k-1/activation", Some(Process::Activation)),
            ("/api/requests", Some(Process::App)),
            ("/api/requests/r-1", Some(Process::App)),
            ("/api/requests/r-1/processing", Some(Process::Backoffice)),
            ("/api/notifications", Some(Process::Backoffice)),
            ("/healthz", None),
            ("/admin/faults/catalog", None),
            ("/api/unknown", None),
        ];
        for (path, expected) in cases {
            assert_eq!(process_of(path), expected, "{path}");
        }
    }
}
