//! `journeyd demo`: the demo company on 127.0.0.1:8080 and the daemon
//! watching it with the shipped journeys (`deploy/demo/journeyd.yaml`).

use std::path::Path;

use journeyd::demo::{DemoConfig, serve};
use tokio_util::sync::CancellationToken;

use super::{EXIT_USAGE, run};

const DEMO_ADDR: &str = "127.0.0.1:8080";
const CONFIG: &str = "deploy/demo/journeyd.yaml";

/// Starts both and runs until Ctrl-C.
pub async fn run() -> u8 {
    let config = Path::new(CONFIG);
    if !config.exists() {
        eprintln!("error: {CONFIG} not found: run `journeyd demo` from the repository root");
        return EXIT_USAGE;
    }
    let listener = match tokio::net::TcpListener::bind(DEMO_ADDR).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot start the demo company on {DEMO_ADDR}: {e}");
            return EXIT_USAGE;
        }
    };
    let stop = CancellationToken::new();
    let demo_stop = stop.clone();
    let demo = tokio::spawn(serve(listener, DemoConfig::default(), async move {
        demo_stop.cancelled().await
    }));
    let listen = journeyd::config::load(config)
        .map(|c| c.listen.to_string())
        .unwrap_or_else(|_| journeyd::config::DEFAULT_LISTEN.to_string());
    println!(
        "\njourneyd demo\n\
         \x20 demo company   http://{DEMO_ADDR}\n\
         \x20 status page    http://{listen}/\n\
         \x20 metrics        http://{listen}/metrics\n\
         \x20 API            http://{listen}/api/journeys\n\n\
         Break the fulfillment process (orders are accepted but never ship):\n\
         \x20 curl -X PUT http://{DEMO_ADDR}/admin/faults/fulfillment -H 'content-type: application/json' -d '{{\"mode\":\"stuck\"}}'\n\
         Repair it:\n\
         \x20 curl -X DELETE http://{DEMO_ADDR}/admin/faults/fulfillment\n\
         Other processes and modes: docs/demo.md. Stop with Ctrl-C.\n"
    );
    let code = run::run(config).await;
    stop.cancel();
    let _ = demo.await;
    code
}
