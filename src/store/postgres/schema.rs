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
    // 3: owed cleanups and durable-step obligations (`store::postgres::pending`),
    // per location. Times the caller passes are Unix milliseconds as in SQLite;
    // `replica` is the replica whose run owes a live cleanup, `finished_by` the
    // one that finished an obligation; `claimed_by`/`claimed_until` (database
    // clock) keep two replicas from working the same row at once.
    "CREATE TABLE pending_cleanup (
        location        TEXT NOT NULL,
        run_id          TEXT NOT NULL,
        journey         TEXT NOT NULL,
        steps_json      TEXT NOT NULL,
        values_json     TEXT NOT NULL,
        refresh_json    TEXT NOT NULL,
        created_at      BIGINT NOT NULL,
        live            BOOLEAN NOT NULL,
        replica         TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL DEFAULT 0,
        last_error      TEXT,
        claimed_by      TEXT,
        claimed_until   TIMESTAMPTZ,
        PRIMARY KEY (location, run_id)
    );
    CREATE INDEX pending_cleanup_due ON pending_cleanup (location, live, next_attempt_at);
    CREATE TABLE obligations (
        location        TEXT NOT NULL,
        id              TEXT NOT NULL,
        run_id          TEXT NOT NULL,
        journey         TEXT NOT NULL,
        step            TEXT NOT NULL,
        backend         TEXT,
        values_json     TEXT NOT NULL,
        refresh_json    TEXT NOT NULL,
        created_at      BIGINT NOT NULL,
        deadline_at     BIGINT NOT NULL,
        every_ms        BIGINT NOT NULL,
        backoff         DOUBLE PRECISION NOT NULL,
        max_every_ms    BIGINT NOT NULL,
        pause_ms        BIGINT NOT NULL,
        next_poll_at    BIGINT NOT NULL,
        polls           INTEGER NOT NULL DEFAULT 1,
        state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'fulfilled', 'failed', 'breached')),
        finished_at     BIGINT,
        finished_by     TEXT,
        observed        BOOLEAN NOT NULL DEFAULT false,
        first_poll_json TEXT NOT NULL,
        last_poll_json  TEXT,
        claimed_by      TEXT,
        claimed_until   TIMESTAMPTZ,
        PRIMARY KEY (location, id)
    );
    CREATE INDEX obligations_due ON obligations (location, state, next_poll_at);
    CREATE INDEX obligations_run ON obligations (location, run_id, state);",
    // 4: alerting, fleet-wide (not per location): alert state, the
    // notification outbox, silences and deploys (`crate::alert::outbox`), as
    // in `alerts.db`. Times are Unix milliseconds like there; ids are
    // BIGSERIAL, so a notification keeps its id whichever replica sends it
    // (receivers de-duplicate on it). `fleet_roles` is the alerting leader's
    // fencing row (`AlertDb::set_fence`); IF NOT EXISTS because the fleet's
    // leadership migration creates the same table.
    "CREATE TABLE alert_states (
        journey    TEXT PRIMARY KEY,
        state_json TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE TABLE notifications (
        id              BIGSERIAL PRIMARY KEY,
        receiver        TEXT NOT NULL,
        fingerprint     TEXT NOT NULL,
        event_json      TEXT NOT NULL,
        created_at      BIGINT NOT NULL,
        attempts        BIGINT NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        last_error      TEXT
    );
    CREATE INDEX notifications_receiver_id ON notifications (receiver, id);
    CREATE TABLE silences (
        id            BIGSERIAL PRIMARY KEY,
        matchers_json TEXT NOT NULL,
        starts_at     BIGINT NOT NULL,
        ends_at       BIGINT NOT NULL,
        created_by    TEXT NOT NULL,
        comment       TEXT NOT NULL
    );
    CREATE INDEX silences_ends_at ON silences (ends_at);
    CREATE TABLE deploys (
        id            BIGSERIAL PRIMARY KEY,
        at            BIGINT NOT NULL,
        service       TEXT NOT NULL,
        backends_json TEXT NOT NULL,
        journeys_json TEXT NOT NULL,
        version       TEXT NOT NULL,
        description   TEXT NOT NULL
    );
    CREATE INDEX deploys_at ON deploys (at);
    CREATE TABLE IF NOT EXISTS fleet_roles (
        role       TEXT PRIMARY KEY,
        owner      TEXT,
        term       BIGINT,
        expires_at TIMESTAMPTZ
    );",
    // 5: the fleet's alerting leader and its input (`crate::fleet::leader`,
    // `crate::fleet::inbox`). `IF NOT EXISTS`: migration 4 creates
    // `fleet_roles` with the same shape. An inbox row points at a stored run,
    // or carries its own (`location`, `run_json`) for alert input that is
    // not a run of the history (a fulfilled obligation).
    "CREATE TABLE IF NOT EXISTS fleet_roles (
        role       TEXT PRIMARY KEY,
        owner      TEXT,
        term       BIGINT,
        expires_at TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS alert_inbox (
        id       BIGSERIAL PRIMARY KEY,
        run_id   TEXT NOT NULL,
        location TEXT,
        run_json TEXT
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
