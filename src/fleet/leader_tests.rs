//! The alerting role on a real PostgreSQL: one leader among candidates, the
//! same term while renewed, a new term at each takeover, release on stop, and
//! a leader that cannot renew stops leading by its own clock.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{ALERTING, Leadership};
use crate::store::PgTarget;
use crate::store::postgres::migrate;
use crate::store::postgres::testutil::TestPostgres;

async fn candidate(pg: &TestPostgres, owner: &str, ttl: Duration) -> Arc<Leadership> {
    let pool = PgTarget {
        url: pg.url(),
        location: "eu".into(),
    }
    .pool()
    .unwrap();
    migrate(&mut pool.get().await.unwrap(), "test")
        .await
        .unwrap();
    Arc::new(Leadership::new(pool, ALERTING, owner.into(), ttl))
}

#[tokio::test]
async fn one_leader_keeps_its_term_and_each_takeover_adds_one() {
    let pg = TestPostgres::start();
    let ttl = Duration::from_secs(30);
    let a = candidate(&pg, "eu/a", ttl).await;
    let b = candidate(&pg, "us/b", ttl).await;
    assert_eq!(a.round().await, Ok(Some(1)));
    assert_eq!(b.round().await, Ok(None), "the role is taken");
    assert_eq!(a.round().await, Ok(Some(1)), "a renewal keeps the term");
    assert_eq!((a.term(), b.term()), (Some(1), None));

    // SIGTERM: a frees the role, b takes it at its next round with a new term.
    a.release().await;
    assert_eq!(a.term(), None);
    assert_eq!(b.round().await, Ok(Some(2)));
    assert_eq!(a.round().await, Ok(None));
    b.release().await;
    assert_eq!(
        a.round().await,
        Ok(Some(3)),
        "the old leader back: a new term"
    );
}

#[tokio::test]
async fn an_expired_role_is_taken_over_with_a_new_term() {
    let pg = TestPostgres::start();
    let ttl = Duration::from_millis(600);
    let a = candidate(&pg, "eu/a", ttl).await;
    let b = candidate(&pg, "eu/b", Duration::from_secs(30)).await;
    assert_eq!(a.round().await, Ok(Some(1)));
    // a (as after kill -9) renews no more; b gets the role once it expired.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match b.round().await {
            Ok(Some(term)) => {
                assert_eq!(term, 2);
                break;
            }
            other => assert!(tokio::time::Instant::now() < deadline, "{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(a.round().await, Ok(None), "a is deposed");
    assert_eq!(a.term(), None);
}

#[tokio::test]
async fn a_leader_that_cannot_renew_stops_leading_before_its_lease_expires() {
    let pg = TestPostgres::start();
    let ttl = Duration::from_secs(3);
    let a = candidate(&pg, "eu/a", ttl).await;
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let (a, stop) = (a.clone(), stop.clone());
        async move { a.run(stop).await }
    });
    let mut changes = a.subscribe();
    changes.wait_for(|t| t.is_some()).await.unwrap();
    pg.stop();
    let became = tokio::time::Instant::now();
    // Not holding the value: the leader task writes it again on release.
    let stopped = tokio::time::timeout(ttl * 2, async {
        changes.wait_for(|t| t.is_none()).await.map(|_| ())
    })
    .await;
    assert!(
        stopped.is_ok(),
        "still leading {:?} after PostgreSQL went",
        ttl * 2
    );
    let led = became.elapsed();
    assert!(
        led <= ttl - ttl / 10 + Duration::from_millis(500),
        "led {led:?} without a renewal (ttl {ttl:?})"
    );
    stop.cancel();
    task.await.unwrap();
}
