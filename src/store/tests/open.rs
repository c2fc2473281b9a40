//! The SQLite open layer on its own: one test per [`OpenError`] case, on real
//! files. Every case must also hold for root (tests may run as root, which
//! bypasses permission bits), so "permission" is provoked with paths no user
//! can open as a database file.

use std::error::Error as _;
use std::path::Path;

use rusqlite::Connection;
use tempfile::TempDir;

use crate::store::sqlite::{Schema, Synchronous, open};
use crate::store::{Access, Damage, Database, OpenError};

/// A database of its own, so these tests do not depend on any real schema.
const TEST: Schema = Schema {
    database: Database::RunHistory,
    application_id: 0x7E57,
    migrations: &["CREATE TABLE t (x TEXT)", "CREATE INDEX t_x ON t (x)"],
    synchronous: Synchronous::Normal,
    cache_kib: 300,
};

/// The whole error chain, as an operator would see it with its causes.
fn chain(err: &OpenError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(&format!(" / {s}"));
        source = s.source();
    }
    text
}

fn pragma(path: &Path, name: &str) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.pragma_query_value(None, name, |r| r.get(0)).unwrap()
}

#[test]
fn fresh_file_is_created_migrated_and_marked_as_ours() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("a/b/test.db");
    drop(open(&path, &TEST, Access::ReadWrite).unwrap());
    assert_eq!(pragma(&path, "user_version"), 2);
    assert_eq!(pragma(&path, "application_id"), 0x7E57);
    // Reopening, read-write and read-only, accepts it and changes nothing.
    drop(open(&path, &TEST, Access::ReadWrite).unwrap());
    let reader = open(&path, &TEST, Access::ReadOnly).unwrap();
    let n: i64 = reader
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(pragma(&path, "user_version"), 2);
}

#[test]
fn a_writer_caches_at_most_its_schemas_page_cache() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("test.db");
    let writer = open(&path, &TEST, Access::ReadWrite).unwrap();
    let kib: i64 = writer
        .pragma_query_value(None, "cache_size", |r| r.get(0))
        .unwrap();
    assert_eq!(kib, -300, "negative: KiB, not pages");
}

#[test]
fn foreign_application_id_is_not_ours() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("other.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA application_id = 1234; CREATE TABLE t (x);")
        .unwrap();
    drop(conn);
    for access in [Access::ReadWrite, Access::ReadOnly] {
        let err = open(&path, &TEST, access).unwrap_err();
        assert!(
            matches!(
                &err,
                OpenError::NotOurs {
                    database: Database::RunHistory,
                    application_id: 1234,
                    location,
                } if location == &path.display().to_string()
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("not journeyd's run history"), "{text}");
        assert!(text.contains("application_id 1234"), "{text}");
    }
    // Refusing must not have switched the file to WAL nor migrated it.
    assert_eq!(pragma(&path, "user_version"), 0);
    assert!(!dir.path().join("other.db-wal").exists());
}

#[test]
fn higher_user_version_is_too_new() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("test.db");
    drop(open(&path, &TEST, Access::ReadWrite).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 3).unwrap();
    drop(conn);
    for access in [Access::ReadWrite, Access::ReadOnly] {
        let err = open(&path, &TEST, access).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::TooNew {
                    found: 3,
                    known: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("schema version 3"), "{text}");
        assert!(text.contains("knows up to version 2"), "{text}");
        assert!(text.contains("Upgrade journeyd"), "{text}");
        assert!(text.contains("starts an empty history"), "{text}");
    }
}

#[test]
fn garbage_file_is_corrupt_and_left_alone() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("test.db");
    let garbage = "journey: purchase\n".repeat(500);
    std::fs::write(&path, &garbage).unwrap();
    let err = open(&path, &TEST, Access::ReadWrite).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::Corrupt {
                damage: Damage::NotADatabase,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("is not a SQLite database"), "{text}");
    assert!(text.contains("sqlite3 .recover"), "{text}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), garbage);
}

#[test]
fn malformed_pages_are_corrupt() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("test.db");
    drop(open(&path, &TEST, Access::ReadWrite).unwrap());
    // Keep the 100-byte file header, ruin the schema table's page behind it.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() >= 4096, "{} bytes", bytes.len());
    bytes[100..4096].fill(0xFF);
    std::fs::write(&path, &bytes).unwrap();
    let err = open(&path, &TEST, Access::ReadWrite).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::Corrupt {
                damage: Damage::Corrupt,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("run history is corrupt"), "{err}");
}

#[test]
fn directory_in_place_of_the_file_is_permission() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("test.db");
    std::fs::create_dir(&path).unwrap();
    let err = open(&path, &TEST, Access::ReadWrite).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::Permission {
                access: Access::ReadWrite,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("cannot open the run history for writing"),
        "{text}"
    );
    assert!(text.contains("service user owns it"), "{text}");
}

#[test]
fn file_in_place_of_the_directory_is_permission() {
    let dir = TempDir::new().unwrap();
    let blocker = dir.path().join("state");
    std::fs::write(&blocker, "not a directory").unwrap();
    let err = open(&blocker.join("test.db"), &TEST, Access::ReadWrite).unwrap_err();
    assert!(matches!(err, OpenError::Permission { .. }), "{err:?}");
    assert!(
        chain(&err).contains("cannot create its directory"),
        "{}",
        chain(&err)
    );
}

#[test]
fn missing_file_opened_read_only_is_permission() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("test.db");
    let err = open(&path, &TEST, Access::ReadOnly).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::Permission {
                access: Access::ReadOnly,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("for reading"), "{err}");
    assert!(!path.exists(), "a read-only open created the file");
}

#[test]
fn full_disk_during_migration_says_the_disk_is_full() {
    // `max_page_count` makes SQLite report SQLITE_FULL exactly as a full file
    // system does, without needing one.
    const FILLS_UP: Schema = Schema {
        migrations: &["PRAGMA max_page_count = 2;
             CREATE TABLE a (x); CREATE TABLE b (x); CREATE TABLE c (x);"],
        ..TEST
    };
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("test.db");
    let err = open(&path, &FILLS_UP, Access::ReadWrite).unwrap_err();
    assert!(matches!(err, OpenError::DiskFull { .. }), "{err:?}");
    let text = chain(&err);
    assert!(text.contains("the disk is full"), "{text}");
    assert!(!text.contains("disk I/O error"), "{text}");
    assert!(text.contains("migration to version 1"), "{text}");
    // The failed migration left the file at version 0, to be retried.
    assert_eq!(pragma(&path, "user_version"), 0);
}

#[test]
fn other_failures_keep_their_source() {
    const BROKEN: Schema = Schema {
        migrations: &["CREATE TABLE t (x TEXT)", "CREATE TABLE t (y TEXT)"],
        ..TEST
    };
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("test.db");
    let err = open(&path, &BROKEN, Access::ReadWrite).unwrap_err();
    assert!(matches!(err, OpenError::Other { .. }), "{err:?}");
    let cause = err.source().map(ToString::to_string).unwrap_or_default();
    assert!(cause.contains("migration to version 2 failed"), "{cause}");
    assert!(cause.contains("already exists"), "{cause}");
    // Version 1 was committed on its own and stays.
    assert_eq!(pragma(&path, "user_version"), 1);
}
