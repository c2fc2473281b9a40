//! The `obligations` table through [`PendingWork`]: migration 3 on an existing
//! history, due polls and rescheduling, finishing exactly once, reporting again
//! after a crash, cleanup held while an obligation is pending, no values kept.
//! Each case (except the SQLite migration) takes an opener of fresh handles on
//! the same tables and runs on SQLite here and on PostgreSQL in
//! `store::postgres::pending_tests`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tempfile::TempDir;

use crate::runner::StepOutcome;
use crate::runner::handoff::{Obligation, OwedCleanup};
use crate::store::{Backend, ObligationState, PendingWork};

/// Opens `journeyd.db` in `dir`, a new handle (a new process) per call.
pub(in crate::store) fn sqlite(dir: &TempDir) -> impl Fn() -> PendingWork + use<> {
    let path = dir.path().join("journeyd.db");
    move || PendingWork::open(&Backend::Sqlite(path.clone())).unwrap()
}

pub(in crate::store) fn obligation(run_id: uuid::Uuid, within: TimeDelta) -> Obligation {
    // Stored in milliseconds.
    let now = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    Obligation {
        id: uuid::Uuid::new_v4(),
        journey: "purchase".into(),
        run_id,
        step: "order shipped".into(),
        backend: Some("fulfillment".into()),
        values: BTreeMap::from([("order_id".into(), serde_json::json!("o-7"))]),
        refresh: vec!["log in".into()],
        created_at: now,
        deadline: now + within,
        every: Duration::from_secs(2),
        backoff: 2.0,
        max_every: Duration::from_secs(60),
        first_poll: StepOutcome::skipped("order shipped", Some("fulfillment"), ""),
    }
}

#[tokio::test]
async fn migration_three_keeps_a_version_two_history_and_adds_obligations() {
    let dir = TempDir::new().unwrap();
    {
        let c = rusqlite::Connection::open(dir.path().join("journeyd.db")).unwrap();
        c.execute_batch(crate::store::schema::MIGRATIONS[0])
            .unwrap();
        c.execute_batch(crate::store::schema::MIGRATIONS[1])
            .unwrap();
        c.execute_batch(
            "PRAGMA application_id = 1246907993; PRAGMA user_version = 2;
             INSERT INTO pending_cleanup (run_id, journey, steps_json, values_json,
               refresh_json, created_at, live) VALUES ('r', 'j', '[]', '{}', '[]', 0, 0);",
        )
        .unwrap();
    }
    let p = sqlite(&dir)();
    assert_eq!(p.cleanup_count().await.unwrap(), 1);
    let ob = obligation(uuid::Uuid::new_v4(), TimeDelta::minutes(10));
    p.add_obligation(&ob).await.unwrap();
    let rows = p.obligations(10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, ObligationState::Pending);
    let c = rusqlite::Connection::open(dir.path().join("journeyd.db")).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 3);
}

pub(in crate::store) async fn an_obligation_is_due_after_every_and_survives_a_reopen_case(
    open: &dyn Fn() -> PendingWork,
) {
    let p = open();
    let ob = obligation(uuid::Uuid::new_v4(), TimeDelta::minutes(10));
    p.add_obligation(&ob).await.unwrap();
    assert!(p.due_obligations(Utc::now(), 10).await.unwrap().is_empty());
    // A new process (restart after kill -9) finds it, values and schedule included.
    drop(p);
    let p = open();
    let later = ob.created_at + TimeDelta::seconds(2);
    let due = p.due_obligations(later, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].obligation, ob);
    assert_eq!(due[0].pause, Duration::from_secs(2));
    assert_eq!(due[0].polls, 1);
    // Not yet: the next poll after the pause, with the longer pause stored.
    let next = later + TimeDelta::seconds(2);
    let poll = StepOutcome::skipped("order shipped", None, "");
    assert!(
        (p.reschedule_obligation(ob.id, poll, next, Duration::from_secs(4)))
            .await
            .unwrap()
    );
    assert!(p.due_obligations(later, 10).await.unwrap().is_empty());
    assert_eq!(p.next_obligation_due().await.unwrap(), Some(next));
    let due = p.due_obligations(next, 10).await.unwrap();
    assert_eq!((due[0].pause, due[0].polls), (Duration::from_secs(4), 2));
}

