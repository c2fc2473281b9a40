//! [`PendingWork`] on a real PostgreSQL: the SQLite cases of
//! `store::tests::{cleanup, obligation}` on this backend, then what only a
//! shared database has: locations, two replicas never working the same row,
//! takeover by the journey's new owner, a dead replica's live cleanup, and
//! the server going away.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeDelta, Utc};

use super::testutil::TestPostgres;
use crate::runner::StepOutcome;
use crate::store::tests::{cleanup as c, obligation as o};
use crate::store::{Backend, PendingWork, PgTarget, Replica, StoreError};

fn backend(pg: &TestPostgres, location: &str) -> Backend {
    Backend::Postgres(PgTarget {
        url: pg.url(),
        location: location.to_string(),
    })
}

/// Fresh solo handles (no fleet) on `pg`, location `a`.
fn solo(pg: &TestPostgres) -> impl Fn() -> PendingWork + use<> {
    let backend = backend(pg, "a");
    move || PendingWork::open(&backend).unwrap()
}

/// Replica `id` of a fleet in location `x` (lease TTL 30 s), schema migrated.
async fn replica(pg: &TestPostgres, id: &str) -> PendingWork {
    let who = Replica {
        id: id.to_string(),
        lease_ttl: Some(Duration::from_secs(30)),
    };
    let p = PendingWork::open_as(&backend(pg, "x"), who).unwrap();
    p.cleanup_count().await.unwrap();
    p
}

async fn sql(pg: &TestPostgres, statement: &str) {
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client.batch_execute(statement).await.unwrap();
}

