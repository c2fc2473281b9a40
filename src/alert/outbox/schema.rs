//! The alert database's identity and schema migrations; opening, identity
//! checks and migrating are `store::sqlite`'s, as for the run history.

use crate::store::Database;
use crate::store::sqlite::{Schema, Synchronous};

/// The alert database (`alerts.db`).
///
/// `synchronous=FULL`, unlike the run history: every commit is synced, so a
/// committed state change and its notifications survive a power loss too, not
/// only a process crash. Alert writes are a few per state change, so the fsync
/// costs nothing that matters.
pub(super) const ALERTS: Schema = Schema {
    database: Database::Alerts,
    // "JRNA": distinct from the run history's, so neither file is mistaken
    // for the other.
    application_id: 0x4A52_4E41,
    migrations: MIGRATIONS,
    synchronous: Synchronous::Full,
    // A run writes one journey's row; the whole table is read only at start-up.
    // SQLite's default (2 MB) would hold about 1 KiB per configured journey
    // until it fills, copies of pages the kernel caches anyway.
    cache_kib: 256,
};

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
    // 2: deploys recorded through `POST /api/deploys` (`deploys.rs`).
    "CREATE TABLE deploys (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        at            INTEGER NOT NULL,
        service       TEXT NOT NULL,
        backends_json TEXT NOT NULL,
        journeys_json TEXT NOT NULL,
        version       TEXT NOT NULL,
        description   TEXT NOT NULL
    );
    CREATE INDEX deploys_at ON deploys (at);",
];
