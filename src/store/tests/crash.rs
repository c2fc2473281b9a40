//! Crash safety: a child process (this test binary, running the ignored
//! `crash_writer_child` test through [`crate::store::testutil`]) writes runs
//! in a loop and reports each flushed batch on stdout; the parent `kill -9`s
//! it mid-stream, then checks the file is intact and holds every run whose
//! flush was confirmed.

use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::fixtures::sample_run;
use super::{at, options_at};
use crate::runner::Verdict;
use crate::store::Store;
use crate::store::testutil::{CrashChild, assert_intact, child_path};

/// The child's full test name, for `--exact`.
const CHILD_TEST: &str = "store::tests::crash::crash_writer_child";
/// Flushed runs the parent waits for before killing the child.
const KILL_AFTER: usize = 1500;

#[tokio::test]
#[ignore = "helper process for flushed_runs_survive_kill_9"]
async fn crash_writer_child() {
    let Some(path) = child_path() else {
        return;
    };
    let store = Store::open(options_at(path)).unwrap();
    let started = Instant::now();
    let mut minute = 0;
    // Bounded in case the parent dies before killing us.
    while started.elapsed() < Duration::from_secs(20) {
        let mut ids = Vec::new();
        for _ in 0..25 {
            let mut run = sample_run("purchase", at(minute), Verdict::Fail);
            // Big enough rows that the WAL fills and checkpoints during the test.
            run.captures.insert("pad".into(), "x".repeat(2048));
            store.record(&run).await;
            ids.push(run.run_id.to_string());
            minute += 1;
        }
        store.flush().await;
        println!("FLUSHED {}", ids.join(" "));
    }
}

#[tokio::test]
async fn flushed_runs_survive_kill_9() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("history.db");
    let mut child = CrashChild::spawn(CHILD_TEST, &path);
    let flushed = child.collect("FLUSHED ", KILL_AFTER, Duration::from_secs(4), |ids| {
        ids.split(' ')
            .map(|id| id.parse::<uuid::Uuid>().unwrap())
            .collect()
    });
    // SIGKILL while the child is still recording the next batches.
    child.kill_9();
    assert_intact(&path);

    let store = Store::open(options_at(&path)).unwrap();
    for id in &flushed {
        assert!(
            store.get_run(*id).await.unwrap().is_some(),
            "flushed run {id} lost"
        );
    }
    let stored = store.recent_runs("purchase", 100_000).await.unwrap().len();
    assert!(stored >= flushed.len(), "{stored} < {}", flushed.len());
}
