//! The run history on PostgreSQL (issue 8): shared by every replica of a
//! fleet, behind the same [`Store`](super::Store) interface as SQLite.
//!
//! # Driver
//!
//! `tokio-postgres` with a `deadpool-postgres` pool. Both are maintained,
//! async on our tokio, and small: no macros, no compile-time database, no
//! OpenSSL (TLS is rustls through `tokio-postgres-rustls`, with libpq's
//! `sslmode` in the URL; see [`tls`]). sqlx was the
//! alternative: its compile-time checked queries need a database (or an
//! offline cache) at build time and it brings its own runtime and TLS
//! choices, for a dozen statements that the tests here run against a real
//! server anyway. The pool re-creates broken connections on the next `get`,
//! which is the whole of reconnecting.
//!
//! # Connection loss
//!
//! Losing PostgreSQL is a normal event. Runs go through the same bounded
//! queue as on SQLite ([`Store::record`](super::Store::record) never waits
//! more than [`RECORD_WAIT`](super::RECORD_WAIT)); the writer task retries
//! the run at the head of the queue with exponential backoff
//! ([`MIN_BACKOFF`]..[`MAX_BACKOFF`]) while the queue buffers what comes
//! next; once it is full, runs are dropped and counted
//! (`journeyd_store_dropped_runs_total{reason="queue_full"}`), and
//! `journeyd_store_up{database="run_history"}` is 0 until a write succeeds.
//! A run the server refuses for good (not a connection problem) is counted
//! as `write_failed` and skipped. Reads fail while the server is away.
//! Shutdown waits at most [`FLUSH_WAIT`] for the queue.
//!
//! # What a crash can lose
//!
//! A committed run is PostgreSQL's to keep (its WAL and `synchronous_commit`
//! decide). Runs still in the queue are lost on `kill -9`, as on SQLite.

mod cleanup;
mod history;
mod obligation;
mod pending;
#[cfg(test)]
mod pending_tests;
mod read;
mod schema;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;
pub mod tls;
#[cfg(test)]
mod tls_tests;

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use super::{Database, OpenError};
pub(crate) use history::PgHistory;
pub(in crate::store) use pending::PgPending;
pub use pending::{CLAIM, OP_TIMEOUT, Replica};
pub use schema::{SCHEMA_VERSION, migrate};

/// The first retry after a failed write or connection comes this soon.
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Retries back off up to this long between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Shutdown waits at most this long for queued runs to be written.
pub const FLUSH_WAIT: Duration = Duration::from_secs(10);
/// Connecting, and waiting for a pooled connection, give up after this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per replica: the writer, reads and the fleet's lease loop.
const POOL_SIZE: usize = 8;

/// A PostgreSQL database and the location whose runs this replica writes
/// and reads. The URL is a secret: it is never shown (see [`PgTarget::describe`]).
#[derive(Clone, PartialEq, Eq)]
pub struct PgTarget {
    /// `postgres://user:password@host:port/db` or a key=value string.
    pub url: String,
    /// Runs are stored and read under this location (`fleet.location`, or
    /// `default` without a fleet).
    pub location: String,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTarget")
            .field("url", &self.describe())
            .field("location", &self.location)
            .finish()
    }
}

impl PgTarget {
    /// `postgresql://host:port/db` without user or password, for logs and errors.
    pub fn describe(&self) -> String {
        let parsed = tls::split(&self.url).map(|s| s.url.parse::<tokio_postgres::Config>());
        match parsed {
            Ok(Ok(c)) => describe(&c),
            _ => "postgresql://(invalid URL)".to_string(),
        }
    }

    /// A pool for this database; connects lazily (nothing is contacted here).
    pub fn pool(&self) -> Result<Pool, OpenError> {
        let other = |why: String| OpenError::Other {
            location: self.describe(),
            database: Database::RunHistory,
            source: why.into(),
        };
        let settings = tls::split(&self.url).map_err(|e| other(format!("invalid URL: {e}")))?;
        let mut config: tokio_postgres::Config =
            (settings.url.parse()).map_err(|e| other(format!("invalid PostgreSQL URL: {e}")))?;
        config.ssl_mode(settings.mode.driver());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("journeyd");
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls::client_config(&settings).map_err(other)? {
            None => Manager::from_config(config, tokio_postgres::NoTls, manager_config),
            Some(rustls) => {
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(rustls);
                Manager::from_config(config, tls, manager_config)
            }
        };
        Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| other(format!("cannot create the connection pool: {e}")))
    }
}

/// Host, port and database of `c`.
fn describe(c: &tokio_postgres::Config) -> String {
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let db = c.get_dbname().or(c.get_user()).unwrap_or("postgres");
    format!("postgresql://{host}:{port}/{db}")
}

/// Whether an error means "the server is away, try again" (connection
/// refused or lost, server shutting down or starting, too many connections,
/// pool timeout) rather than "this statement will never work".
pub(crate) fn is_transient(e: &deadpool_postgres::PoolError) -> bool {
    match e {
        deadpool_postgres::PoolError::Backend(e) => is_transient_pg(e),
        _ => true,
    }
}

/// [`is_transient`] for a driver error.
pub(crate) fn is_transient_pg(e: &tokio_postgres::Error) -> bool {
    match e.as_db_error() {
        // Connection exceptions (08), insufficient resources (53), operator
        // intervention such as admin shutdown or "starting up" (57P0x).
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
        }
        // I/O, a closed connection, a timeout: nothing the statement did.
        None => true,
    }
}
