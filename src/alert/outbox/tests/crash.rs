//! Crash safety: a child process (this test binary, running the ignored
//! `crash_commit_child` test through [`crate::store::testutil`]) commits alert transitions in a loop and reports
//! each one on stdout once `commit` returned; the parent `kill -9`s it
//! mid-stream, reopens the file and checks that every reported transition left
//! both its state and its notification, and that delivery sends each once.

use std::collections::BTreeSet;
use std::time::Instant as StdInstant;

use super::*;
use crate::store::testutil::{CrashChild, assert_intact, child_path};

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
    let Some(path) = child_path() else {
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
    let mut child = CrashChild::spawn(CHILD_TEST, &path);
    let committed: Vec<usize> =
        child.collect("COMMITTED ", KILL_AFTER, Duration::from_secs(10), |k| {
            vec![k.parse().unwrap()]
        });
    child.kill_9();
    assert_intact(&path);

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