/// Marks replica `id` of location `x` alive (heartbeat now) or dead (an hour ago).
async fn heartbeat(pg: &TestPostgres, id: &str, alive: bool) {
    let at = if alive {
        "now()"
    } else {
        "now() - interval '1 hour'"
    };
    sql(
        pg,
        &format!(
            "INSERT INTO replicas (location, id, heartbeat_at) VALUES ('x', '{id}', {at})
         ON CONFLICT (location, id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at"
        ),
    )
    .await;
}

/// Gives the lease of `purchase` in location `x` to `owner` (a takeover).
async fn lease(pg: &TestPostgres, owner: &str) {
    sql(
        pg,
        &format!(
            "INSERT INTO journey_leases (location, journey, owner, term, expires_at)
         VALUES ('x', 'purchase', '{owner}', 1, now() + interval '1 minute')
         ON CONFLICT (location, journey) DO UPDATE SET owner = excluded.owner,
           term = journey_leases.term + 1, expires_at = excluded.expires_at"
        ),
    )
    .await;
}

#[tokio::test]
async fn pg_a_live_run_is_not_due_until_released() {
    let pg = TestPostgres::start();
    c::a_live_run_is_not_due_until_released_case(&solo(&pg)).await;
}

#[tokio::test]
async fn pg_a_successful_cleanup_deletes_the_row() {
    let pg = TestPostgres::start();
    c::a_successful_cleanup_deletes_the_row_case(&solo(&pg)).await;
}

#[tokio::test]
async fn pg_a_failed_cleanup_waits_for_its_next_attempt_and_counts_attempts() {
    let pg = TestPostgres::start();
    c::a_failed_cleanup_waits_for_its_next_attempt_and_counts_attempts_case(&solo(&pg)).await;
}

#[tokio::test]
async fn pg_recording_again_replaces_what_is_owed_and_listings_carry_no_values() {
    let pg = TestPostgres::start();
    c::recording_again_replaces_what_is_owed_and_listings_carry_no_values_case(&solo(&pg)).await;
}

#[tokio::test]
async fn pg_an_obligation_is_due_after_every_and_survives_a_reopen() {
    let pg = TestPostgres::start();
    o::an_obligation_is_due_after_every_and_survives_a_reopen_case(&solo(&pg)).await;
}

#[tokio::test]
async fn pg_an_obligation_finishes_once_and_is_reported_again_until_observed() {
    let pg = TestPostgres::start();
    o::an_obligation_finishes_once_and_is_reported_again_until_observed_case(&solo(&pg)).await;
}

#[tokio::test]
async fn pg_cleanup_of_a_run_waits_for_its_pending_obligation() {
    let pg = TestPostgres::start();
    o::cleanup_of_a_run_waits_for_its_pending_obligation_case(&solo(&pg)).await;
}

#[tokio::test]
async fn pg_oldest_pending_is_per_backend() {
    let pg = TestPostgres::start();
    o::oldest_pending_is_per_backend_case(&solo(&pg)).await;
}

/// A cleanup of `purchase` owed by `p` and due now (its own attempt failed).
async fn due_cleanup(p: &PendingWork) -> uuid::Uuid {
    let owed = c::owed("o-1");
    p.owe_cleanup(&owed).await.unwrap();
    let past = Utc::now() - TimeDelta::seconds(1);
    (p.settle_cleanup(owed.run_id, owed.steps, past, None))
        .await
        .unwrap();
    owed.run_id
}

/// An obligation of `purchase` left by `p`, due now.
async fn due_obligation(p: &PendingWork) -> uuid::Uuid {
    let mut ob = o::obligation(uuid::Uuid::new_v4(), TimeDelta::minutes(10));
    ob.created_at -= TimeDelta::minutes(1);
    p.add_obligation(&ob).await.unwrap();
    ob.id
}

#[tokio::test]
async fn pg_two_replicas_never_get_the_same_due_cleanup_or_obligation() {
    let pg = TestPostgres::start();
    let (a, b) = (replica(&pg, "a").await, replica(&pg, "b").await);
    heartbeat(&pg, "a", true).await;
    heartbeat(&pg, "b", true).await;
    let mut cleanups = HashSet::new();
    let mut obligations = HashSet::new();
    for _ in 0..30 {
        cleanups.insert(due_cleanup(&a).await);
        obligations.insert(due_obligation(&b).await);
    }
    // Both replicas poll at once, a few rows at a time, until nothing is left.
    let drain = |p: PendingWork| async move {
        let (mut got_c, mut got_o) = (Vec::new(), Vec::new());
        for _ in 0..100 {
            let now = Utc::now();
            let (dc, dob) = tokio::join!(p.due_cleanups(now, 3), p.due_obligations(now, 3));
            let (dc, dob) = (dc.unwrap(), dob.unwrap());
            if dc.is_empty() && dob.is_empty() {
                return (got_c, got_o);
            }
            got_c.extend(dc.into_iter().map(|d| d.owed.run_id));
            got_o.extend(dob.into_iter().map(|d| d.obligation.id));
        }
        panic!("rows are handed out again and again: {got_c:?} {got_o:?}");
    };
    let (ta, tb) = (
        tokio::spawn(drain(a.clone())),
        tokio::spawn(drain(b.clone())),
    );
    let ((ca, oa), (cb, ob)) = (ta.await.unwrap(), tb.await.unwrap());
    let mut all_c = ca.clone();
    all_c.extend(&cb);
    let mut all_o = oa.clone();
    all_o.extend(&ob);
    assert_eq!(
        all_c.len(),
        30,
        "a cleanup was handed out twice: {ca:?} {cb:?}"
    );
    assert_eq!(
        all_o.len(),
        30,
        "an obligation was polled twice: {oa:?} {ob:?}"
    );
    assert_eq!(all_c.into_iter().collect::<HashSet<_>>(), cleanups);
    assert_eq!(all_o.into_iter().collect::<HashSet<_>>(), obligations);
    // Claimed rows are nobody else's until the claim expires (a replica killed mid-attempt).
    assert!(b.due_cleanups(Utc::now(), 100).await.unwrap().is_empty());
    assert!(a.due_obligations(Utc::now(), 100).await.unwrap().is_empty());
    let next = b.next_obligation_due().await.unwrap().unwrap();
    assert!(next > Utc::now() + TimeDelta::minutes(4), "{next}");
    sql(
        &pg,
        "UPDATE pending_cleanup SET claimed_until = now() - interval '1 second';
              UPDATE obligations SET claimed_until = now() - interval '1 second'",
    )
    .await;
    assert_eq!(b.due_cleanups(Utc::now(), 100).await.unwrap().len(), 30);
    assert_eq!(b.due_obligations(Utc::now(), 100).await.unwrap().len(), 30);
}

#[tokio::test]
async fn pg_the_journeys_owner_works_its_rows_and_the_new_owner_after_a_takeover() {
    let pg = TestPostgres::start();
    let (a, b) = (replica(&pg, "a").await, replica(&pg, "b").await);
    heartbeat(&pg, "a", true).await;
    heartbeat(&pg, "b", true).await;
    lease(&pg, "a").await;
    let ob = due_obligation(&a).await;
    let cleanup = due_cleanup(&a).await;
    let now = Utc::now();
    assert!(b.due_obligations(now, 10).await.unwrap().is_empty());
    assert!(b.due_cleanups(now, 10).await.unwrap().is_empty());
    assert_eq!(b.next_obligation_due().await.unwrap(), None);
    assert_eq!(
        a.due_obligations(now, 10).await.unwrap()[0].obligation.id,
        ob
    );
    let poll = StepOutcome::skipped("order shipped", None, "");
    let past = now - TimeDelta::seconds(1);
    (a.reschedule_obligation(ob, poll, past, Duration::from_secs(2)))
        .await
        .unwrap();
    // `b` takes the journey over: from now on the rows are its own.
    lease(&pg, "b").await;
    assert!(a.due_obligations(now, 10).await.unwrap().is_empty());
    assert!(a.due_cleanups(now, 10).await.unwrap().is_empty());
    assert_eq!(
        b.due_obligations(now, 10).await.unwrap()[0].obligation.id,
        ob
    );
    assert_eq!(
        b.due_cleanups(now, 10).await.unwrap()[0].owed.run_id,
        cleanup
    );
}

#[tokio::test]
async fn pg_a_killed_replicas_live_cleanup_is_due_for_the_journeys_owner() {
    let pg = TestPostgres::start();
    let (a, b) = (replica(&pg, "a").await, replica(&pg, "b").await);
    heartbeat(&pg, "a", true).await;
    heartbeat(&pg, "b", true).await;
    lease(&pg, "b").await;
    let owed = c::owed("o-9");
    a.owe_cleanup(&owed).await.unwrap();
    // `a`'s run is still going: nobody cleans up under its feet, and a
    // restart of `b` does not release it.
    assert_eq!(b.release_cleanups().await.unwrap(), 0);
    assert!(b.due_cleanups(Utc::now(), 10).await.unwrap().is_empty());
    // `a` is killed: its heartbeat grows old, the owner of the journey takes the row.
    heartbeat(&pg, "a", false).await;
    let due = b.due_cleanups(Utc::now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].owed, owed);
    // Its failed attempt counts as a background one.
    let later = Utc::now() + TimeDelta::seconds(30);
    (b.settle_cleanup(owed.run_id, owed.steps.clone(), later, None))
        .await
        .unwrap();
    let listed = b.cleanups().await.unwrap();
    assert_eq!((listed[0].attempts, listed[0].live), (1, false));
}

