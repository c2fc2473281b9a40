//! The demo company. OWNER: helper A — stub, to be implemented.

use std::future::Future;

/// Demo tuning.
#[derive(Debug, Clone)]
pub struct DemoConfig {}

/// Serves the demo company on `listener` until `shutdown` completes.
pub async fn serve(
    _listener: tokio::net::TcpListener,
    _config: DemoConfig,
    _shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    todo!()
}
