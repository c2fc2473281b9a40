//! The store's test cases, written once against the [`Store`] interface and
//! run on both backends: on SQLite here (temporary files), on PostgreSQL in
//! `store::postgres::tests` (a throw-away cluster). Each case takes the
//! options of a fresh, empty store whose retention keeps every run it writes
//! (except the retention cases, which set their own).

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tempfile::TempDir;

use super::fixtures::sample_run;
use super::{FOREVER, at, millis, options, stored_summary};
use crate::runner::{FailureClass, JourneyRun, Verdict};
use crate::store::{Retention, RunSummary, Store, StoreOptions};

/// `opts` with another retention.
pub(in crate::store) fn with_retention(
    opts: StoreOptions,
    max_age: Duration,
    max_runs: usize,
) -> StoreOptions {
    StoreOptions {
        retention: Retention {
            max_age,
            max_runs_per_journey: max_runs,
            ..Retention::default()
        },
        ..opts
    }
}

async fn count(store: &Store, journey: &str) -> usize {
    store.recent_runs(journey, 100_000).await.unwrap().len()
}

pub(in crate::store) async fn get_run_returns_the_recorded_run_identically_case(
    opts: StoreOptions,
) {
    let store = Store::open(opts).unwrap();
    let run = sample_run("purchase", at(0), Verdict::Fail);
    store.record(&run).await;
    store.flush().await;
    assert_eq!(store.get_run(run.run_id).await.unwrap(), Some(run));
    assert_eq!(store.get_run(uuid::Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(store.queue_depth(), 0);
}

pub(in crate::store) async fn recent_runs_are_newest_first_and_limited_case(opts: StoreOptions) {
    let store = Store::open(opts).unwrap();
    let runs: Vec<JourneyRun> = [3, 0, 4, 1, 2]
        .into_iter()
        .map(|m| {
            sample_run(
                "purchase",
                at(m),
                if m == 4 { Verdict::Fail } else { Verdict::Pass },
            )
        })
        .collect();
    for run in &runs {
        store.record(run).await;
    }
    store
        .record(&sample_run("contract", at(9), Verdict::Pass))
        .await;
    store.flush().await;

    let got = store.recent_runs("purchase", 3).await.unwrap();
    // Minutes 4, 3, 2: indexes 2, 0, 4 in `runs`.
    let want: Vec<RunSummary> = [2, 0, 4]
        .iter()
        .map(|&i| stored_summary(&runs[i]))
        .collect();
    assert_eq!(got, want);
    assert_eq!(got[0].failed_step.as_deref(), Some("ship"));
    assert_eq!(got[0].failure_class, Some(FailureClass::BackendTimeout));
    assert_eq!(store.recent_runs("purchase", 10).await.unwrap().len(), 5);
    assert_eq!(store.recent_runs("contract", 10).await.unwrap().len(), 1);
    assert!(store.recent_runs("unknown", 10).await.unwrap().is_empty());
}

pub(in crate::store) async fn histories_report_the_latest_pass_even_after_failures_case(
    opts: StoreOptions,
) {
    let store = Store::open(opts).unwrap();
    let verdicts = [Verdict::Pass, Verdict::Pass, Verdict::Fail, Verdict::Fail];
    let runs: Vec<JourneyRun> = verdicts
        .iter()
        .enumerate()
        .map(|(m, v)| sample_run("purchase", at(m as i64), *v))
        .collect();
    for run in runs.iter().rev() {
        store.record(run).await;
    }
    store
        .record(&sample_run("contract", at(1), Verdict::Fail))
        .await;
    store.flush().await;

    let h = store.histories(2).await.unwrap();
    assert_eq!(h.keys().collect::<Vec<_>>(), ["contract", "purchase"]);
    let purchase = &h["purchase"];
    assert_eq!(purchase.last_success, Some(millis(at(1))));
    let want: Vec<RunSummary> = [&runs[3], &runs[2]].map(stored_summary).to_vec();
    assert_eq!(purchase.recent, want);
    assert_eq!(h["contract"].last_success, None);
    assert_eq!(h["contract"].recent.len(), 1);
}

/// Keeps the newest `max_runs_per_journey` runs of each journey (`opts`: cap 3).
pub(in crate::store) async fn prunes_beyond_the_cap_keeping_the_newest_case(opts: StoreOptions) {
    let store = Store::open(with_retention(opts, FOREVER, 3)).unwrap();
    store.flush().await;
    for m in [4, 0, 3, 1, 2] {
        store
            .record(&sample_run("purchase", at(m), Verdict::Pass))
            .await;
    }
    for m in 0..2 {
        store
            .record(&sample_run("contract", at(m), Verdict::Pass))
            .await;
    }
    store.flush().await;
    assert_eq!(count(&store, "purchase").await, 5);

    store.prune_now().await;
    let kept: Vec<_> = store.recent_runs("purchase", 10).await.unwrap();
    let starts: Vec<_> = kept.iter().map(|s| s.started_at).collect();
    assert_eq!(starts, [4, 3, 2].map(|m| millis(at(m))));
    assert_eq!(count(&store, "contract").await, 2);
}

/// Runs older than `max_age` go; a journey left without runs leaves the histories.
pub(in crate::store) async fn prunes_older_than_the_maximum_age_case(opts: StoreOptions) {
    let day = Duration::from_secs(24 * 3600);
    let store = Store::open(with_retention(opts, day, 10_000)).unwrap();
    store.flush().await;
    let now = Utc::now();
    let fresh = sample_run("purchase", now - TimeDelta::hours(1), Verdict::Pass);
    for old in [TimeDelta::days(2), TimeDelta::days(40)] {
        store
            .record(&sample_run("purchase", now - old, Verdict::Pass))
            .await;
        store
            .record(&sample_run("contract", now - old, Verdict::Fail))
            .await;
    }
    store.record(&fresh).await;
    store.flush().await;
    assert_eq!(count(&store, "purchase").await, 3);

    store.prune_now().await;
    let kept = store.recent_runs("purchase", 10).await.unwrap();
    assert_eq!(
        kept.iter().map(|s| s.run_id).collect::<Vec<_>>(),
        [fresh.run_id]
    );
    assert!(!store.histories(5).await.unwrap().contains_key("contract"));
}

/// A pass on the writer's cadence checks the cap of journeys written since the
/// last pass only (with a cap of 2, every such journey is due after one run); a
/// full pass (start-up, `prune_now`) checks every journey.
/// `opts` names a database a second store can share: the runs of "contract"
/// go over the cap through that other store, behind the pruning one's back.
pub(in crate::store) async fn cadence_passes_check_only_the_journeys_written_case(
    opts: StoreOptions,
) {
    let pruning = Store::open(StoreOptions {
        prune_every_writes: 3,
        ..with_retention(opts.clone(), FOREVER, 2)
    })
    .unwrap();
    pruning.flush().await;
    let other = Store::open(StoreOptions {
        prune_every_writes: u64::MAX,
        ..with_retention(opts, FOREVER, 100)
    })
    .unwrap();
    for m in 0..4 {
        other
            .record(&sample_run("contract", at(m), Verdict::Pass))
            .await;
    }
    other.flush().await;
    for m in 0..3 {
        pruning
            .record(&sample_run("purchase", at(m), Verdict::Pass))
            .await;
    }
    pruning.flush().await;
    assert_eq!(count(&pruning, "purchase").await, 2, "written: capped");
    assert_eq!(
        count(&pruning, "contract").await,
        4,
        "not written here: left"
    );

    pruning.prune_now().await;
    assert_eq!(count(&pruning, "contract").await, 2, "a full pass caps it");
    other.close().await;
    pruning.close().await;
}

// SQLite.

#[tokio::test]
async fn get_run_returns_the_recorded_run_identically() {
    let dir = TempDir::new().unwrap();
    get_run_returns_the_recorded_run_identically_case(options(&dir)).await;
}

#[tokio::test]
async fn recent_runs_are_newest_first_and_limited() {
    let dir = TempDir::new().unwrap();
    recent_runs_are_newest_first_and_limited_case(options(&dir)).await;
}

#[tokio::test]
async fn histories_report_the_latest_pass_even_after_failures() {
    let dir = TempDir::new().unwrap();
    histories_report_the_latest_pass_even_after_failures_case(options(&dir)).await;
}

#[tokio::test]
async fn prunes_beyond_the_cap_keeping_the_newest() {
    let dir = TempDir::new().unwrap();
    prunes_beyond_the_cap_keeping_the_newest_case(options(&dir)).await;
}

#[tokio::test]
async fn prunes_older_than_the_maximum_age() {
    let dir = TempDir::new().unwrap();
    prunes_older_than_the_maximum_age_case(options(&dir)).await;
}

#[tokio::test]
async fn cadence_passes_check_only_the_journeys_written() {
    let dir = TempDir::new().unwrap();
    cadence_passes_check_only_the_journeys_written_case(options(&dir)).await;
}
