//! The fleet as the status page and `GET /api/fleet` show it (issue 8): two
//! real `journeyd run` replicas of one location on a real PostgreSQL. Both
//! are listed alive with their share of the journeys and every lease has an
//! owner and a term; after `kill -9` of one, the other shows it silent and
//! owns every journey under a new term. Without a fleet, both say so.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::fleet::{Hits, JOURNEYS, replica, target};
use crate::util::daemon::TestDaemon;
use crate::util::postgres::TestPostgres;
use crate::util::wait::wait_until;

const TTL: Duration = Duration::from_secs(6);

/// `/api/fleet` of `d`, once every journey of `eu` has an owner among `live`
/// and each of them owns at least one.
async fn settled(d: &TestDaemon, live: &[&str]) -> Result<Value, String> {
    let v = d.get_json("/api/fleet").await?;
    let leases = v["leases"].as_array().cloned().unwrap_or_default();
    let owners: BTreeMap<String, usize> =
        leases
            .iter()
            .filter_map(|l| l["owner"].as_str())
            .fold(BTreeMap::new(), |mut m, o| {
                *m.entry(o.to_string()).or_default() += 1;
                m
            });
    let all_owned = leases.len() == JOURNEYS
        && owners.values().sum::<usize>() == JOURNEYS
        && owners.keys().all(|o| live.contains(&o.as_str()))
        && live.iter().all(|r| owners.contains_key(*r));
    if all_owned {
        Ok(v)
    } else {
        Err(format!("owners {owners:?} in {v}"))
    }
}

fn replica_row<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["replicas"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["id"] == id))
        .unwrap_or_else(|| panic!("no replica {id} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_page_and_api_show_replicas_owners_and_terms_and_a_killed_replica_goes_silent() {
    let pg = TestPostgres::start();
    let hits: Hits = Arc::default();
    let addr = target(hits).await;
    let root = tempfile::TempDir::new().unwrap();
    let r1 = replica(root.path(), "r1", addr, &pg.url(), TTL).await;
    let mut r2 = replica(root.path(), "r2", addr, &pg.url(), TTL).await;

    let v = wait_until(Duration::from_secs(60), async || {
        settled(&r1, &["r1", "r2"]).await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", r1.logs()));
    assert_eq!(v["replica"], "r1");
    assert_eq!(v["location"], "eu");
    assert_eq!(v["lease_ttl_seconds"], TTL.as_secs_f64());
    let (me, other) = (replica_row(&v, "r1"), replica_row(&v, "r2"));
    assert_eq!(me["this_replica"], true, "{v}");
    assert_eq!(other["this_replica"], false, "{v}");
    for r in [me, other] {
        assert_eq!(r["alive"], true, "{v}");
        assert_eq!(r["location"], "eu");
        let age = r["heartbeat_age_seconds"].as_f64().unwrap();
        assert!((0.0..TTL.as_secs_f64()).contains(&age), "{v}");
    }
    let owned = |r: &Value| r["journeys_owned"].as_u64().unwrap();
    assert_eq!(owned(me) + owned(other), JOURNEYS as u64, "{v}");
    for l in v["leases"].as_array().unwrap() {
        assert!(
            l["term"].as_i64().unwrap() >= 1,
            "a held lease has a term: {l}"
        );
        assert!(l["expires_in_seconds"].as_f64().unwrap() > 0.0, "{l}");
    }

    // The page: this replica, both replicas alive, a row per journey with its owner.
    let (status, page) = r1.get("/fleet").await.unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<code>r1</code> in location <code>eu</code>"),
        "{page}"
    );
    assert!(page.contains("<code>r2</code></td>"), "{page}");
    assert_eq!(page.matches(">alive<").count(), 2, "{page}");
    assert_eq!(
        page.matches("<tr><td>eu</td><td>j").count(),
        JOURNEYS,
        "{page}"
    );
    assert!(!page.contains("<script"), "no JavaScript on a page");
    let (_, index) = r1.get("/").await.unwrap();
    assert!(
        index.contains("href=\"/fleet\""),
        "the status page links the fleet page"
    );

    // kill -9 r2: r1 shows it silent, then owns every journey, each under a newer term.
    let terms = |v: &Value| -> BTreeMap<String, i64> {
        v["leases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["journey"].as_str().unwrap().to_string(),
                    l["term"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let before = terms(&v);
    let of_r2: Vec<String> = v["leases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["owner"] == "r2")
        .map(|l| l["journey"].as_str().unwrap().to_string())
        .collect();
    r2.kill9();
    let v = wait_until(TTL * 4, async || {
        let v = settled(&r1, &["r1"]).await?;
        if replica_row(&v, "r2")["alive"] == false {
            Ok(v)
        } else {
            Err(format!("r2 still alive in {v}"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", r1.logs()));
    let after = terms(&v);
    for j in &of_r2 {
        assert!(
            after[j] > before[j],
            "{j}: term {} -> {}",
            before[j],
            after[j]
        );
    }
    assert_eq!(
        replica_row(&v, "r1")["journeys_owned"],
        JOURNEYS as u64,
        "{v}"
    );
    let (_, page) = r1.get("/fleet").await.unwrap();
    assert!(page.contains(">silent<"), "{page}");
}

#[tokio::test]
async fn without_a_fleet_the_api_and_the_page_say_so() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::create_dir_all(dir.path().join("journeys")).unwrap();
    // An hourly journey at a closed port: nothing needs to run for this test.
    std::fs::write(
        dir.path().join("journeys/only.yaml"),
        "name: only\ninterval: 1h\nsteps:\n  - name: get\n    request: { url: \"http://127.0.0.1:9/\" }\n",
    )
    .unwrap();
    let config = "listen: 127.0.0.1:0\njourneys: [journeys]\nstate_dir: state\n";
    let d = TestDaemon::start(dir.path(), config, &[] as &[(&str, &str)]).await;
    let (status, body) = d.get("/api/fleet").await.unwrap();
    assert_eq!(status, 404, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("not in a fleet"),
        "{v}"
    );
    let (status, page) = d.get("/fleet").await.unwrap();
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("not in a fleet"), "{page}");
    let (_, index) = d.get("/").await.unwrap();
    assert!(
        !index.contains("href=\"/fleet\""),
        "no fleet link without a fleet"
    );
}
