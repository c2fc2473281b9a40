//! Leases on a real PostgreSQL with two replicas in one process: fair
//! shares, hand-over on release and on expiry, fencing terms, and slots
//! claimed once across owners.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::Fleet;
use crate::metrics::Metrics;
use crate::store::PgTarget;
use crate::store::postgres::migrate;
use crate::store::postgres::testutil::TestPostgres;

const INTERVAL: Duration = Duration::from_secs(3600);

async fn member(pg: &TestPostgres, id: &str, ttl: Duration) -> Arc<Fleet> {
    let pool = PgTarget {
        url: pg.url(),
        location: "eu".into(),
    }
    .pool()
    .unwrap();
    migrate(&mut pool.get().await.unwrap(), "test")
        .await
        .unwrap();
    let metrics = Arc::new(Metrics::new(&BTreeMap::new()).unwrap());
    let fleet = Fleet::new(pool, "eu".into(), id.into(), ttl, metrics);
    fleet.set_journeys((0..6).map(|i| format!("j{i}")));
    fleet
}

fn set(v: Vec<String>) -> BTreeSet<String> {
    v.into_iter().collect()
}

async fn terms(pg: &TestPostgres) -> BTreeMap<String, (Option<String>, i64)> {
    let (c, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c.query("SELECT journey, owner, term FROM journey_leases", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect()
}

#[tokio::test]
async fn two_replicas_split_the_journeys_and_only_the_excess_moves() {
    let pg = TestPostgres::start();
    let ttl = Duration::from_secs(30);
    let a = member(&pg, "a", ttl).await;
    a.round().await.unwrap();
    assert_eq!(a.owned().len(), 6, "alone, a replica runs everything");
    let b = member(&pg, "b", ttl).await;
    b.round().await.unwrap();
    assert!(b.owned().is_empty(), "nothing is free yet");
    a.round().await.unwrap();
    b.round().await.unwrap();
    let (oa, ob) = (set(a.owned()), set(b.owned()));
    assert_eq!((oa.len(), ob.len()), (3, 3));
    assert!(oa.is_disjoint(&ob));
    // Each journey taken over once more has a higher term than its first owner's.
    let t = terms(&pg).await;
    for j in &ob {
        assert_eq!(t[j], (Some("b".to_string()), 2), "{j}");
    }
    for j in &oa {
        assert_eq!(t[j], (Some("a".to_string()), 1), "{j}");
    }
    // A stable fleet moves nothing.
    a.round().await.unwrap();
    b.round().await.unwrap();
    assert_eq!((set(a.owned()), set(b.owned())), (oa, ob));
}

#[tokio::test]
async fn a_released_replica_hands_everything_over_at_once() {
    let pg = TestPostgres::start();
    let ttl = Duration::from_secs(30);
    let a = member(&pg, "a", ttl).await;
    let b = member(&pg, "b", ttl).await;
    for _ in 0..2 {
        a.round().await.unwrap();
        b.round().await.unwrap();
    }
    assert_eq!(b.owned().len(), 3);
    a.release_all().await;
    assert!(a.owned().is_empty());
    b.round().await.unwrap();
    assert_eq!(b.owned().len(), 6, "long before the 30 s TTL");
    assert_eq!(a.may_run("j0", INTERVAL).await, None);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_its_old_owner_stops() {
    let pg = TestPostgres::start();
    let ttl = Duration::from_secs(2);
    let a = member(&pg, "a", ttl).await;
    a.round().await.unwrap();
    let fence = a.may_run("j0", INTERVAL).await.expect("a owns j0");
    assert_eq!(fence.term, 1);
    // `a` stops renewing (as after kill -9); `b` takes over once the lease expires.
    let b = member(&pg, "b", ttl).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while b.owned().len() < 6 {
        assert!(tokio::time::Instant::now() < deadline, "no takeover");
        b.round().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(terms(&pg).await["j0"], (Some("b".to_string()), 2));
    assert_eq!(
        a.may_run("j1", INTERVAL).await,
        None,
        "a's lease may have expired"
    );
    // The slot `a` ran is not run again by the new owner.
    assert_eq!(b.may_run("j0", INTERVAL).await, None);
}

#[tokio::test]
async fn a_slot_is_claimed_once() {
    let pg = TestPostgres::start();
    let a = member(&pg, "a", Duration::from_secs(30)).await;
    a.round().await.unwrap();
    assert!(a.may_run("j0", INTERVAL).await.is_some());
    assert_eq!(a.may_run("j0", INTERVAL).await, None, "same slot");
    assert!(a.may_run("j1", INTERVAL).await.is_some(), "another journey");
}