pub(in crate::store) async fn an_obligation_finishes_once_and_is_reported_again_until_observed_case(
    open: &dyn Fn() -> PendingWork,
) {
    let p = open();
    let ob = obligation(uuid::Uuid::new_v4(), TimeDelta::minutes(10));
    p.add_obligation(&ob).await.unwrap();
    let poll = StepOutcome::skipped("order shipped", None, "");
    let now = Utc::now();
    let first = p.finish_obligation(ob.id, ObligationState::Breached, poll.clone(), now);
    assert!(first.await.unwrap());
    // A second finish (a racing pass, a restart) changes nothing and reports nothing.
    let second = p.finish_obligation(ob.id, ObligationState::Fulfilled, poll, now);
    assert!(!second.await.unwrap());
    assert!(
        p.due_obligations(now + TimeDelta::days(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Killed before it was reported: the next process reports it.
    drop(p);
    let p = open();
    let unreported = p.unobserved_obligations().await.unwrap();
    assert_eq!(unreported.len(), 1);
    assert_eq!(unreported[0].state, ObligationState::Breached);
    p.obligation_observed(ob.id).await.unwrap();
    assert!(p.unobserved_obligations().await.unwrap().is_empty());
    let (counts, oldest) = p.obligation_stats().await.unwrap();
    assert_eq!(counts, [(ObligationState::Breached, 1)]);
    assert!(oldest.is_empty());
    // Values are gone once finished; the row is pruned after its week.
    let text = p.obligation_text(ob.id).await.unwrap().unwrap();
    assert!(!text.contains("o-7"), "{text}");
    assert_eq!(
        p.prune_obligations(now + TimeDelta::seconds(1))
            .await
            .unwrap(),
        1
    );
}

pub(in crate::store) async fn cleanup_of_a_run_waits_for_its_pending_obligation_case(
    open: &dyn Fn() -> PendingWork,
) {
    let p = open();
    let run_id = uuid::Uuid::new_v4();
    let owed = OwedCleanup {
        journey: "purchase".into(),
        run_id,
        steps: vec!["cancel order".into()],
        values: BTreeMap::new(),
        refresh: Vec::new(),
    };
    p.owe_cleanup(&owed).await.unwrap();
    let ob = obligation(run_id, TimeDelta::minutes(10));
    p.add_obligation(&ob).await.unwrap();
    let now = Utc::now();
    (p.settle_cleanup(run_id, owed.steps.clone(), now, None))
        .await
        .unwrap();
    assert!(p.due_cleanups(now, 10).await.unwrap().is_empty());
    let poll = StepOutcome::skipped("order shipped", None, "");
    // Two days later: the cleanup's retention counts from the obligation's end.
    let ended = now + TimeDelta::days(2);
    (p.finish_obligation(ob.id, ObligationState::Fulfilled, poll, ended))
        .await
        .unwrap();
    let due = p.due_cleanups(ended, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].owed.run_id, run_id);
    assert_eq!(
        due[0].created_at.timestamp_millis(),
        ended.timestamp_millis()
    );
}

pub(in crate::store) async fn oldest_pending_is_per_backend_case(open: &dyn Fn() -> PendingWork) {
    let p = open();
    let older = obligation(uuid::Uuid::new_v4(), TimeDelta::minutes(10));
    let mut newer = obligation(uuid::Uuid::new_v4(), TimeDelta::minutes(10));
    newer.created_at = older.created_at + TimeDelta::seconds(5);
    let mut other = obligation(uuid::Uuid::new_v4(), TimeDelta::minutes(10));
    other.backend = None;
    for o in [&older, &newer, &other] {
        p.add_obligation(o).await.unwrap();
    }
    let (counts, mut oldest) = p.obligation_stats().await.unwrap();
    assert_eq!(counts, [(ObligationState::Pending, 3)]);
    oldest.sort();
    let millis = |t: chrono::DateTime<Utc>| t.timestamp_millis();
    let got: Vec<(String, i64)> = oldest.into_iter().map(|(b, t)| (b, millis(t))).collect();
    assert_eq!(
        got,
        [
            (String::new(), millis(other.created_at)),
            ("fulfillment".to_string(), millis(older.created_at)),
        ]
    );
}

// The cases above on SQLite files; `store::postgres` runs them on PostgreSQL.

#[tokio::test]
async fn an_obligation_is_due_after_every_and_survives_a_reopen() {
    let dir = TempDir::new().unwrap();
    an_obligation_is_due_after_every_and_survives_a_reopen_case(&sqlite(&dir)).await;
}

#[tokio::test]
async fn an_obligation_finishes_once_and_is_reported_again_until_observed() {
    let dir = TempDir::new().unwrap();
    an_obligation_finishes_once_and_is_reported_again_until_observed_case(&sqlite(&dir)).await;
}

#[tokio::test]
async fn cleanup_of_a_run_waits_for_its_pending_obligation() {
    let dir = TempDir::new().unwrap();
    cleanup_of_a_run_waits_for_its_pending_obligation_case(&sqlite(&dir)).await;
}

#[tokio::test]
async fn oldest_pending_is_per_backend() {
    let dir = TempDir::new().unwrap();
    oldest_pending_is_per_backend_case(&sqlite(&dir)).await;
}
