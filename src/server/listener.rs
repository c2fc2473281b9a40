//! The accept loop: HTTP/1 connections with a bound on how many are open at
//! once and a deadline for request headers.
//!
//! Why not `axum::serve`: it accepts every connection and keeps idle ones
//! forever, so about a thousand idle TCP connections (no login needed) used
//! every file descriptor at the systemd default limit: `accept` then failed,
//! `/healthz` stopped answering and every journey failed to connect. Here:
//!
//! - at most [`Limits::max_connections`] connections are open; accepting one
//!   more closes the oldest (gracefully: a request in flight finishes), so a
//!   flood of idle connections cannot lock out a new scrape or health check;
//! - hyper's header-read timeout starts whenever a connection waits for a
//!   request head, so it also closes keep-alive connections idle that long;
//! - only HTTP/1 is served: HTTP/2 auto-detection reads the preface with no
//!   deadline, which is the idle hole again (Prometheus and browsers use HTTP/1
//!   against a plain-HTTP listener anyway).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::limits::Limits;
use crate::metrics::Metrics;

/// Pause after an `accept` error other than a dropped peer (EMFILE and the
/// like), so a full descriptor table does not spin the loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Open connections, oldest first, each with the token that closes it.
#[derive(Default)]
struct Open {
    next_id: u64,
    conns: VecDeque<(u64, CancellationToken)>,
}

type Shared = Arc<Mutex<Open>>;

fn lock(open: &Shared) -> std::sync::MutexGuard<'_, Open> {
    // The queue stays consistent between statements; a poisoned lock is still usable.
    open.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves `app` on `listener` until `shutdown` completes, then closes idle
/// connections and waits for requests in flight.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let open: Shared = Arc::default();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) if is_peer_error(&e) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "Cannot accept a connection; retrying shortly.");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let token = stop.child_token();
        let (id, evicted, count) = {
            let mut o = lock(&open);
            let id = o.next_id;
            o.next_id += 1;
            o.conns.push_back((id, token.clone()));
            let evicted = (o.conns.len() > limits.max_connections)
                .then(|| o.conns.pop_front())
                .flatten();
            (id, evicted, o.conns.len())
        };
        if let Some((_, oldest)) = evicted {
            oldest.cancel();
            metrics.http_connection_evicted();
        }
        metrics.set_http_connections(count);
        tracker.spawn(connection(
            stream,
            app.clone(),
            limits.header_read_timeout,
            token,
            open.clone(),
            id,
            metrics.clone(),
        ));
    }
    stop.cancel();
    tracker.close();
    tracker.wait().await;
    Ok(())
}

/// Serves one connection until the peer closes it, a timeout closes it, or
/// `token` asks it to finish (eviction or shutdown).
async fn connection(
    stream: tokio::net::TcpStream,
    app: Router,
    header_read_timeout: Duration,
    token: CancellationToken,
    open: Shared,
    id: u64,
    metrics: Arc<Metrics>,
) {
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(app);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = token.cancelled() => {
            // Closes at once when idle; a request in flight finishes first.
            conn.as_mut().graceful_shutdown();
            conn.as_mut().await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "HTTP connection ended with an error.");
    }
    let count = {
        let mut o = lock(&open);
        o.conns.retain(|(i, _)| *i != id);
        o.conns.len()
    };
    metrics.set_http_connections(count);
}

/// Errors that concern one peer only (it went away before we accepted).
fn is_peer_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}
