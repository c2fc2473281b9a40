//! Retention: by count per journey, by age, in batches, and on the writer's own cadence.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tempfile::TempDir;

use super::fixtures::sample_run;
use super::{FOREVER, at, millis, options};
use crate::runner::Verdict;
use crate::store::prune::BATCH;
use crate::store::{Retention, Store, StoreOptions};

fn with_retention(dir: &TempDir, max_age: Duration, max_runs: usize) -> StoreOptions {
    StoreOptions {
        retention: Retention {
            max_age,
            max_runs_per_journey: max_runs,
            ..Retention::default()
        },
        ..options(dir)
    }
}

async fn count(store: &Store, journey: &str) -> usize {
    store.recent_runs(journey, 100_000).await.unwrap().len()
}

#[tokio::test]
async fn prunes_runs_beyond_the_per_journey_cap_keeping_the_newest() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(with_retention(&dir, FOREVER, 3)).unwrap();
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

#[tokio::test]
async fn prunes_runs_older_than_the_maximum_age() {
    let dir = TempDir::new().unwrap();
    let day = Duration::from_secs(24 * 3600);
    let store = Store::open(with_retention(&dir, day, 10_000)).unwrap();
    // Let the start-up pass end first, or it would prune what we write next.
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

#[tokio::test]
async fn prunes_backlogs_larger_than_one_batch() {
    let dir = TempDir::new().unwrap();
    let keep = 10;
    let total = 2 * BATCH as usize + 50 + keep;
    let store = Store::open(StoreOptions {
        prune_every_writes: u64::MAX,
        ..with_retention(&dir, FOREVER, keep)
    })
    .unwrap();
    for m in 0..total {
        store
            .record(&sample_run("purchase", at(m as i64), Verdict::Pass))
            .await;
    }
    store.flush().await;
    assert_eq!(count(&store, "purchase").await, total);
    store.prune_now().await;
    let kept = store.recent_runs("purchase", total).await.unwrap();
    assert_eq!(kept.len(), keep);
    assert_eq!(kept[0].started_at, millis(at(total as i64 - 1)));
}

#[tokio::test]
async fn writer_prunes_on_its_own_after_every_n_writes() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(StoreOptions {
        prune_every_writes: 5,
        ..with_retention(&dir, FOREVER, 3)
    })
    .unwrap();
    for m in 0..4 {
        store
            .record(&sample_run("purchase", at(m), Verdict::Pass))
            .await;
    }
    store.flush().await;
    assert_eq!(
        count(&store, "purchase").await,
        4,
        "no pass before the 5th write"
    );
    store
        .record(&sample_run("purchase", at(4), Verdict::Pass))
        .await;
    store.flush().await;
    assert_eq!(count(&store, "purchase").await, 3);
}

#[tokio::test]
async fn writer_prunes_at_start_up() {
    let dir = TempDir::new().unwrap();
    let opts = with_retention(&dir, FOREVER, 2);
    {
        let store = Store::open(StoreOptions {
            retention: Retention {
                max_runs_per_journey: 100,
                ..opts.retention
            },
            ..opts.clone()
        })
        .unwrap();
        for m in 0..4 {
            store
                .record(&sample_run("purchase", at(m), Verdict::Pass))
                .await;
        }
        store.close().await;
    }
    let store = Store::open(opts).unwrap();
    store.flush().await;
    assert_eq!(count(&store, "purchase").await, 2);
}

#[tokio::test]
async fn cadence_passes_check_a_journey_once_a_hundredth_of_its_cap_is_written() {
    let dir = TempDir::new().unwrap();
    // Cap 200: checked every 2 runs, with a pass after every write.
    let store = Store::open(StoreOptions {
        prune_every_writes: 1,
        ..with_retention(&dir, FOREVER, 200)
    })
    .unwrap();
    for m in 0..201 {
        store
            .record(&sample_run("purchase", at(m), Verdict::Pass))
            .await;
        store.flush().await;
    }
    assert_eq!(
        count(&store, "purchase").await,
        201,
        "1 % over: not yet checked"
    );
    store
        .record(&sample_run("purchase", at(201), Verdict::Pass))
        .await;
    store.flush().await;
    let kept = store.recent_runs("purchase", 1000).await.unwrap();
    assert_eq!(kept.len(), 200);
    assert_eq!(kept[199].started_at, millis(at(2)), "the oldest two went");
}
