//! A full state disk (issue 12, defects 1, 5, 6) with the real binary: the
//! daemon starts on a full tmpfs instead of exiting, says why, monitors and
//! pages from memory, reports the degraded store in `/healthz` and `/metrics`,
//! does not link to runs it could not store, and recovers by itself when
//! space returns, without sending anything twice.

use std::time::Duration;

use crate::util::alerting::{
    Capture, SOON, alerting_config, http, metric, wait_alert_state, wait_metrics,
};
use crate::util::daemon::{TestDaemon, daemon_env, write_journeys};
use crate::util::demo::Demo;
use crate::util::tmpfs::Tmpfs;
use crate::util::wait::wait_until;

const PURCHASE: &str = "purchase";

fn store_up(m: &str, database: &str) -> Option<f64> {
    metric(m, "journeyd_store_up", &[("database", database)])
}

fn write_failed(m: &str) -> f64 {
    metric(
        m,
        "journeyd_store_dropped_runs_total",
        &[("reason", "write_failed")],
    )
    .unwrap_or(-1.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn full_state_disk_at_start_still_monitors_pages_and_recovers() {
    let mut hook = Capture::start(0).await;
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &[PURCHASE], "2s");
    let fs = Tmpfs::mount(&dir.path().join("state"), "4m");
    fs.fill();
    let receiver = format!(
        "{{name: hook, type: webhook, url: \"{}\"}}",
        hook.url("/hook")
    );
    let config = alerting_config(&[], &[receiver]);
    let env = daemon_env(&demo, "demo-password", "full-disk-admin-token");
    let d = TestDaemon::start(dir.path(), &config, &env).await;
    let logs = d.logs();
    assert!(
        logs.contains("The disk holding the run history is full")
            && logs.contains("The disk holding the alert database is full")
            && logs.contains("journeyd.db"),
        "the log says why, with the path:\n{logs}"
    );

    // Degraded, said so, and monitoring.
    let health = d.get_json("/healthz").await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["store"]["run_history"], "degraded", "{health}");
    assert_eq!(health["store"]["alerts"], "degraded", "{health}");
    let m = wait_metrics(&d, "a run counted as lost", |m| {
        match (
            store_up(m, "run_history"),
            store_up(m, "alerts"),
            write_failed(m),
        ) {
            (Some(0.0), Some(0.0), n) if n >= 1.0 => Ok(()),
            other => Err(format!("(history up, alerts up, write_failed) = {other:?}")),
        }
    })
    .await;
    assert_eq!(
        metric(
            &m,
            "journeyd_journey_runs_total",
            &[("journey", PURCHASE), ("result", "pass")]
        )
        .map(|n| n >= 1.0),
        Some(true),
        "{m}"
    );
    // A run's write fails just after the board shows it: the link goes within moments.
    let unlinked = wait_until(SOON, async || {
        let (_, page) = d.get("/").await?;
        let j = d.journey(PURCHASE).await?;
        match (page.contains("href=\"/runs/"), &j["last_run_stored"]) {
            (false, serde_json::Value::Bool(false)) => Ok(()),
            (linked, stored) => Err(format!(
                "page links runs: {linked}, last_run_stored: {stored}"
            )),
        }
    })
    .await;
    assert!(unlinked.is_ok(), "{unlinked:?}");

    // A failure during the full disk pages, from memory.
    demo.inject("fulfillment", "stuck").await;
    wait_alert_state(&d, PURCHASE, 2.0).await;
    let firing = hook
        .next(SOON)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    assert_eq!(firing.webhook_status(), ("firing".into(), PURCHASE.into()));

    // Space returns: both databases open by themselves, runs are stored again.
    fs.free();
    wait_metrics(&d, "both databases up", |m| {
        match (store_up(m, "run_history"), store_up(m, "alerts")) {
            (Some(1.0), Some(1.0)) => Ok(()),
            other => Err(format!("(history up, alerts up) = {other:?}")),
        }
    })
    .await;
    let client = http();
    let stored = wait_until(SOON, async || {
        let j = d.journey(PURCHASE).await?;
        let id = j["last_run"]["run_id"].as_str().unwrap_or("").to_string();
        let url = format!("{}/api/runs/{id}", d.base());
        match client
            .get(&url)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .status()
        {
            s if s.is_success() => Ok(id),
            s => Err(format!("{url}: {s}")),
        }
    })
    .await;
    assert!(stored.is_ok(), "{stored:?}\n{}", d.logs());

    // The resolve goes out once; the firing is not sent again.
    demo.restore("fulfillment").await;
    wait_alert_state(&d, PURCHASE, 0.0).await;
    let resolved = hook
        .next(SOON)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    assert_eq!(
        resolved.webhook_status(),
        ("resolved".into(), PURCHASE.into())
    );
    let extra = hook.nothing_within(Duration::from_secs(2)).await;
    assert!(extra.is_none(), "sent twice: {extra:?}");
    let health = d.get_json("/healthz").await.unwrap();
    assert_eq!(health["store"]["run_history"], "up", "{health}");
    let j = d.journey(PURCHASE).await.unwrap();
    assert_eq!(j["last_run_stored"], true, "{j}");
}
