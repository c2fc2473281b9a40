//! The write queue under pressure: a full queue drops runs after a bounded
//! wait, and a failing disk is counted without stopping the writer.

use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::fixtures::sample_run;
use super::{at, options, pause_writer, with_writer_conn};
use crate::runner::Verdict;
use crate::store::{RECORD_WAIT, Store, StoreOptions};

#[tokio::test]
async fn record_drops_the_run_when_the_queue_stays_full() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(StoreOptions {
        queue_capacity: 1,
        ..options(&dir)
    })
    .unwrap();
    let resume = pause_writer(&store).await;
    let kept = sample_run("purchase", at(0), Verdict::Pass);
    let dropped = sample_run("purchase", at(1), Verdict::Pass);

    let t = Instant::now();
    store.record(&kept).await;
    assert!(t.elapsed() < Duration::from_millis(500), "queue had room");
    assert_eq!((store.queue_depth(), store.dropped_total()), (1, 0));

    let t = Instant::now();
    store.record(&dropped).await;
    let waited = t.elapsed();
    assert!(waited >= RECORD_WAIT, "returned after {waited:?}");
    assert!(waited < RECORD_WAIT * 3, "returned after {waited:?}");
    assert_eq!((store.queue_depth(), store.dropped_total()), (1, 1));

    drop(resume);
    store.flush().await;
    assert_eq!(store.queue_depth(), 0);
    assert!(store.get_run(kept.run_id).await.unwrap().is_some());
    assert!(store.get_run(dropped.run_id).await.unwrap().is_none());
}

#[tokio::test]
async fn record_waits_for_space_instead_of_dropping() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(StoreOptions {
        queue_capacity: 1,
        ..options(&dir)
    })
    .unwrap();
    let runs: Vec<_> = (0..50)
        .map(|m| sample_run("purchase", at(m), Verdict::Pass))
        .collect();
    for run in &runs {
        store.record(run).await;
    }
    store.flush().await;
    assert_eq!(store.dropped_total(), 0);
    assert_eq!(store.recent_runs("purchase", 100).await.unwrap().len(), 50);
}

#[tokio::test]
async fn write_errors_are_counted_and_the_writer_survives() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(options(&dir)).unwrap();
    store
        .record(&sample_run("purchase", at(0), Verdict::Pass))
        .await;
    // Simulate a full disk: the file may not grow past its current size.
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
    assert_eq!(store.write_errors_total(), 1);
    assert_eq!(store.queue_depth(), 0);
    assert!(store.get_run(big.run_id).await.unwrap().is_none());

    // Space comes back: the same writer carries on.
    with_writer_conn(&store, |conn| {
        conn.pragma_update(None, "max_page_count", 1_000_000_000)
            .unwrap();
    })
    .await;
    store.record(&big).await;
    store.flush().await;
    assert_eq!(store.write_errors_total(), 1);
    assert!(store.get_run(big.run_id).await.unwrap().is_some());
}

#[tokio::test]
async fn dropping_the_last_handle_lets_the_writer_drain_the_queue() {
    let dir = TempDir::new().unwrap();
    let opts = options(&dir);
    let store = Store::open(opts.clone()).unwrap();
    let resume = pause_writer(&store).await;
    let runs: Vec<_> = (0..3)
        .map(|m| sample_run("purchase", at(m), Verdict::Pass))
        .collect();
    for run in &runs {
        store.record(run).await;
    }
    // What dropping the last handle does, keeping the thread to wait on it.
    let Ok(inner) = std::sync::Arc::try_unwrap(store.inner) else {
        panic!("the test holds the only handle");
    };
    let crate::store::Inner {
        queue,
        writer: crate::store::WriterHandle::Thread(writer),
        ..
    } = inner
    else {
        panic!("a SQLite store has a writer thread");
    };
    drop(queue);
    drop(resume);
    tokio::task::spawn_blocking(move || writer.join().unwrap())
        .await
        .unwrap();

    let store = Store::open(opts).unwrap();
    for run in &runs {
        assert!(store.get_run(run.run_id).await.unwrap().is_some());
    }
}

/// Runs queued while the writer was busy go in one transaction (group
/// commit); a flush queued behind them still waits for all of them, and a
/// repeated run id keeps its first copy inside a batch too.
#[tokio::test]
async fn runs_queued_behind_a_busy_writer_are_stored_together_and_a_flush_waits_for_them() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(options(&dir)).unwrap();
    let resume = pause_writer(&store).await;
    let runs: Vec<_> = (0..10)
        .map(|m| sample_run("purchase", at(m), Verdict::Pass))
        .collect();
    for run in &runs {
        store.record(run).await;
    }
    let mut again = sample_run("purchase", at(99), Verdict::Fail);
    again.run_id = runs[0].run_id;
    store.record(&again).await;
    assert_eq!(store.queue_depth(), 11);
    drop(resume);
    store.flush().await;
    assert_eq!((store.queue_depth(), store.write_errors_total()), (0, 0));
    for run in &runs {
        let stored = store.get_run(run.run_id).await.unwrap().expect("stored");
        assert_eq!(stored.verdict, Verdict::Pass, "the first copy is kept");
    }
}
