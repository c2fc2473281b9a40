//! HTTP server. OWNER: helper (server) — stub, to be implemented.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::daemon::board::StatusBoard;
use crate::daemon::control::{Control, Health};
use crate::metrics::Metrics;
use crate::store::Store;

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
    /// Journey states.
    pub board: Arc<StatusBoard>,
    /// Run history.
    pub store: Store,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Requests to the daemon.
    pub control: mpsc::Sender<Control>,
    /// Bearer token for POST endpoints; they are disabled when None.
    pub admin_token: Option<String>,
    /// Liveness/readiness.
    pub health: Arc<Health>,
}

/// Serves until `shutdown` completes.
pub async fn serve(
    _listener: tokio::net::TcpListener,
    _state: ServerState,
    _shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    todo!()
}
