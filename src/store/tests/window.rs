//! The commit window: passes share a transaction with the runs that follow them
//! within [`crate::store::PASS_WINDOW`]; a failure, a flush, a read or the end
//! of the window commits at once.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tempfile::TempDir;

use super::fixtures::sample_run;
use super::{at, eventually, options};
use crate::runner::Verdict;
use crate::store::{Store, StoreOptions};

/// A window no test outlives: only a failure, a flush or a full batch ends it.
const HOUR: Duration = Duration::from_secs(3600);

fn store_with_window(dir: &TempDir, pass_window: Duration) -> Store {
    Store::open(StoreOptions {
        pass_window,
        ..options(dir)
    })
    .unwrap()
}

/// Waits until the writer has taken `n` runs from its queue.
async fn taken(store: &Store, n: u64) {
    let counters = &store.inner.counters;
    eventually("the writer takes the run", async || {
        counters.taken.load(Ordering::Relaxed) >= n
    })
    .await;
}

#[tokio::test]
async fn passes_wait_in_the_window_and_a_failure_commits_them_with_it() {
    let dir = TempDir::new().unwrap();
    let store = store_with_window(&dir, HOUR);
    let passes: Vec<_> = (0..3)
        .map(|m| sample_run("purchase", at(m), Verdict::Pass))
        .collect();
    for (n, run) in (1..).zip(&passes) {
        store.record(run).await;
        // Taken one at a time: without the window each would be its own commit.
        taken(&store, n).await;
    }
    // Watched through the counters: a read would commit the window itself.
    let commits = || store.inner.counters.commits.load(Ordering::Relaxed);
    assert_eq!(commits(), 0, "a pass was committed before the window ended");
    let failure = sample_run("purchase", at(3), Verdict::Fail);
    store.record(&failure).await;
    eventually(
        "the failure and the passes before it are committed",
        async || store.queue_depth() == 0,
    )
    .await;
    assert_eq!(commits(), 1);
    assert_eq!(store.recent_runs("purchase", 10).await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_failure_is_committed_at_once() {
    let dir = TempDir::new().unwrap();
    let store = store_with_window(&dir, HOUR);
    let failure = sample_run("purchase", at(0), Verdict::Fail);
    store.record(&failure).await;
    eventually("the failure is committed", async || {
        store.get_run(failure.run_id).await.unwrap().is_some()
    })
    .await;
}

#[tokio::test]
async fn a_pass_alone_is_committed_when_the_window_ends() {
    let dir = TempDir::new().unwrap();
    let store = store_with_window(&dir, Duration::from_millis(100));
    let pass = sample_run("purchase", at(0), Verdict::Pass);
    store.record(&pass).await;
    eventually("the pass is committed", async || {
        store.get_run(pass.run_id).await.unwrap().is_some()
    })
    .await;
}

#[tokio::test]
async fn a_flush_commits_the_passes_in_the_window() {
    let dir = TempDir::new().unwrap();
    let store = store_with_window(&dir, HOUR);
    let pass = sample_run("purchase", at(0), Verdict::Pass);
    store.record(&pass).await;
    taken(&store, 1).await;
    store.flush().await;
    assert!(store.get_run(pass.run_id).await.unwrap().is_some());
}

#[tokio::test]
async fn closing_the_store_commits_the_passes_in_the_window() {
    let dir = TempDir::new().unwrap();
    let pass = sample_run("purchase", at(0), Verdict::Pass);
    {
        let store = store_with_window(&dir, HOUR);
        store.record(&pass).await;
        taken(&store, 1).await;
        store.close().await;
    }
    let store = Store::open(options(&dir)).unwrap();
    assert!(store.get_run(pass.run_id).await.unwrap().is_some());
}

#[tokio::test]
async fn a_read_commits_the_passes_in_the_window_first() {
    let dir = TempDir::new().unwrap();
    let store = store_with_window(&dir, HOUR);
    let pass = sample_run("purchase", at(0), Verdict::Pass);
    store.record(&pass).await;
    taken(&store, 1).await;
    // What the API and the status page read: the pass is there at once.
    assert!(store.get_run(pass.run_id).await.unwrap().is_some());
    let later = sample_run("purchase", at(1), Verdict::Pass);
    store.record(&later).await;
    assert_eq!(store.recent_runs("purchase", 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_full_window_is_committed_at_once() {
    let dir = TempDir::new().unwrap();
    let store = store_with_window(&dir, HOUR);
    // The first opens the window, a full batch joins it, the next finds it full.
    let n = crate::store::window::WINDOW_ROWS + 2;
    for m in 0..n {
        let minute = i64::try_from(m).unwrap();
        store
            .record(&sample_run("purchase", at(minute), Verdict::Pass))
            .await;
    }
    eventually("a full window is committed", async || {
        store.queue_depth() == 0
    })
    .await;
    assert_eq!(store.recent_runs("purchase", 1000).await.unwrap().len(), n);
}
