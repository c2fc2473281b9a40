//! The alerting leader's inbox on a real PostgreSQL: fenced runs reach it with
//! their location, unfenced runs do not, and alert-only input (a fulfilled
//! obligation) reaches it without becoming a run of the history.

use std::collections::BTreeMap;
use std::time::Duration;

use super::inbox;
use crate::runner::{JourneyRun, Verdict};
use crate::store::postgres::testutil::TestPostgres;
use crate::store::{Backend, Fence, PgTarget, Store, StoreOptions};

fn run(journey: &str, verdict: Verdict) -> JourneyRun {
    JourneyRun {
        run_id: uuid::Uuid::new_v4(),
        journey: journey.into(),
        started_at: chrono::Utc::now(),
        duration_seconds: 0.5,
        verdict,
        degraded: false,
        captures: BTreeMap::new(),
        steps: Vec::new(),
        cleanup: Vec::new(),
        trace_id: None,
    }
}

#[tokio::test]
async fn fenced_runs_and_alert_only_input_reach_the_leader_in_order_unfenced_runs_do_not() {
    let pg = TestPostgres::start();
    let target = PgTarget {
        url: pg.url(),
        location: "eu".into(),
    };
    let mut opts = StoreOptions::new("unused.db");
    opts.backend = Backend::Postgres(target.clone());
    opts.retention.max_age = Duration::from_secs(365 * 24 * 3600);
    let store = Store::connect(opts).await.unwrap();

    let fenced = run("purchase", Verdict::Fail);
    let unfenced = run("purchase", Verdict::Fail);
    let fulfilled = run("purchase", Verdict::Pass);
    let fence = Fence {
        replica: "eu-a".into(),
        term: 3,
    };
    store.record_fenced(&fenced, Some(fence)).await;
    store.record(&unfenced).await;
    store.record_for_alerts(&fulfilled).await;
    store.flush().await;

    let pool = target.pool().unwrap();
    let mut seen = Vec::new();
    let taken = inbox::take(&pool, inbox::BATCH, |location, r| {
        seen.push((location, r.run_id, r.verdict));
        async { true }
    })
    .await
    .unwrap();
    assert_eq!(taken, 2);
    assert_eq!(
        seen,
        vec![
            ("eu".to_string(), fenced.run_id, Verdict::Fail),
            ("eu".to_string(), fulfilled.run_id, Verdict::Pass),
        ]
    );
    // The fulfilled obligation is alert input only, not a run of the history.
    assert!(store.get_run(fulfilled.run_id).await.unwrap().is_none());
    assert!(store.get_run(fenced.run_id).await.unwrap().is_some());
    let again = inbox::take(&pool, inbox::BATCH, |_, _| async { true })
        .await
        .unwrap();
    assert_eq!(again, 0, "a take deletes what it fed");
}
