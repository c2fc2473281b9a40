//! Replicas sharing the journeys of a location (issue 8): three real
//! `journeyd run` processes (separate state directories, one location, one
//! real PostgreSQL) against a local target that counts requests per
//! (journey, slot). Each journey runs on exactly one replica; `kill -9` moves
//! a replica's journeys within the lease TTL plus a slot; SIGTERM moves them
//! at once; no slot ever runs twice; every stored run carries a fencing term
//! that only grows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;

use crate::util::daemon::TestDaemon;
use crate::util::postgres::TestPostgres;
use crate::util::wait::wait_until;
use journeyd::fleet::slot::slot_at;

pub(super) const INTERVAL: Duration = Duration::from_secs(2);
const TTL: Duration = Duration::from_secs(6);
pub(super) const JOURNEYS: usize = 6;
const REPLICAS: [&str; 3] = ["r1", "r2", "r3"];

/// One request at the target.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub(super) journey: String,
    pub(super) replica: String,
    pub(super) at_ms: i64,
}

pub(super) type Hits = Arc<Mutex<Vec<Hit>>>;

async fn hit(
    State(hits): State<Hits>,
    Path((journey, replica)): Path<(String, String)>,
) -> &'static str {
    let at_ms = chrono::Utc::now().timestamp_millis();
    hits.lock().unwrap().push(Hit {
        journey,
        replica,
        at_ms,
    });
    "ok"
}

pub(super) async fn target(hits: Hits) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/hit/{journey}/{replica}", get(hit))
        .with_state(hits);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

pub(super) fn name(i: usize) -> String {
    format!("j{i}")
}

/// Starts replica `id`: its own directory and state, the same location and
/// database; each journey tells the target which replica ran it.
pub(super) async fn replica(
    root: &std::path::Path,
    id: &str,
    target: std::net::SocketAddr,
    url: &str,
    ttl: Duration,
) -> TestDaemon {
    let dir = root.join(id);
    std::fs::create_dir_all(dir.join("journeys")).unwrap();
    for i in 0..JOURNEYS {
        let j = name(i);
        std::fs::write(
            dir.join(format!("journeys/{j}.yaml")),
            format!(
                "name: {j}\ninterval: {}s\nsteps:\n  - name: hit\n    request: {{ url: \"http://{target}/hit/{j}/{id}\" }}\n",
                INTERVAL.as_secs()
            ),
        )
        .unwrap();
    }
    let config = format!(
        "listen: 127.0.0.1:0\njourneys: [journeys]\nstate_dir: state\nshutdown_grace: 5s\n\
         store: {{ backend: postgres, url_secret: pg_url }}\n\
         fleet: {{ location: eu, replica: {id}, lease_ttl: {}s }}\n",
        ttl.as_secs()
    );
    TestDaemon::start(&dir, &config, &[("JOURNEYD_SECRET_PG_URL", url)]).await
}

/// Requests per (journey, slot) beyond the first: must stay empty.
pub(super) fn doubled(hits: &[Hit]) -> Vec<(String, i64, Vec<String>)> {
    let mut by_slot: BTreeMap<(String, i64), Vec<String>> = BTreeMap::new();
    for h in hits {
        by_slot
            .entry((h.journey.clone(), slot_at(&h.journey, INTERVAL, h.at_ms)))
            .or_default()
            .push(h.replica.clone());
    }
    by_slot
        .into_iter()
        .filter(|(_, r)| r.len() > 1)
        .map(|((j, s), r)| (j, s, r))
        .collect()
}

/// Who ran each journey's latest slot, once every journey ran since `since_ms`
/// on one replica only for its last `n` runs.
fn stable_owners(
    hits: &[Hit],
    since_ms: i64,
    n: usize,
) -> Result<BTreeMap<String, String>, String> {
    let mut owners = BTreeMap::new();
    for i in 0..JOURNEYS {
        let j = name(i);
        let recent: Vec<&Hit> = hits
            .iter()
            .filter(|h| h.journey == j && h.at_ms >= since_ms)
            .collect();
        if recent.len() < n {
            return Err(format!("{j}: {} runs since the mark", recent.len()));
        }
        let by: BTreeSet<&str> = recent[recent.len() - n..]
            .iter()
            .map(|h| h.replica.as_str())
            .collect();
        if by.len() != 1 {
            return Err(format!("{j}: last {n} runs by {by:?}"));
        }
        owners.insert(j, by.into_iter().next().unwrap().to_string());
    }
    Ok(owners)
}

