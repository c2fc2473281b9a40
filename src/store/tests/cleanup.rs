//! The `pending_cleanup` table through [`PendingWork`]: recorded while a run
//! is live, settled by the run, released at start-up, retried, abandoned.
//! Each case takes an opener of fresh handles on the same tables (a new
//! handle is a new process) and runs on SQLite here and on PostgreSQL in
//! `store::postgres::pending_tests`.

use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};
use tempfile::TempDir;

use crate::runner::handoff::OwedCleanup;
use crate::store::{Backend, PendingWork};

/// Opens `journeyd.db` in `dir`, a new handle (a new process) per call.
pub(in crate::store) fn sqlite(dir: &TempDir) -> impl Fn() -> PendingWork + use<> {
    let path = dir.path().join("journeyd.db");
    move || PendingWork::open(&Backend::Sqlite(path.clone())).unwrap()
}

pub(in crate::store) fn owed(order: &str) -> OwedCleanup {
    OwedCleanup {
        journey: "purchase".into(),
        run_id: uuid::Uuid::new_v4(),
        steps: vec!["cancel order".into()],
        values: BTreeMap::from([("order_id".into(), serde_json::json!(order))]),
        refresh: Vec::new(),
    }
}

pub(in crate::store) async fn a_live_run_is_not_due_until_released_case(
    open: &dyn Fn() -> PendingWork,
) {
    let p = open();
    let o = owed("o-1");
    p.owe_cleanup(&o).await.unwrap();
    assert_eq!(p.cleanup_count().await.unwrap(), 1);
    assert!(p.due_cleanups(Utc::now(), 10).await.unwrap().is_empty());
    // A new process: the row is from a run that was cut.
    drop(p);
    let p = open();
    assert_eq!(p.release_cleanups().await.unwrap(), 1);
    let due = p.due_cleanups(Utc::now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].owed, o);
    assert_eq!(due[0].attempts, 0);
}

pub(in crate::store) async fn a_successful_cleanup_deletes_the_row_case(
    open: &dyn Fn() -> PendingWork,
) {
    let p = open();
    let o = owed("o-2");
    p.owe_cleanup(&o).await.unwrap();
    let still = (p.settle_cleanup(o.run_id, vec![], Utc::now(), None))
        .await
        .unwrap();
    assert!(!still);
    assert_eq!(p.cleanup_count().await.unwrap(), 0);
}

pub(in crate::store) async fn a_failed_cleanup_waits_for_its_next_attempt_and_counts_attempts_case(
    open: &dyn Fn() -> PendingWork,
) {
    let p = open();
    let o = owed("o-3");
    p.owe_cleanup(&o).await.unwrap();
    let now = Utc::now();
    let later = now + TimeDelta::seconds(30);
    let steps = o.steps.clone();
    // The run's own cleanup failed: not a background attempt.
    assert!(
        (p.settle_cleanup(o.run_id, steps.clone(), later, Some("x".into())))
            .await
            .unwrap()
    );
    assert!(p.due_cleanups(now, 10).await.unwrap().is_empty());
    let due = p.due_cleanups(later, 10).await.unwrap();
    assert_eq!(due[0].attempts, 0);
    // A background attempt failed too.
    (p.settle_cleanup(o.run_id, steps, later, Some("y".into())))
        .await
        .unwrap();
    let due = p.due_cleanups(later, 10).await.unwrap();
    assert_eq!(due[0].attempts, 1);
    let listed = p.cleanups().await.unwrap();
    assert_eq!(listed[0].last_error.as_deref(), Some("y"));
    assert!(!listed[0].live);
    p.abandon_cleanup(o.run_id).await.unwrap();
    assert_eq!(p.cleanup_count().await.unwrap(), 0);
}

pub(in crate::store) async fn recording_again_replaces_what_is_owed_and_listings_carry_no_values_case(
    open: &dyn Fn() -> PendingWork,
) {
    let p = open();
    let mut o = owed("o-4");
    p.owe_cleanup(&o).await.unwrap();
    o.steps.push("refund".into());
    o.values
        .insert("refund_id".into(), serde_json::json!("r-value-1"));
    o.refresh.push("log in".into());
    p.owe_cleanup(&o).await.unwrap();
    assert_eq!(p.cleanup_count().await.unwrap(), 1);
    let listed = p.cleanups().await.unwrap();
    assert_eq!(listed[0].steps, ["cancel order", "refund"]);
    let shown = serde_json::to_string(&listed).unwrap();
    assert!(!shown.contains("r-value-1"), "{shown}");
    let values = p.cleanup_values(o.run_id).await.unwrap().unwrap();
    assert!(values.contains("r-value-1"), "{values}");
    p.release_cleanups().await.unwrap();
    assert_eq!(p.due_cleanups(Utc::now(), 10).await.unwrap()[0].owed, o);
}

// The cases above on SQLite files; `store::postgres` runs them on PostgreSQL.

#[tokio::test]
async fn a_live_run_is_not_due_until_released() {
    let dir = TempDir::new().unwrap();
    a_live_run_is_not_due_until_released_case(&sqlite(&dir)).await;
}

#[tokio::test]
async fn a_successful_cleanup_deletes_the_row() {
    let dir = TempDir::new().unwrap();
    a_successful_cleanup_deletes_the_row_case(&sqlite(&dir)).await;
}

#[tokio::test]
async fn a_failed_cleanup_waits_for_its_next_attempt_and_counts_attempts() {
    let dir = TempDir::new().unwrap();
    a_failed_cleanup_waits_for_its_next_attempt_and_counts_attempts_case(&sqlite(&dir)).await;
}

#[tokio::test]
async fn recording_again_replaces_what_is_owed_and_listings_carry_no_values() {
    let dir = TempDir::new().unwrap();
    recording_again_replaces_what_is_owed_and_listings_carry_no_values_case(&sqlite(&dir)).await;
}
