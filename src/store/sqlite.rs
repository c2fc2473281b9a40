//! The one way journeyd opens a SQLite file, whichever database it holds:
//! identity check, connection settings and schema migrations, with every
//! failure sorted into an [`OpenError`] case.
//!
//! A database is described by a [`Schema`] (which database, its
//! `application_id`, its migrations, its `synchronous` mode); the run history
//! (`store::schema`) and the alert database (`alert::outbox::schema`) each
//! declare one and nothing else.
//!
//! The schema version lives in `PRAGMA user_version`. Each migration runs in
//! one `BEGIN IMMEDIATE` transaction together with the version bump and the
//! file's `application_id`, so a crash mid-migration leaves the previous
//! version intact and the next start retries it. Migrations are appended,
//! never edited once released.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use super::error::{Access, Damage, Database, OpenError};

/// How long a statement waits for a lock held by another connection (a
/// checkpoint, `sqlite3` inspecting the file) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes of WAL kept after a checkpoint: after a burst (or a large prune) the
/// WAL shrinks back to this instead of keeping its high-water mark for months.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// When SQLite syncs to disk. Both keep the file intact after any crash; they
/// differ in what a power loss or kernel crash can take back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// Sync at checkpoints only: a process crash (`kill -9`, OOM, panic) loses
    /// nothing committed, a power loss can lose the last few commits.
    Normal,
    /// Sync every commit: a commit survives a power loss too.
    Full,
}

impl Synchronous {
    fn as_pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// One of journeyd's SQLite databases: everything [`open`] needs to know.
#[derive(Debug)]
pub struct Schema {
    /// Which database, for messages and matching.
    pub database: Database,
    /// Marks the file as this database (`PRAGMA application_id`), so another
    /// program's file, or journeyd's other database, is refused instead of
    /// being written into.
    pub application_id: i32,
    /// Entry `i` brings the schema from version `i` to `i + 1`.
    pub migrations: &'static [&'static str],
    /// Durability of commits.
    pub synchronous: Synchronous,
    /// Upper bound of SQLite's own page cache per connection, KiB
    /// (`PRAGMA cache_size`; SQLite's default is 2,000). The file's pages are in
    /// the kernel's page cache as well, so a smaller one costs a `pread`, not a
    /// disk read, when a page is not in it.
    pub cache_kib: u32,
}

impl Schema {
    /// The schema version this build writes (`PRAGMA user_version`).
    pub const fn version(&self) -> i64 {
        self.migrations.len() as i64
    }
}

