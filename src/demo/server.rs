//! Serves the demo company: accepts connections, hands each to hyper through
//! the fault [`Gate`](super::gate::Gate), runs the workers, and on shutdown
//! drains connections within a grace period.
//!
//! Connections are served with hyper-util directly rather than `axum::serve`
//! because a `down` fault must drop the connection without a response, which
//! hyper does when the service returns an error; axum's router cannot.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::gate::Gate;
use super::router;
use super::state::App;
use super::workers;

/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the demo company on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let tracker = TaskTracker::new();
    workers::spawn_all(&app, &tracker);
    let gate = Gate::new(router::router(app.clone()), app.clone());
    let builder = connection_builder();
    // Cancelled when the grace period runs out: connections still open are dropped.
    let hard_stop = CancellationToken::new();
    if let Ok(addr) = listener.local_addr() {
        info!(addr = %addr, "Demo company listening.");
    }
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    warn!(error = %e, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let conn = serve_connection(
            builder.clone(),
            stream,
            gate.clone(),
            app.shutdown.clone(),
            hard_stop.clone(),
        );
        tracker.spawn(conn);
    }
    drop(listener);
    drain(&app, &tracker, &hard_stop).await;
    Ok(())
}

fn connection_builder() -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
}

/// Stops the workers and held requests, then waits for connections to finish
/// within the grace period before dropping the rest.
async fn drain(app: &App, tracker: &TaskTracker, hard_stop: &CancellationToken) {
    app.shutdown.cancel();
    tracker.close();
    let grace = app.config.shutdown_grace;
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        warn!(
            grace_ms = grace.as_millis() as u64,
            "Connections still open after the grace period; dropping them."
        );
        hard_stop.cancel();
        tracker.wait().await;
    }
    info!("Demo company stopped.");
}

async fn serve_connection(
    builder: Builder<TokioExecutor>,
    stream: TcpStream,
    gate: Gate,
    shutdown: CancellationToken,
    hard_stop: CancellationToken,
) {
    let service = TowerToHyperService::new(gate);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                result = conn.as_mut() => result,
                _ = hard_stop.cancelled() => Ok(()),
            }
        }
    };
    if let Err(e) = result {
        // Includes the connections a `down` fault drops on purpose.
        debug!(error = %e, "Connection ended with an error.");
    }
}
