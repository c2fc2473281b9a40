//! The run history's identity and schema migrations; opening, identity checks
//! and migrating are [`super::sqlite`]'s.

use super::error::Database;
use super::sqlite::{Schema, Synchronous};

/// The run history (`journeyd.db`).
///
/// `synchronous=NORMAL` under WAL: a process crash (`kill -9`, OOM, panic)
/// loses nothing that was committed, because committed frames are already in
/// the OS page cache; a power loss or kernel crash can lose the last few
/// committed runs, but never corrupts the file. `FULL` would fsync every run,
/// which buys little for history that the next run re-creates anyway.
pub(super) const HISTORY: Schema = Schema {
    database: Database::RunHistory,
    // "JRNY".
    application_id: 0x4A52_4E59,
    migrations: MIGRATIONS,
    synchronous: Synchronous::Normal,
    // The connections that write (runs, pending work, retention); the status page
    // and the API read through read-only connections, which keep SQLite's default.
    // A run's insert touches the right edge of three B-trees and one leaf of the
    // per-journey index: 512 KiB keeps those and the interior pages, where the
    // default (2 MB) grew by about 600 bytes per configured journey until full.
    cache_kib: 512,
};

/// Migrations in order; entry `i` brings the schema from version `i` to `i + 1`.
/// Existing entries are never edited once released.
pub(super) const MIGRATIONS: &[&str] = &[
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
    // 2: cleanup steps still owed by a run (crash, shutdown grace exceeded,
    // failed cleanup request), with the values they need; see `store::cleanup`.
    // `live` is 1 while the run that owes it is going in this process.
    "CREATE TABLE pending_cleanup (
        run_id            TEXT PRIMARY KEY NOT NULL,
        journey           TEXT NOT NULL,
        steps_json        TEXT NOT NULL,
        values_json       TEXT NOT NULL,
        refresh_json      TEXT NOT NULL,
        created_at        INTEGER NOT NULL,
        live              INTEGER NOT NULL,
        attempts          INTEGER NOT NULL DEFAULT 0,
        next_attempt_at   INTEGER NOT NULL DEFAULT 0,
        last_error        TEXT
    );
    CREATE INDEX pending_cleanup_due ON pending_cleanup (live, next_attempt_at);",
    // 3: obligations of durable steps, polled by the daemon after their run; see
    // `store::obligation`. `observed` is 1 once a finished row was reported (alert
    // engine, metrics): a row finished but not observed is reported again at start-up.
    "CREATE TABLE obligations (
        id              TEXT PRIMARY KEY NOT NULL,
        run_id          TEXT NOT NULL,
        journey         TEXT NOT NULL,
        step            TEXT NOT NULL,
        backend         TEXT,
        values_json     TEXT NOT NULL,
        refresh_json    TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        deadline_at     INTEGER NOT NULL,
        every_ms        INTEGER NOT NULL,
        backoff         REAL NOT NULL,
        max_every_ms    INTEGER NOT NULL,
        pause_ms        INTEGER NOT NULL,
        next_poll_at    INTEGER NOT NULL,
        polls           INTEGER NOT NULL DEFAULT 1,
        state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'fulfilled', 'failed', 'breached')),
        finished_at     INTEGER,
        observed        INTEGER NOT NULL DEFAULT 0,
        first_poll_json TEXT NOT NULL,
        last_poll_json  TEXT
    );
    CREATE INDEX obligations_due ON obligations (state, next_poll_at);
    CREATE INDEX obligations_run ON obligations (run_id, state);",
];
