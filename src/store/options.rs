//! What a store is opened with: where it lives ([`Backend`]), how long runs are
//! kept ([`Retention`]), who hears of lost runs ([`OnLost`]) and the writer's
//! settings ([`StoreOptions`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::error::{Database, OpenError};
use super::{PgTarget, writer};

/// Where a database lives; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file, created with its directory when missing.
    Sqlite(PathBuf),
    /// A PostgreSQL database (run history, pending work, alert database).
    Postgres(PgTarget),
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Sqlite(path) => write!(f, "{}", path.display()),
            Backend::Postgres(target) => f.write_str(&target.describe()),
        }
    }
}

impl Backend {
    /// The SQLite file, for the databases that live only in SQLite; a PostgreSQL
    /// backend is refused for them.
    pub fn sqlite_path(&self, database: Database) -> Result<&Path, OpenError> {
        match self {
            Backend::Sqlite(path) => Ok(path),
            Backend::Postgres(target) => Err(OpenError::Other {
                location: target.describe(),
                database,
                source: "this database is kept in SQLite only (docs/scaling.md)".into(),
            }),
        }
    }
}

impl From<PathBuf> for Backend {
    fn from(path: PathBuf) -> Self {
        Backend::Sqlite(path)
    }
}

impl From<&PathBuf> for Backend {
    fn from(path: &PathBuf) -> Self {
        Backend::Sqlite(path.clone())
    }
}

impl From<&Path> for Backend {
    fn from(path: &Path) -> Self {
        Backend::Sqlite(path.to_path_buf())
    }
}

/// How long history is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Runs older than this are pruned.
    pub max_age: Duration,
    /// At most this many runs per journey are kept.
    pub max_runs_per_journey: usize,
    /// Owed cleanup is retried this long, then abandoned (counted as test data left behind).
    pub cleanup_max_age: Duration,
}

impl Default for Retention {
    /// 30 days, 10 000 runs per journey; owed cleanup retried for 24 hours.
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_runs_per_journey: 10_000,
            cleanup_max_age: Duration::from_secs(24 * 3600),
        }
    }
}

/// Called with `(journey, run_id)` for every run lost from the history (queue
/// full, write failed), so whoever shows runs can stop linking to it.
#[derive(Clone)]
pub struct OnLost(Arc<LostFn>);

/// What [`OnLost`] calls: `(journey, run_id)`.
type LostFn = dyn Fn(&str, uuid::Uuid) + Send + Sync;

impl OnLost {
    /// Wraps `f`.
    pub fn new(f: impl Fn(&str, uuid::Uuid) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    pub(super) fn call(&self, journey: &str, run_id: uuid::Uuid) {
        (self.0)(journey, run_id);
    }
}

impl fmt::Debug for OnLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnLost(..)")
    }
}

/// Store settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Where the history lives.
    pub backend: Backend,
    /// Retention.
    pub retention: Retention,
    /// Capacity of the write queue.
    pub queue_capacity: usize,
    /// The writer runs a retention pass at least this often (minimum 1 s).
    pub prune_interval: Duration,
    /// ... and after this many writes, so a burst cannot outgrow the cap for long.
    pub prune_every_writes: u64,
    /// Told about every lost run.
    pub on_lost: Option<OnLost>,
    /// How long a passing run may wait to share a commit with the next runs
    /// (SQLite only; [`PASS_WINDOW`] by default).
    pub pass_window: Duration,
}

impl StoreOptions {
    /// A history in the SQLite file `path`, with defaults: 30 days, 10 000
    /// runs per journey, a queue of 1024, a retention pass every 5 minutes or
    /// 500 writes.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            backend: Backend::Sqlite(path.into()),
            retention: Retention::default(),
            queue_capacity: 1024,
            prune_interval: Duration::from_secs(300),
            prune_every_writes: 500,
            on_lost: None,
            pass_window: writer::PASS_WINDOW,
        }
    }
}
