//! The run history on a full disk (issue 12, defects 5 and 6): every lost run
//! is counted as `write_failed` and reported, a start on a full disk runs
//! without the database instead of failing, and the database opens by itself
//! when space returns. Real full file systems (a small tmpfs) where it
//! matters; `max_page_count` where a SQLite-level `SQLITE_FULL` is enough.

use std::sync::{Arc, Mutex};

use tempfile::TempDir;

use super::fixtures::sample_run;
use super::{at, eventually, options, options_at, with_writer_conn};
use crate::runner::Verdict;
use crate::store::testutil::Tmpfs;
use crate::store::{OnLost, OpenError, Store, StoreOptions};

/// `(journey, run id)` of every lost run, in order.
type LostLog = Arc<Mutex<Vec<(String, uuid::Uuid)>>>;

/// Records every lost run.
fn lost_log() -> (OnLost, LostLog) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let to = Arc::clone(&log);
    let hook = OnLost::new(move |journey, id| to.lock().unwrap().push((journey.to_string(), id)));
    (hook, log)
}

#[tokio::test]
async fn a_failed_write_is_counted_as_write_failed_and_reported() {
    let dir = TempDir::new().unwrap();
    let (hook, lost) = lost_log();
    let store = Store::open(StoreOptions {
        on_lost: Some(hook),
        ..options(&dir)
    })
    .unwrap();
    store
        .record(&sample_run("purchase", at(0), Verdict::Pass))
        .await;
    with_writer_conn(&store, |conn| {
        let pages: i64 = conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "max_page_count", pages).unwrap();
    })
    .await;
    let mut big = sample_run("purchase", at(1), Verdict::Fail);
    big.captures.insert("blob".into(), "x".repeat(64 * 1024));
    store.record(&big).await;
    store.flush().await;
    let status = store.status();
    assert_eq!(
        (status.dropped_queue_full, status.write_failed, status.up),
        (0, 1, false)
    );
    assert_eq!(
        *lost.lock().unwrap(),
        [("purchase".to_string(), big.run_id)]
    );
}

#[tokio::test]
async fn a_full_disk_at_open_is_reported_as_disk_full() {
    let fs = Tmpfs::mount("4m");
    let path = fs.path().join("journeyd.db");
    Store::open(options_at(&path)).unwrap().close().await;
    fs.fill();
    let err = Store::open(options_at(&path)).unwrap_err();
    assert!(matches!(err, OpenError::DiskFull { .. }), "{err:?}");
    assert!(err.to_string().contains("disk is full"), "{err}");
}

#[tokio::test]
async fn start_on_a_full_disk_runs_without_the_history_and_recovers() {
    let fs = Tmpfs::mount("4m");
    let path = fs.path().join("journeyd.db");
    let before = sample_run("purchase", at(0), Verdict::Pass);
    let store = Store::open(options_at(&path)).unwrap();
    store.record(&before).await;
    store.close().await;
    fs.fill();

    let (hook, lost) = lost_log();
    let store = Store::start(StoreOptions {
        on_lost: Some(hook),
        ..options_at(&path)
    })
    .unwrap();
    assert!(!store.is_up());
    let during = sample_run("purchase", at(1), Verdict::Fail);
    store.record(&during).await;
    store.flush().await;
    assert_eq!(store.status().write_failed, 1);
    assert_eq!(
        *lost.lock().unwrap(),
        [("purchase".to_string(), during.run_id)]
    );

    fs.free();
    eventually("the history reopens", async || store.is_up()).await;
    let after = sample_run("purchase", at(2), Verdict::Pass);
    store.record(&after).await;
    store.flush().await;
    assert!(store.get_run(after.run_id).await.unwrap().is_some());
    assert!(store.get_run(before.run_id).await.unwrap().is_some());
    assert_eq!(store.status().write_failed, 1);
}

#[tokio::test]
async fn start_on_a_full_disk_creates_the_history_when_space_returns() {
    let fs = Tmpfs::mount("2m");
    fs.fill();
    let path = fs.path().join("state").join("journeyd.db");
    let store = Store::start(options_at(&path)).unwrap();
    assert!(!store.is_up());
    fs.free();
    let run = sample_run("purchase", at(0), Verdict::Pass);
    eventually("the history is created", async || {
        store.record(&run).await;
        store.flush().await;
        store.is_up()
    })
    .await;
    assert!(store.get_run(run.run_id).await.unwrap().is_some());
}

#[tokio::test]
async fn start_still_refuses_a_file_that_is_not_a_database() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("journeyd.db");
    std::fs::write(
        &path,
        "not a database, long enough to have a header ........",
    )
    .unwrap();
    let err = Store::start(options_at(&path)).unwrap_err();
    assert!(matches!(err, OpenError::Corrupt { .. }), "{err:?}");
}
