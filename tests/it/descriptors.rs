//! Descriptor exhaustion (issue 12, defect 2): idle TCP connections to the
//! listener must not lock out `/healthz` or make journeys fail, and a journey
//! that fails because journeyd itself is out of descriptors is the probe's
//! problem, not the customer's.
//!
//! The real binary runs with `RLIMIT_NOFILE` lowered to 256; the test opens 300
//! idle connections, more than the whole limit.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::Value;

use crate::util::daemon::{CONFIG, TestDaemon, sample_value};
use crate::util::wait::wait_until;

const NOFILE: u32 = 256;
const IDLE_CONNECTIONS: usize = 300;
const WITHIN: Duration = Duration::from_secs(30);

/// A target answering `GET /ok` with 200.
async fn target() -> String {
    let app = Router::new().route("/ok", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn write_journey(dir: &std::path::Path, base: &str) {
    std::fs::create_dir_all(dir.join("journeys")).unwrap();
    std::fs::write(
        dir.join("journeys/local.yaml"),
        format!(
            "name: local\ninterval: 1s\nsteps:\n  - name: ok\n    request: {{ url: \"{base}/ok\" }}\n"
        ),
    )
    .unwrap();
}

fn passes(metrics: &str) -> f64 {
    sample_value(
        metrics,
        "journeyd_journey_runs_total",
        &[
            ("journey", "local"),
            ("location", "test"),
            ("result", "pass"),
        ],
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn idle_connections_beyond_the_descriptor_limit_leave_healthz_and_journeys_working() {
    let dir = tempfile::tempdir().unwrap();
    write_journey(dir.path(), &target().await);
    let d = TestDaemon::start_limited(
        dir.path(),
        CONFIG,
        &[("JOURNEYD_SECRET_ADMIN_TOKEN", "t0ken")],
        Some(NOFILE),
    )
    .await;
    let before = wait_until(WITHIN, async || {
        let p = passes(&d.metrics().await?);
        if p >= 1.0 {
            Ok(p)
        } else {
            Err(format!("{p} passes"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));

    let mut idle = Vec::with_capacity(IDLE_CONNECTIONS);
    for _ in 0..IDLE_CONNECTIONS {
        // Connecting succeeds even when the daemon cannot accept (the kernel queues it).
        idle.push(tokio::net::TcpStream::connect(d.addr()).await.unwrap());
    }

    let health: Value = wait_until(WITHIN, async || d.get_json("/healthz").await)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    assert_eq!(health["status"], "ok", "{health}");
    let metrics = wait_until(WITHIN, async || {
        let m = d.metrics().await?;
        let p = passes(&m);
        if p >= before + 2.0 {
            Ok(m)
        } else {
            Err(format!("{p} passes, {before} before"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    let open = sample_value(&metrics, "journeyd_open_fds", &[("location", "test")]).unwrap();
    let max = sample_value(&metrics, "journeyd_max_fds", &[("location", "test")]).unwrap();
    assert_eq!(max, f64::from(NOFILE));
    assert!(open < max * 0.75, "{open} of {max} descriptors open");
    let evicted = sample_value(
        &metrics,
        "journeyd_http_connections_evicted_total",
        &[("location", "test")],
    )
    .unwrap();
    assert!(evicted > 0.0, "no connection was closed to make room");
    assert!(!d.logs().contains("Too many open files"), "{}", d.logs());
    drop(idle);
}