/// What failed while opening, before it is sorted into an [`OpenError`] case;
/// it becomes that error's source, so it says at which stage.
#[derive(Debug, thiserror::Error)]
enum Cause {
    #[error("cannot create its directory {}: {source}", .dir.display())]
    CreateDir { dir: PathBuf, source: io::Error },
    #[error("schema migration to version {to} failed: {source}")]
    Migrate { to: i64, source: rusqlite::Error },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Opens `path` as `schema`'s database.
///
/// [`Access::ReadWrite`] creates the file and its directory if needed, checks
/// the file is ours, switches it to WAL with `schema.synchronous`, and applies
/// the missing migrations. [`Access::ReadOnly`] checks identity and never
/// changes the file.
pub fn open(path: &Path, schema: &Schema, access: Access) -> Result<Connection, OpenError> {
    let fail = |cause: Cause| classify(path, schema.database, access, cause);
    let conn = match access {
        Access::ReadWrite => {
            create_dir(path).map_err(fail)?;
            Connection::open(path)
        }
        Access::ReadOnly => Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
    };
    let mut conn = conn.map_err(|e| fail(e.into()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| fail(e.into()))?;
    // Identity first: switching another program's file to WAL would already change it.
    check_identity(&conn, path, schema).map_err(|e| e.or_else(fail))?;
    if access == Access::ReadWrite {
        configure(&conn, schema).map_err(|e| fail(e.into()))?;
        migrate(&mut conn, path, schema).map_err(fail)?;
    }
    Ok(conn)
}

fn create_dir(path: &Path) -> Result<(), Cause> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| Cause::CreateDir {
            dir: dir.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

/// WAL lets readers run while a writer commits; `synchronous` is the
/// database's choice (see [`Synchronous`]).
fn configure(conn: &Connection, schema: &Schema) -> rusqlite::Result<()> {
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // In-memory or unusual VFS: still correct, just without concurrent reads.
        tracing::warn!(journal_mode = %mode, "SQLite refused WAL mode; reads will wait for writes.");
    }
    conn.pragma_update(None, "synchronous", schema.synchronous.as_pragma())?;
    conn.pragma_update(None, "cache_size", -i64::from(schema.cache_kib))?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Either a refusal already decided, or a failure still to be classified.
enum Refusal {
    Decided(OpenError),
    Failed(Cause),
}

impl Refusal {
    fn or_else(self, classify: impl FnOnce(Cause) -> OpenError) -> OpenError {
        match self {
            Refusal::Decided(e) => e,
            Refusal::Failed(cause) => classify(cause),
        }
    }
}

impl From<rusqlite::Error> for Refusal {
    fn from(e: rusqlite::Error) -> Self {
        Refusal::Failed(Cause::Sqlite(e))
    }
}

/// Refuses files that belong to another program (or are journeyd's other
/// database) and files written by a newer journeyd.
fn check_identity(conn: &Connection, path: &Path, schema: &Schema) -> Result<(), Refusal> {
    let read = |pragma: &str| conn.pragma_query_value(None, pragma, |r| r.get::<_, i64>(0));
    let app_id = read("application_id")?;
    let version = read("user_version")?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
        [],
        |r| r.get(0),
    )?;
    // A fresh file has neither an application id nor tables; anything else
    // without our id belongs to someone else.
    let fresh = app_id == 0 && version == 0 && tables == 0;
    let location = path.display().to_string();
    if app_id != i64::from(schema.application_id) && !fresh {
        return Err(Refusal::Decided(OpenError::NotOurs {
            location,
            database: schema.database,
            application_id: app_id,
        }));
    }
    if version > schema.version() {
        return Err(Refusal::Decided(OpenError::TooNew {
            location,
            database: schema.database,
            found: version,
            known: schema.version(),
        }));
    }
    Ok(())
}

/// Applies `schema.migrations[user_version..]`, each with its version bump and
/// the file's `application_id` in one transaction.
fn migrate(conn: &mut Connection, path: &Path, schema: &Schema) -> Result<(), Cause> {
    loop {
        // IMMEDIATE takes the write lock before reading the version, so two
        // processes opening the same new file cannot both apply a migration.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let Some(sql) = usize::try_from(version)
            .ok()
            .and_then(|v| schema.migrations.get(v))
        else {
            return Ok(());
        };
        let to = version + 1;
        let step = || -> rusqlite::Result<()> {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "application_id", schema.application_id)?;
            tx.pragma_update(None, "user_version", to)
        };
        step().map_err(|source| Cause::Migrate { to, source })?;
        tx.commit()
            .map_err(|source| Cause::Migrate { to, source })?;
        tracing::info!(
            path = %path.display(),
            version = to,
            "{} schema migrated.",
            schema.database
        );
    }
}

/// Below this much space available to journeyd, an I/O error while opening is
/// taken for a full disk: SQLite needs 32 KiB for the `-shm` file plus WAL pages.
const NEARLY_FULL: u64 = 1024 * 1024;

/// True when the file system holding `path` has (nearly) no space left for us.
fn is_out_of_space(path: &Path) -> bool {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    rustix::fs::statvfs(dir).is_ok_and(|fs| fs.f_bavail.saturating_mul(fs.f_frsize) < NEARLY_FULL)
}

/// The [`OpenError`] case of a failure, from the SQLite or OS error code.
fn classify(path: &Path, database: Database, access: Access, cause: Cause) -> OpenError {
    enum Case {
        Damaged(Damage),
        Permission,
        DiskFull,
        Other,
    }
    let case = match &cause {
        Cause::CreateDir { source, .. } => match source.kind() {
            io::ErrorKind::PermissionDenied
            | io::ErrorKind::ReadOnlyFilesystem
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::AlreadyExists => Case::Permission,
            io::ErrorKind::StorageFull => Case::DiskFull,
            _ => Case::Other,
        },
        Cause::Migrate { source, .. } | Cause::Sqlite(source) => match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => Case::Damaged(Damage::NotADatabase),
            Some(ErrorCode::DatabaseCorrupt) => Case::Damaged(Damage::Corrupt),
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
                Case::Permission
            }
            Some(ErrorCode::DiskFull) => Case::DiskFull,
            // A full disk often surfaces as a plain I/O error (the `-shm` or
            // `-wal` file cannot grow), which says nothing about space: ask the
            // file system.
            Some(ErrorCode::SystemIoFailure) if is_out_of_space(path) => Case::DiskFull,
            _ => Case::Other,
        },
    };
    let location = path.display().to_string();
    let source = Box::new(cause);
    match case {
        Case::Damaged(damage) => OpenError::Corrupt {
            location,
            database,
            damage,
            source,
        },
        Case::Permission => OpenError::Permission {
            location,
            database,
            access,
            source,
        },
        Case::DiskFull => OpenError::DiskFull {
            location,
            database,
            source,
        },
        Case::Other => OpenError::Other {
            location,
            database,
            source,
        },
    }
}