#[tokio::test]
async fn pg_locations_do_not_take_each_others_work() {
    let pg = TestPostgres::start();
    let a = PendingWork::open(&backend(&pg, "a")).unwrap();
    let b = PendingWork::open(&backend(&pg, "b")).unwrap();
    due_cleanup(&a).await;
    due_obligation(&a).await;
    let now = Utc::now();
    assert!(b.due_cleanups(now, 10).await.unwrap().is_empty());
    assert!(b.due_obligations(now, 10).await.unwrap().is_empty());
    assert_eq!(b.cleanup_count().await.unwrap(), 0);
    assert!(b.obligations(10).await.unwrap().is_empty());
    assert_eq!(b.release_cleanups().await.unwrap(), 0);
    assert_eq!(a.due_cleanups(now, 10).await.unwrap().len(), 1);
    assert_eq!(a.due_obligations(now, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn pg_recording_fails_quickly_with_a_query_error_while_postgres_is_down() {
    let pg = TestPostgres::start();
    let p = solo(&pg)();
    p.cleanup_count().await.unwrap();
    pg.stop();
    let started = std::time::Instant::now();
    let err = p.owe_cleanup(&c::owed("o-5")).await.unwrap_err();
    assert!(matches!(err, StoreError::Query { .. }), "{err:?}");
    assert!(err.to_string().contains("recording owed cleanup"), "{err}");
    assert!(
        !err.to_string().contains("postgres@"),
        "the URL is a secret: {err}"
    );
    assert!(started.elapsed() <= super::OP_TIMEOUT + Duration::from_secs(2));
    // It returns: the same handle records again.
    let pg = pg.restart();
    let owed = c::owed("o-6");
    p.owe_cleanup(&owed).await.unwrap();
    assert_eq!(p.cleanup_count().await.unwrap(), 1);
    drop(pg);
}
