//! Crash safety: a child process (this test binary, running the ignored
//! `crash_writer_child` test) writes runs in a loop and reports each flushed
//! batch on stdout; the parent `kill -9`s it mid-stream, then checks the file
//! is intact and holds every run whose flush was confirmed.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::fixtures::sample_run;
use super::{at, options_at};
use crate::runner::Verdict;
use crate::store::Store;

/// Tells the child test where to write; without it the child does nothing.
const CHILD_ENV: &str = "JOURNEYD_STORE_CRASH_CHILD_DB";
/// The child's full test name, for `--exact`.
const CHILD_TEST: &str = "store::tests::crash::crash_writer_child";
/// Flushed runs the parent waits for before killing the child.
const KILL_AFTER: usize = 1500;

#[tokio::test]
#[ignore = "helper process for flushed_runs_survive_kill_9"]
async fn crash_writer_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
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
    let (mut child, lines) = spawn_child(&path);
    let flushed = collect_flushed(&mut child, &lines);
    // SIGKILL while the child is still recording the next batches.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "child was killed, not finished: {status}"
    );

    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);

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

/// Starts this test binary as the writer child; its stdout lines arrive on the receiver.
fn spawn_child(path: &Path) -> (Child, Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--ignored", "--nocapture"])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, lines)
}

/// Reads confirmed run ids until [`KILL_AFTER`], failing (and killing the
/// child) if they do not come within a few seconds.
fn collect_flushed(child: &mut Child, lines: &Receiver<String>) -> Vec<uuid::Uuid> {
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut flushed = Vec::new();
    while flushed.len() < KILL_AFTER {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = lines.recv_timeout(left) else {
            let _ = child.kill();
            panic!(
                "child confirmed only {} flushed runs in time",
                flushed.len()
            );
        };
        if let Some(ids) = line.strip_prefix("FLUSHED ") {
            flushed.extend(ids.split(' ').map(|id| id.parse::<uuid::Uuid>().unwrap()));
        }
    }
    flushed
}
