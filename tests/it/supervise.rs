//! A dead task must not pass for a healthy daemon (issue 12, defect 4): a panic
//! in the scheduler, a run task or the alert engine is logged at once and stops
//! the daemon with a non-zero status, so systemd restarts it.
//!
//! The panic comes from the debug-only `JOURNEYD_DEBUG_PANIC` hook.

use std::time::Duration;

use crate::util::daemon::{CONFIG, TestDaemon};

async fn panics_and_exits_non_zero(task: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journeys")).unwrap();
    std::fs::write(
        dir.path().join("journeys/closed.yaml"),
        "name: closed\ninterval: 1s\nsteps:\n  - name: home\n    request: { url: \"http://127.0.0.1:9/\" }\n",
    )
    .unwrap();
    let env = [
        ("JOURNEYD_SECRET_ADMIN_TOKEN", "t0ken"),
        ("JOURNEYD_DEBUG_PANIC", task),
    ];
    let mut d = TestDaemon::start(dir.path(), CONFIG, &env).await;
    let status = d.wait_exit(Duration::from_secs(30)).await;
    let logs = d.logs();
    assert!(!status.success(), "{task}: exited {status}\n{logs}");
    let line = logs
        .lines()
        .find(|l| l.contains("A task panicked"))
        .unwrap_or_else(|| panic!("{task}: no panic line\n{logs}"));
    assert!(
        line.contains(&format!("JOURNEYD_DEBUG_PANIC={task}")),
        "{line}"
    );
    assert!(
        logs.contains("journeyd stopped because a task panicked"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_panic_in_the_scheduler_stops_the_daemon_with_an_error() {
    panics_and_exits_non_zero("scheduler").await;
}

#[tokio::test]
async fn a_panic_in_a_run_task_stops_the_daemon_with_an_error() {
    panics_and_exits_non_zero("run").await;
}

#[tokio::test]
async fn a_panic_in_the_alert_engine_stops_the_daemon_with_an_error() {
    panics_and_exits_non_zero("alerting").await;
}
