//! journeyd replays scripted customer journeys against a company's web
//! endpoints, step by step, proves that the asynchronous back-end processes
//! behind them finish, and reports what broke, where and why.
//!
//! # Layout
//!
//! - [`journey`]: the journey model (validated, pure types), parsing and
//!   validation with `file:line:col` errors, templating, secrets.
//! - [`runner`]: runs one journey: HTTP with phase timings, expectations,
//!   captures, eventually-polling, cleanup, producing a [`runner::JourneyRun`].
//! - [`redact`]: the single place secrets are scrubbed from everything a run produces.
//! - [`report`]: renders a run as text (for a person), JSON or JUnit XML.
//! - [`demo`]: the demo company back-end used by the README demo and the tests.
//! - [`daemon`]: `journeyd run`: configuration, scheduling, reload, shutdown, and the
//!   status board shared with the server.
//! - [`store`]: persistence behind one small interface: the run history, the
//!   one SQLite open layer every journeyd database uses ([`store::sqlite`]:
//!   identity, migrations, typed [`store::OpenError`]), and the shared test harness
//!   for `kill -9` crash tests. A full disk degrades it (runs counted as lost,
//!   the database reopened when space returns) instead of stopping monitoring.
//! - [`metrics`]: the Prometheus registry; every metric name is defined there once.
//! - [`server`]: axum: `/metrics`, health, JSON API, status page.

pub mod alert;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod journey;
pub mod metrics;
pub mod redact;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod server;
pub mod store;

/// `journeyd/<version>`: the User-Agent sent unless a journey overrides it.
pub const USER_AGENT: &str = concat!(
    "journeyd/",
    env!("CARGO_PKG_VERSION"),
    " (synthetic journey monitor)"
);
