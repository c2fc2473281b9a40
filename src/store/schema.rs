//! Opening the database file: connection settings, identity checks and schema
//! migrations.
//!
//! The schema version lives in `PRAGMA user_version`. Each migration runs in
//! one `BEGIN IMMEDIATE` transaction together with the version bump, so a crash
//! mid-migration leaves the previous version intact and the next start retries
//! it. Later features (alert state, notification outbox) append migrations to
//! [`MIGRATIONS`]; existing entries are never edited once released.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use super::StoreError;

/// Marks the file as journeyd's (`PRAGMA application_id`), so another
/// program's SQLite file is refused instead of being written into. "JRNY".
const APPLICATION_ID: i32 = 0x4A52_4E59;

/// How long a statement waits for a lock held by another connection (a
/// checkpoint, a second process inspecting the file) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes of WAL kept after a checkpoint.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Migrations in order; entry `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: run history. `started_at` is Unix milliseconds so ordering and
    // retention are integer comparisons; `run_json` keeps the full run.
    "CREATE TABLE runs (
        run_id           TEXT PRIMARY KEY NOT NULL,
        journey          TEXT NOT NULL,
        started_at       INTEGER NOT NULL,
        duration_seconds REAL NOT NULL,
        verdict          TEXT NOT NULL CHECK (verdict IN ('pass', 'fail')),
        degraded         INTEGER NOT NULL,
        failed_step      TEXT,
        failed_backend   TEXT,
        failure_class    TEXT,
        failure_message  TEXT,
        run_json         TEXT NOT NULL
    );
    CREATE INDEX runs_journey_started ON runs (journey, started_at DESC);
    -- Age-based retention scans by start time across journeys.
    CREATE INDEX runs_started ON runs (started_at);",
];

/// The schema version this build writes.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens the read-write connection used by the writer thread: creates the
/// file (and its directory), checks it is ours, applies settings and migrations.
pub(super) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError(format!(
                "{}: cannot create the directory for the run history: {e}",
                dir.display()
            ))
        })?;
    }
    let mut conn = Connection::open(path).map_err(|e| open_error(path, &e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, &e))?;
    // Identity first: switching another program's file to WAL would already change it.
    check_identity(&conn, path)?;
    configure_writer(&conn).map_err(|e| open_error(path, &e))?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Opens a read-only connection for queries. The writer has already created
/// and migrated the file, so this never changes it.
pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, &e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, &e))?;
    Ok(conn)
}

/// Connection settings for the writer.
///
/// WAL lets readers run while the writer commits. With WAL,
/// `synchronous=NORMAL` syncs only at checkpoints, not at every commit: a
/// process crash (`kill -9`, OOM, panic) loses nothing that was committed,
/// because committed frames are already in the OS page cache; a power loss or
/// kernel crash can lose the last few committed transactions, but never
/// corrupts the file. `FULL` would fsync every run, which buys little for
/// history that the next run re-creates anyway.
fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // In-memory or unusual VFS: still correct, just without concurrent reads.
        tracing::warn!(journal_mode = %mode, "SQLite refused WAL mode; reads will wait for writes.");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // After a burst (or a large prune) the WAL is truncated back to this size
    // at the next checkpoint instead of keeping its high-water mark for months.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Refuses files that belong to another program or to a newer journeyd.
fn check_identity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let read = |pragma: &str| -> Result<i64, StoreError> {
        conn.pragma_query_value(None, pragma, |r| r.get(0))
            .map_err(|e| open_error(path, &e))
    };
    let app_id = read("application_id")?;
    let version = read("user_version")?;
    let foreign_tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| open_error(path, &e))?;
    // A fresh file has neither an application id nor tables; anything else
    // without our id belongs to someone else.
    let fresh = app_id == 0 && version == 0 && foreign_tables == 0;
    if app_id != i64::from(APPLICATION_ID) && !fresh {
        return Err(StoreError(format!(
            "{}: is a SQLite database, but not journeyd's run history \
             (application_id {app_id}); point the store at another path",
            path.display()
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError(format!(
            "{}: the run history has schema version {version}, written by a newer journeyd; \
             this build knows up to version {SCHEMA_VERSION}. Upgrade journeyd, or move \
             the file aside to start an empty history",
            path.display()
        )));
    }
    Ok(())
}

/// Applies every migration above the file's version, each in its own transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    apply_migrations(conn, path, "run history", MIGRATIONS, APPLICATION_ID)
}

/// Applies `migrations[user_version..]`, each with its version bump and the file's
/// `application_id` in one transaction. Shared by every SQLite file journeyd owns.
pub(crate) fn apply_migrations(
    conn: &mut Connection,
    path: &Path,
    what: &str,
    migrations: &[&str],
    application_id: i32,
) -> Result<(), StoreError> {
    let fail = |e: rusqlite::Error| {
        StoreError(format!(
            "{}: {what} schema migration failed: {e}",
            path.display()
        ))
    };
    loop {
        // IMMEDIATE takes the write lock before reading the version, so two
        // processes opening the same new file cannot both apply a migration.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(fail)?;
        let Some(sql) = usize::try_from(version)
            .ok()
            .and_then(|v| migrations.get(v))
        else {
            return Ok(());
        };
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "application_id", application_id)
            .map_err(fail)?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(path = %path.display(), version = version + 1, "{what} schema migrated.");
    }
}

/// Turns an open-time SQLite error into a message that says what to do.
fn open_error(path: &Path, err: &rusqlite::Error) -> StoreError {
    let path = path.display();
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError(format!(
            "{path}: not a SQLite database ({err}); move the file aside or point the store \
             at another path"
        )),
        Some(ErrorCode::DatabaseCorrupt) => StoreError(format!(
            "{path}: the run history is corrupt ({err}); move the file aside (keep it for \
             recovery with `sqlite3 .recover`) to start an empty history"
        )),
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            StoreError(format!(
                "{path}: cannot open the run history for writing ({err}); check the path and \
                 that the service user owns it and its directory"
            ))
        }
        _ => StoreError(format!("{path}: cannot open the run history: {err}")),
    }
}
