//! A journey restricted to some locations (`locations: [b]`, issue 8): two
//! real `journeyd run` replicas on one PostgreSQL, one in location `a` and one
//! in `b`. The unrestricted journey runs in both locations; the restricted
//! one only on the `b` replica, counted at the target by the path each
//! replica requests.

use std::sync::Arc;
use std::time::Duration;

use super::fleet::{Hit, Hits, target};
use crate::util::daemon::{TestDaemon, sample_value};
use crate::util::postgres::TestPostgres;
use crate::util::wait::wait_until;

const TTL: Duration = Duration::from_secs(6);

/// Replica `id` of `location`, with the journeys `everywhere` (no key) and
/// `only_b` (`locations: [b]`); each request names the replica that sent it.
async fn replica(
    root: &std::path::Path,
    location: &str,
    id: &str,
    target: std::net::SocketAddr,
    url: &str,
) -> TestDaemon {
    let dir = root.join(id);
    std::fs::create_dir_all(dir.join("journeys")).unwrap();
    for (j, locations) in [("everywhere", ""), ("only_b", "locations: [b]\n")] {
        std::fs::write(
            dir.join(format!("journeys/{j}.yaml")),
            format!(
                "name: {j}\ninterval: 2s\n{locations}steps:\n  - name: hit\n    request: {{ url: \"http://{target}/hit/{j}/{id}\" }}\n"
            ),
        )
        .unwrap();
    }
    let config = format!(
        "listen: 127.0.0.1:0\njourneys: [journeys]\nstate_dir: state\nshutdown_grace: 5s\n\
         store: {{ backend: postgres, url_secret: pg_url }}\n\
         fleet: {{ location: {location}, replica: {id}, lease_ttl: {}s }}\n",
        TTL.as_secs()
    );
    TestDaemon::start(&dir, &config, &[("JOURNEYD_SECRET_PG_URL", url)]).await
}

fn count(hits: &[Hit], journey: &str, replica: &str) -> usize {
    hits.iter()
        .filter(|h| h.journey == journey && h.replica == replica)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journey_restricted_to_location_b_runs_only_on_the_b_replica() {
    let pg = TestPostgres::start();
    let hits: Hits = Arc::default();
    let addr = target(hits.clone()).await;
    let root = tempfile::TempDir::new().unwrap();
    let in_a = replica(root.path(), "a", "ra", addr, &pg.url()).await;
    let in_b = replica(root.path(), "b", "rb", addr, &pg.url()).await;
    let snapshot = || hits.lock().unwrap().clone();

    // Both replicas run: `a` runs the unrestricted journey (alone in its
    // location it would hold `only_b` too, were it not restricted), `b` both.
    let seen = wait_until(Duration::from_secs(60), async || {
        let h = snapshot();
        let counts = (
            count(&h, "everywhere", "ra"),
            count(&h, "everywhere", "rb"),
            count(&h, "only_b", "rb"),
        );
        if counts.0 >= 4 && counts.1 >= 4 && counts.2 >= 4 {
            Ok(counts)
        } else {
            Err(format!(
                "(everywhere@ra, everywhere@rb, only_b@rb) = {counts:?}"
            ))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n--- ra\n{}\n--- rb\n{}", in_a.logs(), in_b.logs()));
    eprintln!("(everywhere@ra, everywhere@rb, only_b@rb) = {seen:?}");
    assert_eq!(
        count(&snapshot(), "only_b", "ra"),
        0,
        "the `a` replica ran a journey restricted to `b`"
    );

    let owned = async |d: &TestDaemon| {
        let text = d.metrics().await.unwrap();
        sample_value(&text, "journeyd_fleet_journeys_owned", &[])
    };
    assert_eq!(owned(&in_a).await, Some(1.0), "ra holds only `everywhere`");
    assert_eq!(owned(&in_b).await, Some(2.0), "rb holds both");

    // No lease of `only_b` exists in location `a`.
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT location, journey FROM journey_leases ORDER BY location, journey",
            &[],
        )
        .await
        .unwrap();
    let leases: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let want = [("a", "everywhere"), ("b", "everywhere"), ("b", "only_b")]
        .map(|(l, j)| (l.to_string(), j.to_string()));
    assert_eq!(leases, want);
}
