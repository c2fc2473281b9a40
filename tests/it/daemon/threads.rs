//! The runs' own runtime: its worker threads (`journeyd-runs`), sized by
//! `JOURNEYD_RUN_THREADS`, and a clear refusal of a bad value.

use super::*;

/// Threads of process `pid` named `name` (`/proc/PID/task/*/comm`).
fn threads_named(pid: u32, name: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn journeys_run_on_the_workers_journeyd_run_threads_asks_for() {
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &ALL, "2s");
    let mut env = daemon_env(&demo, DEMO_PASSWORD, ADMIN_TOKEN);
    env.push(("JOURNEYD_RUN_THREADS".into(), "3".into()));
    let d = TestDaemon::start(dir.path(), CONFIG, &env).await;
    wait_states(&d, &ALL, "passing").await;
    // The runtime's workers, and any blocking thread it started, carry the name.
    let runs = threads_named(d.pid(), "journeyd-runs");
    assert!(runs >= 3, "{runs} threads named journeyd-runs");
    // The main runtime's workers are still there for the server.
    assert!(threads_named(d.pid(), "tokio-rt-worker") >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_journeyd_run_threads_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("journeyd.yaml");
    std::fs::write(
        &config,
        "listen: 127.0.0.1:0\njourneys: [home.yaml]\nstate_dir: state\n",
    )
    .unwrap();
    // Valid, so the variable is the only problem; it never runs (the start fails first).
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", target.local_addr().unwrap());
    std::fs::write(
        dir.path().join("home.yaml"),
        format!(
            "name: home\ninterval: 1h\nsteps:\n  - name: home\n    request: {{ url: \"{url}\" }}\n"
        ),
    )
    .unwrap();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_journeyd"))
        .current_dir(dir.path())
        .args(["run", "--config"])
        .arg(&config)
        .env("JOURNEYD_RUN_THREADS", "0")
        .env_remove("NOTIFY_SOCKET")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("journeyd started with JOURNEYD_RUN_THREADS=0")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("JOURNEYD_RUN_THREADS must be a whole number from 1 to 64, not `0`"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("state").exists(),
        "state opened before the check"
    );
}
