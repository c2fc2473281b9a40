//! `journeyd demo-target`: serve the demo company until Ctrl-C.

use std::net::SocketAddr;

use journeyd::demo::{DemoConfig, serve};

use super::{EXIT_OK, EXIT_USAGE};

/// Binds, prints where the demo listens, serves until SIGINT/SIGTERM.
pub async fn run(listen: SocketAddr) -> u8 {
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return EXIT_USAGE;
        }
    };
    let addr = listener.local_addr().unwrap_or(listen);
    println!("demo company listening on http://{addr}");
    println!(
        "inject a fault:  curl -X PUT http://{addr}/admin/faults/fulfillment -H 'content-type: application/json' -d '{{\"mode\":\"stuck\"}}'"
    );
    println!("remove it:       curl -X DELETE http://{addr}/admin/faults/fulfillment");
    match serve(listener, DemoConfig::default(), shutdown_signal()).await {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: demo company stopped: {e}");
            EXIT_USAGE
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