/// Per journey of `moved`: how long after `mark_ms` another replica than `gone` first ran it.
fn takeover_ms(hits: &[Hit], moved: &[String], gone: &str, mark_ms: i64) -> Result<i64, String> {
    let mut worst = 0;
    for j in moved {
        let first = hits
            .iter()
            .filter(|h| &h.journey == j && h.replica != gone && h.at_ms > mark_ms)
            .map(|h| h.at_ms)
            .min()
            .ok_or_else(|| format!("{j} not taken over yet"))?;
        worst = worst.max(first - mark_ms);
    }
    Ok(worst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_journeys_take_over_after_kill_and_sigterm_and_never_run_a_slot_twice() {
    let pg = TestPostgres::start();
    let hits: Hits = Arc::default();
    let addr = target(hits.clone()).await;
    let root = tempfile::TempDir::new().unwrap();
    let mut daemons = BTreeMap::new();
    for id in REPLICAS {
        daemons.insert(id, replica(root.path(), id, addr, &pg.url(), TTL).await);
    }
    let snapshot = || hits.lock().unwrap().clone();

    // Balanced: six journeys, three replicas, two each, each on exactly one.
    let mark = chrono::Utc::now().timestamp_millis() + 2 * TTL.as_millis() as i64;
    let owners = wait_until(Duration::from_secs(90), async || {
        let owners = stable_owners(&snapshot(), mark, 3)?;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for r in owners.values() {
            *counts.entry(r.as_str()).or_default() += 1;
        }
        if counts.values().all(|&c| c == 2) && counts.len() == 3 {
            Ok(owners.clone())
        } else {
            Err(format!("owners {owners:?}"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", daemons["r1"].logs()));
    assert_eq!(
        doubled(&snapshot()),
        vec![],
        "a slot ran twice while starting"
    );

    // kill -9 r1: its journeys move within the TTL plus a round and a slot.
    let of = |r: &str| {
        owners
            .iter()
            .filter(|(_, o)| o.as_str() == r)
            .map(|(j, _)| j.clone())
            .collect::<Vec<_>>()
    };
    let killed = chrono::Utc::now().timestamp_millis();
    daemons.get_mut("r1").unwrap().kill9();
    let kill_takeover = wait_until(TTL * 4, async || {
        takeover_ms(&snapshot(), &of("r1"), "r1", killed)
    })
    .await
    .unwrap();
    eprintln!("kill -9 takeover: {kill_takeover} ms (TTL {TTL:?}, interval {INTERVAL:?})");
    let bound = (TTL + TTL / 3 + INTERVAL + Duration::from_secs(2)).as_millis() as i64;
    assert!(
        kill_takeover <= bound,
        "kill -9 takeover took {kill_takeover} ms > {bound} ms"
    );

    // SIGTERM r2: it releases at once, so r3 runs its journeys well within the TTL.
    let owners = wait_until(Duration::from_secs(60), async || {
        let o = stable_owners(&snapshot(), killed + kill_takeover, 2)?;
        if o.values().any(|r| r == "r1") {
            Err(format!("{o:?}"))
        } else {
            Ok(o)
        }
    })
    .await
    .unwrap();
    let of = |r: &str| {
        owners
            .iter()
            .filter(|(_, o)| o.as_str() == r)
            .map(|(j, _)| j.clone())
            .collect::<Vec<_>>()
    };
    let termed = chrono::Utc::now().timestamp_millis();
    daemons["r2"].signal("TERM");
    let term_takeover = wait_until(TTL * 3, async || {
        takeover_ms(&snapshot(), &of("r2"), "r2", termed)
    })
    .await
    .unwrap();
    eprintln!("SIGTERM takeover: {term_takeover} ms");
    assert!(
        term_takeover < TTL.as_millis() as i64,
        "SIGTERM takeover took {term_takeover} ms, not less than the TTL"
    );
    daemons
        .get_mut("r2")
        .unwrap()
        .wait_exit(Duration::from_secs(30))
        .await;
    // r3 now runs everything, each slot once.
    wait_until(Duration::from_secs(30), async || {
        let o = stable_owners(&snapshot(), termed + term_takeover, 2)?;
        if o.values().all(|r| r == "r3") {
            Ok(())
        } else {
            Err(format!("{o:?}"))
        }
    })
    .await
    .unwrap();
    assert_eq!(doubled(&snapshot()), vec![], "a slot ran twice");

    // Every stored run has a fencing term, and a journey's terms never go back.
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = client
        .query("SELECT journey, fencing_term FROM runs WHERE location = 'eu' ORDER BY journey, started_at", &[])
        .await
        .unwrap();
    assert!(rows.len() >= JOURNEYS * 4, "{} runs stored", rows.len());
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for r in &rows {
        let (j, term): (String, Option<i64>) = (r.get(0), r.get(1));
        let term = term.unwrap_or_else(|| panic!("{j}: a run without a fencing term"));
        let before = last.insert(j.clone(), term).unwrap_or(0);
        assert!(term >= before, "{j}: term {term} after {before}");
    }
    assert!(
        last.values().all(|&t| t >= 2),
        "every journey changed hands: {last:?}"
    );
}
