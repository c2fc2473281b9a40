//! Store tests on real SQLite files in temporary directories: round trips,
//! ordering, histories, reopening and refusing files that are not ours.
//! Helpers shared by the other test modules live here.

pub(super) mod cases;
pub(super) mod cleanup;
mod crash;
pub(in crate::store) mod fixtures;
mod full_disk;
pub(super) mod obligation;
mod open;
mod queue;
mod retention;
mod window;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use tempfile::TempDir;
use tokio::sync::oneshot;

use super::writer::Command;
use super::*;
use crate::runner::{JourneyRun, Verdict};
use fixtures::sample_run;

/// A start time with sub-millisecond precision, `minutes` after a fixed instant.
pub(in crate::store) fn at(minutes: i64) -> DateTime<Utc> {
    let base = Utc.timestamp_opt(1_750_000_000, 123_456_789).single();
    base.unwrap_or_default() + TimeDelta::minutes(minutes)
}

/// What the summary columns keep of a start time.
fn millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or_default()
}

/// The summary the store should return for `run`.
fn stored_summary(run: &JourneyRun) -> RunSummary {
    let mut s = run.summary();
    s.started_at = millis(s.started_at);
    s
}

/// Polls `cond` every 50 ms for up to 30 s (the writer retries every 5 s).
async fn eventually(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !cond().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Long enough that `at()` times, fixed in 2025, are never pruned for age.
const FOREVER: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);

/// Defaults, except that no test run is too old to keep.
fn options_at(path: impl Into<std::path::PathBuf>) -> StoreOptions {
    let mut opts = StoreOptions::new(path);
    opts.retention.max_age = FOREVER;
    opts
}

/// The SQLite file of `opts`.
fn file(opts: &StoreOptions) -> &std::path::Path {
    opts.backend
        .sqlite_path(Database::RunHistory)
        .expect("a SQLite store")
}

fn options(dir: &TempDir) -> StoreOptions {
    options_at(dir.path().join("history.db"))
}

/// Blocks the writer until the returned sender is dropped.
async fn pause_writer(store: &Store) -> std::sync::mpsc::Sender<()> {
    let (paused, paused_rx) = oneshot::channel();
    let (resume_tx, resume) = std::sync::mpsc::channel();
    let cmd = Command::Pause { paused, resume };
    assert!(store.inner.queue.send(cmd).await.is_ok());
    paused_rx.await.expect("writer paused");
    resume_tx
}

/// Runs `f` on the writer's connection, in queue order.
async fn with_writer_conn(store: &Store, f: impl FnOnce(&rusqlite::Connection) + Send + 'static) {
    let (done, done_rx) = oneshot::channel();
    let cmd = Command::WithConn(Box::new(f), done);
    assert!(store.inner.queue.send(cmd).await.is_ok());
    done_rx.await.expect("writer ran the closure");
}

#[tokio::test]
async fn reopened_store_keeps_its_runs_and_schema() {
    let dir = TempDir::new().unwrap();
    let opts = options_at(dir.path().join("nested/dirs/history.db"));
    let run = sample_run("purchase", at(0), Verdict::Pass);
    {
        let store = Store::open(opts.clone()).unwrap();
        store.record(&run).await;
        store.flush().await;
    }
    let store = Store::open(opts.clone()).unwrap();
    assert_eq!(store.get_run(run.run_id).await.unwrap(), Some(run));
    store.close().await;

    let conn = rusqlite::Connection::open(file(&opts)).unwrap();
    let pragma = |name: &str| -> String {
        conn.pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| format!("{v:?}"))
            .unwrap()
    };
    assert_eq!(pragma("user_version"), format!("Integer({SCHEMA_VERSION})"));
    assert_eq!(pragma("journal_mode"), "Text(\"wal\")");
    let plan: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT run_id FROM runs WHERE journey = 'x' \
             ORDER BY started_at DESC LIMIT 5",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("runs_journey_started"), "{plan}");
}

#[tokio::test]
async fn garbage_file_is_refused_with_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let opts = options(&dir);
    std::fs::write(file(&opts), "journey: purchase\n".repeat(500)).unwrap();
    let err = Store::open(opts.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::Corrupt {
                database: Database::RunHistory,
                damage: Damage::NotADatabase,
                ..
            }
        ),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(err.starts_with(&file(&opts).display().to_string()), "{err}");
    assert!(err.contains("not a SQLite database"), "{err}");
    assert!(err.contains("move the file aside"), "{err}");
    // Refusing must not have touched the file.
    assert_eq!(std::fs::read(file(&opts)).unwrap().len(), 18 * 500);
}

#[tokio::test]
async fn newer_schema_version_is_refused() {
    let dir = TempDir::new().unwrap();
    let opts = options(&dir);
    Store::open(opts.clone()).unwrap().close().await;
    let conn = rusqlite::Connection::open(file(&opts)).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = Store::open(opts.clone()).unwrap_err();
    assert!(
        matches!(err, OpenError::TooNew { found, known, .. }
            if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(err.starts_with(&file(&opts).display().to_string()), "{err}");
    assert!(err.contains("newer journeyd"), "{err}");
    assert!(err.contains("Upgrade journeyd"), "{err}");
}

#[tokio::test]
async fn another_programs_database_is_refused() {
    let dir = TempDir::new().unwrap();
    let opts = options(&dir);
    let conn = rusqlite::Connection::open(file(&opts)).unwrap();
    conn.execute_batch("CREATE TABLE runs (id INTEGER)")
        .unwrap();
    drop(conn);
    let err = Store::open(opts).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::NotOurs {
                application_id: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("not journeyd's run history"),
        "{err}"
    );
}
