//! Typed store errors, shared by every journeyd database and meant to outlive
//! SQLite as the only backend: [`OpenError`] says why a database could not be
//! opened, in cases a caller can match; [`StoreError`] is what an operation on
//! an open database returns, and is only ever shown.
//!
//! Messages name the file and what the operator should do. Sources are boxed
//! so that no backend's error type leaks into the interface.

use std::fmt;

/// Any backend's underlying error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which of journeyd's databases: a closed set, used in messages and for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// The run history (`journeyd.db`).
    RunHistory,
    /// Alert state, the notification outbox and silences (`alerts.db`).
    Alerts,
}

impl Database {
    /// Its value of the `database` metric label.
    pub fn as_label(self) -> &'static str {
        match self {
            Database::RunHistory => "run_history",
            Database::Alerts => "alerts",
        }
    }

    /// Its name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Database::RunHistory => "run history",
            Database::Alerts => "alert database",
        }
    }

    /// What starting over without the file costs, so the operator can weigh it.
    fn moving_aside(self) -> &'static str {
        match self {
            Database::RunHistory => "starts an empty history",
            Database::Alerts => "forgets firing alerts and pending notifications",
        }
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a database is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Queries only; never creates nor changes the file.
    ReadOnly,
    /// Creates the file (and its directory) if needed, configures and migrates it.
    ReadWrite,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::ReadOnly => "reading",
            Access::ReadWrite => "writing",
        })
    }
}

/// How a file that cannot be read as a database is damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Not a database file at all (another kind of file, or a ruined header).
    NotADatabase,
    /// A database whose pages are malformed.
    Corrupt,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Damage::NotADatabase => "not a SQLite database",
            Damage::Corrupt => "corrupt",
        })
    }
}

/// Why a database could not be opened. `location` is where it lives (a file
/// path for SQLite).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file belongs to another program, or is another journeyd database.
    #[error(
        "{location}: is a SQLite database, but not journeyd's {database} \
         (application_id {application_id}); move that file away or choose another `state_dir`"
    )]
    NotOurs {
        /// Where.
        location: String,
        /// What it was meant to be.
        database: Database,
        /// The identity it carries instead of ours.
        application_id: i64,
    },
    /// A newer journeyd wrote a schema this build does not know.
    #[error(
        "{location}: the {database} has schema version {found}, written by a newer journeyd; \
         this build knows up to version {known}. Upgrade journeyd, or move the file aside, \
         which {}",
        .database.moving_aside()
    )]
    TooNew {
        /// Where.
        location: String,
        /// Which database.
        database: Database,
        /// The file's schema version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// The file cannot be read as a database.
    #[error(
        "{location}: the {database} is {damage} ({source}); move the file aside (keep it for \
         recovery with `sqlite3 .recover`), which {}",
        .database.moving_aside()
    )]
    Corrupt {
        /// Where.
        location: String,
        /// Which database.
        database: Database,
        /// How.
        damage: Damage,
        /// What the backend said.
        source: BoxError,
    },
    /// The file or its directory cannot be opened: permissions, a read-only
    /// file system, or something other than a file at the path.
    #[error(
        "{location}: cannot open the {database} for {access} ({source}); check the path and \
         that the service user owns it and its directory"
    )]
    Permission {
        /// Where.
        location: String,
        /// Which database.
        database: Database,
        /// What was asked for.
        access: Access,
        /// What the backend or the OS said.
        source: BoxError,
    },
    /// No space left to create, configure or migrate the database.
    #[error(
        "{location}: the disk is full, so the {database} cannot be written ({source}); free \
         space on its file system, then start journeyd again"
    )]
    DiskFull {
        /// Where.
        location: String,
        /// Which database.
        database: Database,
        /// What the backend or the OS said.
        source: BoxError,
    },
    /// Anything else.
    #[error("{location}: cannot open the {database}: {source}")]
    Other {
        /// Where.
        location: String,
        /// Which database.
        database: Database,
        /// What went wrong.
        source: BoxError,
    },
}

/// An operation on an open database failed. Callers only log or show it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A connection opened on demand (a reader) could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A statement failed.
    #[error("{location}: {what} failed: {source}")]
    Query {
        /// Where.
        location: String,
        /// What was being done, e.g. "committing alert state".
        what: &'static str,
        /// What the backend said.
        source: BoxError,
    },
    /// The database is not open (it could not be opened at start, usually a
    /// full disk); journeyd keeps trying to open it.
    #[error(
        "{location}: {what} failed: the {database} is not open (see the earlier error); retrying"
    )]
    Unavailable {
        /// Where.
        location: String,
        /// Which database.
        database: Database,
        /// What was being done.
        what: &'static str,
    },
    /// A value could not be serialized for storage.
    #[error("cannot serialize {what}: {source}")]
    Encode {
        /// What, e.g. "a notification".
        what: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// A fenced write was refused: this handle's alerting term is no longer
    /// the one recorded in `fleet_roles` (another replica leads alerting).
    #[error("{location}: {what} refused: alerting is no longer led by {owner} in term {term}")]
    Fenced {
        /// Where.
        location: String,
        /// What was being done.
        what: &'static str,
        /// The owner this handle writes as.
        owner: String,
        /// Its term.
        term: i64,
    },
    /// The blocking task running the operation panicked or was cancelled.
    #[error("{database} task failed: {source}")]
    Task {
        /// Which database.
        database: Database,
        /// Why.
        source: tokio::task::JoinError,
    },
}
