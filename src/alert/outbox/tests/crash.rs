//! Crash safety: a child process (this test binary, running the ignored
//! `crash_commit_child` test) commits alert transitions in a loop and reports
//! each one on stdout once `commit` returned; the parent `kill -9`s it
//! mid-stream, reopens the file and checks that every reported transition left
//! both its state and its notification, and that delivery sends each once.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant as StdInstant;

use super::*;

/// Tells the child test where to write; without it the child does nothing.
const CHILD_ENV: &str = "JOURNEYD_OUTBOX_CRASH_CHILD_DB";
/// The child's full test name, for `--exact`.
const CHILD_TEST: &str = "alert::outbox::tests::crash::crash_commit_child";
/// Committed transitions the parent waits for before killing the child.
const KILL_AFTER: usize = 60;

fn journey(k: usize) -> String {
    format!("j{k:05}")
}

#[tokio::test]
#[ignore = "helper process for committed_notifications_survive_kill_9"]
async fn crash_commit_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let db = AlertDb::open(path).unwrap();
    let started = StdInstant::now();
    let mut k = 0;
    // Bounded in case the parent dies before killing us.
    while started.elapsed() < Duration::from_secs(20) {
        let name = journey(k);
        db.commit(&name, &format!("state {k}"), &to("pager", &[firing(&name)]))
            .await
            .unwrap();
        println!("COMMITTED {k}");
        k += 1;
    }
}

#[tokio::test]
async fn committed_notifications_survive_kill_9() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("alerts.db");
    let (mut child, lines) = spawn_child(&path);
    let committed = collect_committed(&mut child, &lines);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "child was killed, not finished: {status}"
    );

    let db = AlertDb::open(&path).unwrap();
    let states = db.load_states().await.unwrap();
    let pending = db.pending().await.unwrap();
    // Both or neither: every state has its notification and the other way round.
    let queued: Vec<String> = pending
        .iter()
        .map(|p| match &p.event {
            AlertEvent::Firing(a) => a.labels["journey"].clone(),
            AlertEvent::Resolved(..) => panic!("unexpected resolve"),
        })
        .collect();
    assert_eq!(
        queued.iter().collect::<BTreeSet<_>>(),
        states.keys().collect::<BTreeSet<_>>()
    );
    for k in &committed {
        assert_eq!(
            states.get(&journey(*k)),
            Some(&format!("state {k}")),
            "state {k} lost"
        );
    }

    let m = metrics();
    let (pager, mut accepted) = Scripted::new("pager", Vec::new());
    let running = Running::start(&db, vec![pager], &m, fast());
    let got = take(&mut accepted, pending.len()).await;
    running.stop().await;
    assert!(accepted.try_recv().is_err(), "a notification came twice");
    let delivered: Vec<String> = got
        .iter()
        .map(|n| match &n.event {
            AlertEvent::Firing(a) => a.labels["journey"].clone(),
            AlertEvent::Resolved(..) => String::new(),
        })
        .collect();
    assert_eq!(delivered, queued, "delivered once each, in commit order");
    for k in &committed {
        assert!(delivered.contains(&journey(*k)), "notification {k} lost");
    }
    assert!(db.pending().await.unwrap().is_empty());
}

/// Starts this test binary as the committing child; its stdout lines arrive on the receiver.
fn spawn_child(path: &Path) -> (Child, std::sync::mpsc::Receiver<String>) {
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

/// Reads confirmed commits until [`KILL_AFTER`], failing (and killing the
/// child) if they do not come within a few seconds.
fn collect_committed(child: &mut Child, lines: &std::sync::mpsc::Receiver<String>) -> Vec<usize> {
    let deadline = StdInstant::now() + Duration::from_secs(10);
    let mut committed = Vec::new();
    while committed.len() < KILL_AFTER {
        let left = deadline.saturating_duration_since(StdInstant::now());
        let Ok(line) = lines.recv_timeout(left) else {
            let _ = child.kill();
            panic!("child confirmed only {} commits in time", committed.len());
        };
        if let Some(k) = line.strip_prefix("COMMITTED ") {
            committed.push(k.parse().unwrap());
        }
    }
    committed
}
