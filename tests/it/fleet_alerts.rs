//! One page per outage in a fleet (issue 8): three real `journeyd run`
//! processes in two locations (`eu`: r1, r2; `us`: r3), one real PostgreSQL,
//! a shop whose failure the test switches, and a webhook that counts every
//! notification. Only the alerting leader pages; locations vote
//! (`alerting.consensus`, default 2); a location without network raises its
//! own probe alert instead of a page; a killed leader or a restarted
//! PostgreSQL neither loses nor doubles a notification.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::util::alerting::{Capture, SOON, metric, runs};
use crate::util::daemon::TestDaemon;
use crate::util::postgres::TestPostgres;
use crate::util::wait::wait_until;

const JOURNEYS: [&str; 2] = ["checkout", "search"];
const TTL: Duration = Duration::from_secs(6);

/// The shop: every journey's endpoint answers 500 while `down`.
async fn shop(down: Arc<AtomicBool>) -> SocketAddr {
    async fn answer(State(down): State<Arc<AtomicBool>>) -> StatusCode {
        if down.load(Ordering::SeqCst) {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/j/{journey}", get(answer))
        .with_state(down);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// An address nothing listens on (bound, read, released): connect fails.
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Starts replica `id` of `location`, its journeys aimed at `shop`.
async fn replica(
    root: &Path,
    id: &str,
    location: &str,
    shop: SocketAddr,
    pg: &str,
    hook: &str,
) -> TestDaemon {
    let dir = root.join(id);
    std::fs::create_dir_all(dir.join("journeys")).unwrap();
    for j in JOURNEYS {
        std::fs::write(
            dir.join(format!("journeys/{j}.yaml")),
            format!(
                "name: {j}\ninterval: 2s\nsteps:\n  - name: open\n    request: {{ url: \"http://{shop}/j/{j}\" }}\n    expect: {{ status: 200 }}\n"
            ),
        )
        .unwrap();
    }
    let config = format!(
        "listen: 127.0.0.1:0\njourneys: [journeys]\nstate_dir: state\nshutdown_grace: 5s\n\
         store: {{ backend: postgres, url_secret: pg_url }}\n\
         fleet: {{ location: {location}, replica: {id}, lease_ttl: {}s }}\n\
         alerting:\n  policy: {{ confirm_delay: 200ms, success_threshold: 2 }}\n\
         \x20 receivers:\n    - {{ name: hook, type: webhook, url: \"{hook}\" }}\n",
        TTL.as_secs()
    );
    TestDaemon::start(&dir, &config, &[("JOURNEYD_SECRET_PG_URL", pg)]).await
}

/// `(alertname, status, journey, location)` of every accepted notification.
fn notes(hook: &Capture) -> Vec<(String, String, String, String)> {
    hook.attempts()
        .iter()
        .filter(|r| r.answered == 200)
        .map(|r| {
            let b = r.json();
            let labels = &b["alerts"][0]["labels"];
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
            (
                s(&labels["alertname"]),
                s(&b["status"]),
                s(&labels["journey"]),
                s(&labels["location"]),
            )
        })
        .collect()
}

/// Notifications counted by (alertname, status, journey).
fn counts(hook: &Capture) -> BTreeMap<(String, String, String), usize> {
    let mut out = BTreeMap::new();
    for (name, status, journey, _) in notes(hook) {
        *out.entry((name, status, journey)).or_default() += 1;
    }
    out
}

fn count(hook: &Capture, status: &str, journey: &str) -> usize {
    let key = (
        "JourneyFailing".to_string(),
        status.to_string(),
        journey.to_string(),
    );
    counts(hook).get(&key).copied().unwrap_or(0)
}

/// Waits until every journey has `n` notifications of `status`; fails with
/// the replicas' logs.
async fn wait_notes(f: &Fleet, status: &str, n: usize, within: Duration) {
    let hook = &f.hook;
    let waited = wait_until(within, async || {
        let c = counts(hook);
        if JOURNEYS.iter().all(|j| count(hook, status, j) >= n) {
            Ok(())
        } else {
            Err(format!("{c:?}"))
        }
    })
    .await;
    if let Err(e) = waited {
        let logs: Vec<String> = f
            .daemons
            .iter()
            .map(|(id, d)| format!("--- {id}\n{}", d.logs()))
            .collect();
        panic!("{e}\n{}", logs.join("\n"));
    }
}

/// The replica that leads the alerting now (`journeyd_fleet_alerting_leader`).
async fn leader(daemons: &BTreeMap<&str, TestDaemon>) -> Result<String, String> {
    let mut leaders = Vec::new();
    for (id, d) in daemons {
        let text = d.metrics().await.unwrap_or_default();
        if metric(&text, "journeyd_fleet_alerting_leader", &[]) == Some(1.0) {
            leaders.push(id.to_string());
        }
    }
    match leaders.as_slice() {
        [one] => Ok(one.clone()),
        other => Err(format!("leaders: {other:?}")),
    }
}

/// Every replica has stored passing runs of every journey and one leads.
async fn settled(daemons: &BTreeMap<&str, TestDaemon>) -> String {
    wait_until(SOON, async || leader(daemons).await)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", daemons["r1"].logs()))
}

struct Fleet {
    pg: Option<TestPostgres>,
    down: Arc<AtomicBool>,
    hook: Capture,
    daemons: BTreeMap<&'static str, TestDaemon>,
    _root: tempfile::TempDir,
}

/// Three replicas in two locations; `us_blind` aims r3's journeys at a closed port.
async fn fleet(us_blind: bool) -> Fleet {
    let pg = TestPostgres::start();
    let down = Arc::new(AtomicBool::new(false));
    let addr = shop(down.clone()).await;
    let hook = Capture::start(0).await;
    let root = tempfile::TempDir::new().unwrap();
    let mut daemons = BTreeMap::new();
    for (id, loc) in [("r1", "eu"), ("r2", "eu")] {
        let d = replica(root.path(), id, loc, addr, &pg.url(), &hook.url("/hook")).await;
        daemons.insert(id, d);
    }
    // The healthy location votes before the other one reports.
    settled(&daemons).await;
    let us = if us_blind { closed_port() } else { addr };
    let d = replica(root.path(), "r3", "us", us, &pg.url(), &hook.url("/hook")).await;
    // us has run every journey twice, so its votes are in before the test acts.
    wait_until(SOON, async || {
        let text = d.metrics().await?;
        let n = |j: &str| runs(&text, j, "pass") + runs(&text, j, "fail");
        match JOURNEYS.iter().map(|j| n(j)).fold(f64::MAX, f64::min) {
            m if m >= 2.0 => Ok(()),
            m => Err(format!("{m} runs")),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    daemons.insert("r3", d);
    Fleet {
        pg: Some(pg),
        down,
        hook,
        daemons,
        _root: root,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_both_locations_see_pages_once_and_resolves_once() {
    let f = fleet(false).await;
    f.down.store(true, Ordering::SeqCst);
    wait_notes(&f, "firing", 1, SOON).await;
    f.down.store(false, Ordering::SeqCst);
    wait_notes(&f, "resolved", 1, SOON).await;
    // Late duplicates would come within a few runs.
    let mut hook = f.hook;
    let _ = hook.nothing_within(Duration::from_secs(4)).await;
    for j in JOURNEYS {
        assert_eq!(count(&hook, "firing", j), 1, "{:?}", notes(&hook));
        assert_eq!(count(&hook, "resolved", j), 1, "{:?}", notes(&hook));
    }
    let locations: Vec<String> = hook
        .attempts()
        .iter()
        .filter(|r| r.json()["status"] == "firing")
        .map(|r| {
            r.json()["alerts"][0]["annotations"]["locations"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(locations.iter().all(|l| l == "eu, us"), "{locations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_mid_outage_neither_loses_nor_doubles_a_notification() {
    let mut f = fleet(false).await;
    f.down.store(true, Ordering::SeqCst);
    wait_notes(&f, "firing", 1, SOON).await;
    let old = leader(&f.daemons).await.unwrap();
    let killed = tokio::time::Instant::now();
    f.daemons.get_mut(old.as_str()).unwrap().kill9();
    let gone = f.daemons.remove(old.as_str()).unwrap();
    let new = wait_until(TTL * 4, async || leader(&f.daemons).await)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", gone.logs()));
    eprintln!(
        "alerting failover after kill -9: {:?} ({old} -> {new}, TTL {TTL:?})",
        killed.elapsed()
    );
    f.down.store(false, Ordering::SeqCst);
    wait_notes(&f, "resolved", 1, SOON).await;
    let mut hook = f.hook;
    let _ = hook.nothing_within(Duration::from_secs(4)).await;
    for j in JOURNEYS {
        assert_eq!(count(&hook, "firing", j), 1, "{:?}", notes(&hook));
        assert_eq!(count(&hook, "resolved", j), 1, "{:?}", notes(&hook));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_location_that_reaches_nothing_raises_its_probe_alert_and_pages_nothing() {
    let f = fleet(true).await;
    let mut hook = f.hook;
    let probe = wait_until(SOON, async || {
        notes(&hook)
            .into_iter()
            .find(|n| n.0 == "JourneydProbeUnhealthy")
            .ok_or_else(|| format!("{:?}", notes(&hook)))
    })
    .await
    .unwrap();
    assert_eq!((probe.1.as_str(), probe.3.as_str()), ("firing", "us"));
    // us keeps failing at connect for several more runs: still no page.
    let _ = hook.nothing_within(Duration::from_secs(6)).await;
    let pages: Vec<_> = notes(&hook)
        .into_iter()
        .filter(|n| n.0 != "JourneydProbeUnhealthy")
        .collect();
    assert_eq!(pages, vec![], "a blind location paged");
    let leader = leader(&f.daemons).await.unwrap();
    let text = f.daemons[leader.as_str()].metrics().await.unwrap();
    assert_eq!(
        metric(&text, "journeyd_location_up", &[("location", "us")]),
        Some(0.0)
    );
    assert_eq!(
        metric(&text, "journeyd_location_up", &[("location", "eu")]),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_during_a_postgres_restart_still_pages_once() {
    let mut f = fleet(false).await;
    let pg = f.pg.take().unwrap();
    pg.stop();
    // Both locations run and fail while PostgreSQL is away.
    f.down.store(true, Ordering::SeqCst);
    // Until nobody leads any more and runs wait in the replicas' queues.
    wait_until(SOON, async || {
        let text = f.daemons["r1"].metrics().await?;
        let up = metric(&text, "journeyd_store_up", &[("database", "run_history")]);
        match (up, leader(&f.daemons).await) {
            (Some(0.0), Err(_)) => Ok(()),
            other => Err(format!("store_up, leader: {other:?}")),
        }
    })
    .await
    .unwrap();
    f.pg = Some(pg.restart());
    wait_notes(&f, "firing", 1, SOON).await;
    let mut hook = f.hook;
    let _ = hook.nothing_within(Duration::from_secs(4)).await;
    for j in JOURNEYS {
        assert_eq!(count(&hook, "firing", j), 1, "{:?}", notes(&hook));
    }
}
