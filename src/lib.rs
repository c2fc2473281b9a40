//! journeyd replays scripted customer journeys against a company's web
//! endpoints, step by step, proves that the asynchronous back-end processes
//! behind them finish, and reports what broke, where and why.
//!
//! # Layout
//!
//! - [`journey`]: the journey model (validated, pure types), parsing and
//!   validation with `file:line:col` errors, templating, secrets, the
//!   on-failure diagnostic requests ([`journey::diagnostic`]); the JSON
//!   Schema of the format is generated from its raw types
//!   ([`journey::parse::journey_schema`], committed under `schema/`).
//! - [`config`]: the daemon configuration: raw types, validation, built [`config::Config`].
//! - [`diagnostics`]: what the journey and configuration loaders share: strict YAML
//!   decoding, positions, `file:line:col` errors with the source line and a caret,
//!   "did you mean".
//! - [`labels`]: the label-name rules (syntax, names journeyd keeps for itself), in one place
//!   for journey labels, daemon labels and the metrics registry.
//! - [`units`]: parsing durations and sizes, and the one duration format (`42ms`, `2.35s`).
//! - [`runner`]: runs one journey: HTTP with phase timings, expectations,
//!   captures, eventually-polling, on-failure diagnostics ([`runner::diagnostics`]:
//!   requests a journey or step declares, sent once after a failing step, evidence
//!   only), cleanup, producing a [`runner::JourneyRun`];
//!   [`runner::handoff`] is how a run reports cleanup it owes and obligations of
//!   `durable` steps it leaves pending;
//!   [`runner::redact`] is the single place secrets are scrubbed from everything
//!   a run produces.
//! - [`report`]: renders a run as text (for a person), JSON or JUnit XML, and a
//!   `journeyd test` suite ([`report::suite`]) as JSON, JUnit XML or HTML.
//! - [`import`]: converters of other tools' files into journey YAML
//!   ([`import::hurl`]: Hurl files, with a parser of its own for the
//!   line-oriented grammar subset); what is not converted is reported and kept
//!   as a comment. Depends on nothing but [`units`]; `journeyd check` then
//!   validates the output like any journey.
//! - [`demo`]: the demo company back-end used by the README demo and the tests.
//! - [`daemon`]: `journeyd run`: configuration, scheduling, reload, shutdown.
//! - [`status`]: what the daemon and the server share: the status board and the
//!   control channel (run now, reload) with its typed errors. Neither owns it, so
//!   the daemon can start the server without the server importing the daemon.
//! - [`alert`]: the alert state machine (pure, [`alert::state`]), the engine that
//!   reconciles it with what receivers were told (`alert/engine/`: load,
//!   reconcile, probe, resend, io, deploys), the durable outbox (alert state,
//!   notifications, silences, deploys; `alert/outbox/`: `backend.rs` dispatches
//!   to SQLite, `db.rs`, or PostgreSQL, `pg.rs` and `pg_sql.rs`), and one file per receiver
//!   ([`alert::receivers`]: settings, validation and delivery together).
//! - [`store`]: persistence behind one small interface: the run history, the
//!   one SQLite open layer every journeyd database uses ([`store::sqlite`]:
//!   identity, migrations, typed [`store::OpenError`]), and the shared test harness
//!   for `kill -9` crash tests; [`store::PendingWork`] keeps, where the history is (the
//!   same file, or PostgreSQL: `store/postgres/{pending,cleanup,obligation}.rs`), the
//!   cleanup runs could not finish (retried by the daemon, `daemon/cleanup.rs`) and the
//!   obligations of `durable` steps (`store/obligation.rs`, polled by
//!   `daemon/obligation.rs`, one poll in [`runner::poll_obligation`]). A full disk degrades it (runs counted as lost,
//!   the database reopened when space returns) instead of stopping monitoring.
//!   [`store::postgres`] keeps the run history, pending work and the alert tables in
//!   PostgreSQL instead (`store:` in the configuration; the driver choice is in its module docs).
//! - [`fleet`]: replicas sharing the journeys of a location through leases in
//!   PostgreSQL (fencing terms, one slot grid for the fleet; docs/scaling.md),
//!   the fleet's one alerting leader ([`fleet::leader`]) and its input, the
//!   runs of every location ([`fleet::inbox`]); the leader's engine votes by
//!   location (`alert/engine/consensus.rs`); [`fleet::view`] reads who runs
//!   what for `/fleet` and `/api/fleet`.
//! - [`metrics`]: every metric name is defined there once; daemon-wide series in the
//!   Prometheus registry, per-journey series held by journeyd and streamed as text.
//! - [`server`]: axum: `/metrics`, health, JSON API (deploys included), status page,
//!   fleet page.
//! - [`trace_export`]: the optional OTLP/HTTP export of finished runs as spans
//!   (run, steps, attempts; the attempts' ids are the ones sent in `traceparent`),
//!   through a bounded queue so it never slows a run; [`trace_export::spans`] is
//!   the pure run-to-OTLP-JSON part.

pub mod alert;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod diagnostics;
pub mod fleet;
pub mod import;
pub mod journey;
pub mod labels;
pub mod metrics;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod server;
pub mod status;
pub mod store;
pub mod tls;
pub mod trace_export;
pub mod units;

/// `journeyd/<version>`: the User-Agent sent unless a journey overrides it.
pub const USER_AGENT: &str = concat!(
    "journeyd/",
    env!("CARGO_PKG_VERSION"),
    " (synthetic journey monitor)"
);
