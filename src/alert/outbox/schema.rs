//! Opening `alerts.db`: connection settings, identity checks and schema
//! migrations, following the run history's conventions (`store::schema`):
//! the version lives in `PRAGMA user_version` and each migration runs in one
//! `BEGIN IMMEDIATE` transaction together with the version bump.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

use crate::store::StoreError;

/// Marks the file as journeyd's alert database (`PRAGMA application_id`),
/// distinct from the run history's, so neither file is mistaken for the other. "JRNA".
const APPLICATION_ID: i32 = 0x4A52_4E41;

/// How long a statement waits for a lock held by another connection (a
/// checkpoint, `sqlite3` inspecting the file) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Migrations in order; entry `i` brings the schema from version `i` to `i + 1`.
/// Existing entries are never edited once released.
const MIGRATIONS: &[&str] = &[
    // 1: alert state per journey, the outbox, silences.
    "CREATE TABLE journey_state (
        journey    TEXT PRIMARY KEY NOT NULL,
        state_json TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    -- AUTOINCREMENT: ids are never reused, so a receiver's idempotency key
    -- (the id) never names two notifications, even after the table empties.
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        receiver        TEXT NOT NULL,
        fingerprint     TEXT NOT NULL,
        event_json      TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT
    );
    -- Each worker reads its receiver's rows in id order.
    CREATE INDEX outbox_receiver_id ON outbox (receiver, id);
    CREATE TABLE silences (
        id            INTEGER PRIMARY KEY,
        matchers_json TEXT NOT NULL,
        starts_at     INTEGER NOT NULL,
        ends_at       INTEGER NOT NULL,
        created_by    TEXT NOT NULL,
        comment       TEXT NOT NULL
    );
    CREATE INDEX silences_ends_at ON silences (ends_at);",
];

/// The schema version this build writes (`PRAGMA user_version`).
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens (creating if needed) the file: checks it is ours, applies settings and migrations.
pub(super) fn open(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError(format!(
                "{}: cannot create the directory for the alert database: {e}",
                dir.display()
            ))
        })?;
    }
    let mut conn = Connection::open(path).map_err(|e| open_error(path, &e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, &e))?;
    // Identity first: switching another program's file to WAL would already change it.
    check_identity(&conn, path)?;
    configure(&conn).map_err(|e| open_error(path, &e))?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Connection settings.
///
/// WAL as in the run history, but `synchronous=FULL`: every commit is synced,
/// so a committed state change and its notifications survive a power loss too,
/// not only a process crash. Alert writes are a few per state change, so the
/// fsync costs nothing that matters.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "SQLite refused WAL mode for the alert database.");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Refuses files that belong to another program (or to the run history) or to a newer journeyd.
fn check_identity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let read = |pragma: &str| -> Result<i64, StoreError> {
        conn.pragma_query_value(None, pragma, |r| r.get(0))
            .map_err(|e| open_error(path, &e))
    };
    let app_id = read("application_id")?;
    let version = read("user_version")?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| open_error(path, &e))?;
    let fresh = app_id == 0 && version == 0 && tables == 0;
    if app_id != i64::from(APPLICATION_ID) && !fresh {
        return Err(StoreError(format!(
            "{}: is a SQLite database, but not journeyd's alert database \
             (application_id {app_id}); point the alert database at another path",
            path.display()
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError(format!(
            "{}: the alert database has schema version {version}, written by a newer \
             journeyd; this build knows up to version {SCHEMA_VERSION}. Upgrade journeyd \
             (moving the file aside would forget firing alerts and pending notifications)",
            path.display()
        )));
    }
    Ok(())
}

/// Applies every migration above the file's version, each in its own transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    crate::store::schema::apply_migrations(conn, path, "alert database", MIGRATIONS, APPLICATION_ID)
}

/// Turns an open-time SQLite error into a message that says what to do.
fn open_error(path: &Path, err: &rusqlite::Error) -> StoreError {
    let path = path.display();
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError(format!(
            "{path}: not a SQLite database ({err}); point the alert database at another path"
        )),
        Some(ErrorCode::DatabaseCorrupt) => StoreError(format!(
            "{path}: the alert database is corrupt ({err}); move the file aside (keep it for \
             recovery with `sqlite3 .recover`) to start without alert state"
        )),
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            StoreError(format!(
                "{path}: cannot open the alert database for writing ({err}); check the path \
                 and that the service user owns it and its directory"
            ))
        }
        _ => StoreError(format!("{path}: cannot open the alert database: {err}")),
    }
}
