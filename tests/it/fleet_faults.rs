//! A fleet member while PostgreSQL is away (issue 8, faults): journeys whose
//! leases are still valid keep running, metrics keep flowing and show the
//! outage, runs wait in the bounded queue and are stored when the server
//! returns, and no slot runs twice.

use std::sync::Arc;
use std::time::Duration;

use super::fleet::{Hits, JOURNEYS, doubled, name, replica, target};
use crate::util::daemon::{TestDaemon, sample_value};
use crate::util::postgres::TestPostgres;
use crate::util::wait::wait_until;

/// Long enough that a lease outlives a short outage (valid 9 s after a renewal).
const TTL: Duration = Duration::from_secs(10);

async fn metric(d: &TestDaemon, name: &str, labels: &[(&str, &str)]) -> Result<f64, String> {
    let text = d.metrics().await?;
    sample_value(&text, name, labels).ok_or_else(|| format!("no {name} in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_keep_running_while_postgres_restarts_and_their_runs_are_stored_after() {
    let pg = TestPostgres::start();
    let hits: Hits = Arc::default();
    let addr = target(hits.clone()).await;
    let root = tempfile::TempDir::new().unwrap();
    let daemon = replica(root.path(), "solo", addr, &pg.url(), TTL).await;
    let snapshot = || hits.lock().unwrap().clone();
    let runs_since = |ms: i64| {
        let h = snapshot();
        (0..JOURNEYS)
            .filter(|i| h.iter().any(|x| x.journey == name(*i) && x.at_ms > ms))
            .count()
    };
    wait_until(Duration::from_secs(60), async || match runs_since(0) {
        n if n == JOURNEYS => Ok(()),
        n => Err(format!("{n} journeys ran")),
    })
    .await
    .unwrap();
    // Right after a renewal, so the leases are good for most of the TTL.
    let renewals = metric(&daemon, "journeyd_fleet_journeys_owned", &[])
        .await
        .unwrap();
    assert_eq!(renewals, JOURNEYS as f64);

    pg.stop();
    let stopped = chrono::Utc::now().timestamp_millis();
    // Every journey runs again during the outage, and /metrics shows it.
    wait_until(Duration::from_secs(6), async || match runs_since(stopped) {
        n if n == JOURNEYS => Ok(()),
        n => Err(format!("{n} journeys ran since PostgreSQL stopped")),
    })
    .await
    .unwrap();
    wait_until(Duration::from_secs(10), async || {
        let up = metric(&daemon, "journeyd_store_up", &[("database", "run_history")]).await?;
        let failures = metric(&daemon, "journeyd_fleet_lease_renew_failures_total", &[]).await?;
        if up == 0.0 && failures >= 1.0 {
            Ok(())
        } else {
            Err(format!("store_up {up}, renew failures {failures}"))
        }
    })
    .await
    .unwrap();

    let pg = pg.restart();
    let back = chrono::Utc::now().timestamp_millis();
    wait_until(Duration::from_secs(30), async || {
        let up = metric(&daemon, "journeyd_store_up", &[("database", "run_history")]).await?;
        let owned = metric(&daemon, "journeyd_fleet_journeys_owned", &[]).await?;
        match (up, owned, runs_since(back)) {
            (1.0, o, n) if o == JOURNEYS as f64 && n == JOURNEYS => Ok(()),
            other => Err(format!("store_up, owned, journeys run since: {other:?}")),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", daemon.logs()));

    // The runs of the outage were kept in the queue and written after it.
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let during: i64 = client
        .query_one(
            "SELECT count(*) FROM runs WHERE started_at BETWEEN $1 AND $2",
            &[&stopped, &back],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        during >= JOURNEYS as i64,
        "{during} runs of the outage stored"
    );
    assert_eq!(
        metric(
            &daemon,
            "journeyd_store_dropped_runs_total",
            &[("reason", "queue_full")]
        )
        .await
        .unwrap(),
        0.0
    );
    assert_eq!(doubled(&snapshot()), vec![], "a slot ran twice");
}
