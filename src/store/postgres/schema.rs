//! The PostgreSQL schema: versioned migrations applied at open, under an
//! advisory lock so replicas starting together migrate once.
//!
//! One schema holds everything journeyd shares: the run history of every
//! location (`runs`, with the replica and fencing term that wrote each run)
//! and the fleet's coordination tables (`replicas`, `journey_leases`,
//! `fleet_roles`, `alert_inbox`; see [`crate::fleet`]). The applied versions are rows of
//! `journeyd_schema_migrations`; entry `i` of [`MIGRATIONS`] brings the
//! schema from version `i` to `i + 1` and is never edited once released.

use tokio_postgres::Client;

use super::super::{Database, OpenError};

/// Migrations in order; see the module docs.
const MIGRATIONS: &[&str] = &[
    // 1: run history, one table for every location. `started_at` is Unix
    // milliseconds, as in SQLite, so both backends order and prune alike.
    "CREATE TABLE runs (
        run_id           TEXT PRIMARY KEY,
        location         TEXT NOT NULL,
        journey          TEXT NOT NULL,
        started_at       BIGINT NOT NULL,
        duration_seconds DOUBLE PRECISION NOT NULL,
        verdict          TEXT NOT NULL CHECK (verdict IN ('pass', 'fail')),
        degraded         BOOLEAN NOT NULL,
        failed_step      TEXT,
        failed_backend   TEXT,
        failure_class    TEXT,
        failure_message  TEXT,
        run_json         TEXT NOT NULL,
        replica          TEXT,
        fencing_term     BIGINT
    );
    CREATE INDEX runs_location_journey_started ON runs (location, journey, started_at DESC);
    CREATE INDEX runs_started ON runs (started_at);",
    // 2: fleet membership and journey leases (`crate::fleet`). Times are the
    // database's (`now()`), never a replica's clock.
    "CREATE TABLE replicas (
        location     TEXT NOT NULL,
        id           TEXT NOT NULL,
        heartbeat_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (location, id)
    );
    CREATE TABLE journey_leases (
        location   TEXT NOT NULL,
        journey    TEXT NOT NULL,
        owner      TEXT,
        term       BIGINT NOT NULL DEFAULT 0,
        expires_at TIMESTAMPTZ NOT NULL,
        last_slot  BIGINT,
        PRIMARY KEY (location, journey)
    );",
    // 3: the fleet's alerting leader and its input (`crate::fleet::leader`,
    // `crate::fleet::inbox`). `IF NOT EXISTS`: another part may create
    // `fleet_roles` with the same shape.
    "CREATE TABLE IF NOT EXISTS fleet_roles (
        role       TEXT PRIMARY KEY,
        owner      TEXT,
        term       BIGINT,
        expires_at TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS alert_inbox (
        id     BIGSERIAL PRIMARY KEY,
        run_id TEXT NOT NULL
    );",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Any key will do as long as it is journeyd's alone ("JRNY" + 1).
const MIGRATION_LOCK: i64 = 0x4A52_4E59_0001;

/// Brings the schema to [`SCHEMA_VERSION`] in one transaction; a database
/// written by a newer journeyd is refused ([`OpenError::TooNew`]).
pub async fn migrate(client: &mut Client, location: &str) -> Result<(), OpenError> {
    let other = |e: tokio_postgres::Error| OpenError::Other {
        location: location.to_string(),
        database: Database::RunHistory,
        source: format!("cannot migrate the schema: {e}").into(),
    };
    let tx = client.transaction().await.map_err(other)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(other)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS journeyd_schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(other)?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM journeyd_schema_migrations",
            &[],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(other)?;
    if found > SCHEMA_VERSION {
        return Err(OpenError::TooNew {
            location: location.to_string(),
            database: Database::RunHistory,
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (version, sql) in (1i64..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.batch_execute(sql).await.map_err(other)?;
        tx.execute(
            "INSERT INTO journeyd_schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(other)?;
    }
    tx.commit().await.map_err(other)
}
