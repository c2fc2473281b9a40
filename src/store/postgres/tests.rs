//! The store's test cases on a real PostgreSQL (a throw-away cluster per
//! test), plus what only PostgreSQL has: locations, fencing, the server
//! going away and coming back.

use std::time::Duration;

use super::SCHEMA_VERSION;
use super::testutil::TestPostgres;
use crate::runner::Verdict;
use crate::store::tests::at;
use crate::store::tests::cases;
use crate::store::tests::fixtures::sample_run as run;
use crate::store::{Backend, Fence, OpenError, PgTarget, Store, StoreOptions};

/// A store on `pg` for `location`, keeping every run.
fn options(pg: &TestPostgres, location: &str) -> StoreOptions {
    let mut opts = StoreOptions::new("unused.db");
    opts.backend = Backend::Postgres(PgTarget {
        url: pg.url(),
        location: location.to_string(),
    });
    opts.retention.max_age = Duration::from_secs(100 * 365 * 24 * 3600);
    opts
}

async fn client(pg: &TestPostgres) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// Polls `check` every 50 ms for at most 20 s.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn pg_get_run_returns_the_recorded_run_identically() {
    let pg = TestPostgres::start();
    cases::get_run_returns_the_recorded_run_identically_case(options(&pg, "a")).await;
}

#[tokio::test]
async fn pg_recent_runs_are_newest_first_and_limited() {
    let pg = TestPostgres::start();
    cases::recent_runs_are_newest_first_and_limited_case(options(&pg, "a")).await;
}

#[tokio::test]
async fn pg_histories_report_the_latest_pass_even_after_failures() {
    let pg = TestPostgres::start();
    cases::histories_report_the_latest_pass_even_after_failures_case(options(&pg, "a")).await;
}

#[tokio::test]
async fn pg_prunes_beyond_the_cap_keeping_the_newest() {
    let pg = TestPostgres::start();
    cases::prunes_beyond_the_cap_keeping_the_newest_case(options(&pg, "a")).await;
}

#[tokio::test]
async fn pg_prunes_older_than_the_maximum_age() {
    let pg = TestPostgres::start();
    cases::prunes_older_than_the_maximum_age_case(options(&pg, "a")).await;
}

#[tokio::test]
async fn pg_cadence_passes_check_only_the_journeys_written() {
    let pg = TestPostgres::start();
    cases::cadence_passes_check_only_the_journeys_written_case(options(&pg, "a")).await;
}

#[tokio::test]
async fn pg_locations_share_the_database_but_not_their_histories() {
    let pg = TestPostgres::start();
    let a = Store::connect(options(&pg, "a")).await.unwrap();
    let b = Store::connect(options(&pg, "b")).await.unwrap();
    a.record(&run("purchase", at(0), Verdict::Pass)).await;
    b.record(&run("purchase", at(1), Verdict::Fail)).await;
    b.record(&run("purchase", at(2), Verdict::Fail)).await;
    a.flush().await;
    b.flush().await;
    assert_eq!(a.recent_runs("purchase", 10).await.unwrap().len(), 1);
    assert_eq!(b.recent_runs("purchase", 10).await.unwrap().len(), 2);
    assert_eq!(a.histories(5).await.unwrap()["purchase"].recent.len(), 1);
}

#[tokio::test]
async fn pg_fencing_token_is_stored_with_the_run() {
    let pg = TestPostgres::start();
    let store = Store::connect(options(&pg, "a")).await.unwrap();
    let r = run("purchase", at(0), Verdict::Pass);
    let fence = Fence {
        replica: "host-1".into(),
        term: 7,
    };
    store.record_fenced(&r, Some(fence)).await;
    store.flush().await;
    let row = client(&pg)
        .await
        .query_one(
            "SELECT replica, fencing_term FROM runs WHERE run_id = $1",
            &[&r.run_id.to_string()],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("host-1"));
    assert_eq!(row.get::<_, Option<i64>>(1), Some(7));
}

#[tokio::test]
async fn pg_runs_wait_while_postgres_is_down_and_are_written_when_it_returns() {
    let pg = TestPostgres::start();
    let store = Store::connect(options(&pg, "a")).await.unwrap();
    let before = run("purchase", at(0), Verdict::Pass);
    store.record(&before).await;
    store.flush().await;
    assert!(store.is_up());

    pg.stop();
    let during = run("purchase", at(1), Verdict::Fail);
    store.record(&during).await;
    eventually("store down", || !store.is_up()).await;
    assert!(
        store.get_run(before.run_id).await.is_err(),
        "reads fail while down"
    );
    assert_eq!(store.queue_depth(), 1);

    let pg = pg.restart();
    store.flush().await;
    assert_eq!(store.get_run(during.run_id).await.unwrap(), Some(during));
    assert!(store.is_up());
    assert_eq!((store.dropped_total(), store.write_errors_total()), (0, 0));
    drop(pg);
}

#[tokio::test]
async fn pg_runs_beyond_the_queue_are_counted_as_dropped_while_postgres_is_down() {
    let pg = TestPostgres::start();
    let mut opts = options(&pg, "a");
    opts.queue_capacity = 2;
    let store = Store::connect(opts).await.unwrap();
    pg.stop();
    // The writer holds the first run (retrying), the queue the next two; the
    // last two wait RECORD_WAIT for space, then are dropped.
    for m in 0..5 {
        store.record(&run("purchase", at(m), Verdict::Pass)).await;
        if m == 0 {
            eventually("writer holds the first run", || !store.is_up()).await;
        }
    }
    assert_eq!(store.dropped_total(), 2);
    let pg = pg.restart();
    store.flush().await;
    assert_eq!(store.recent_runs("purchase", 10).await.unwrap().len(), 3);
    drop(pg);
}

#[tokio::test]
async fn pg_schema_from_a_newer_journeyd_is_refused() {
    let pg = TestPostgres::start();
    Store::connect(options(&pg, "a"))
        .await
        .unwrap()
        .close()
        .await;
    client(&pg)
        .await
        .execute(
            "INSERT INTO journeyd_schema_migrations (version) VALUES ($1)",
            &[&(SCHEMA_VERSION + 1)],
        )
        .await
        .unwrap();
    let err = Store::connect(options(&pg, "a")).await.unwrap_err();
    assert!(
        matches!(err, OpenError::TooNew { found, known, .. }
            if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
        "{err:?}"
    );
    assert!(!err.to_string().contains("postgres@"), "no user in {err}");
}

#[tokio::test]
async fn pg_url_is_never_shown() {
    let target = PgTarget {
        url: "postgres://journeyd:s3cret@db.internal:5433/monitor".into(),
        location: "a".into(),
    };
    assert_eq!(target.describe(), "postgresql://db.internal:5433/monitor");
    assert!(!format!("{target:?}").contains("s3cret"));
}
