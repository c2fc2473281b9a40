//! journeyd's integration tests: one binary, a module per area, helpers in `util`.

// Test code: a panic (unwrap, expect, panic!) is how a test or a test helper fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod alert_store_pg;
mod alerting;
mod check;
mod daemon;
mod deploys;
mod descriptors;
mod diagnostics;
mod docs;
mod eventually;
mod expect_parity;
mod fleet;
mod fleet_alerts;
mod fleet_cleanup;
mod fleet_faults;
mod fleet_locations;
mod fleet_view;
mod full_disk;
mod headers;
mod hostile;
mod import_hurl;
mod journeys;
mod limits;
mod log_injection;
mod manpages;
mod notify;
mod once;
mod otlp;
mod prometheus;
mod retry;
mod schema;
mod secret_forms;
mod status_page;
mod status_views;
mod supervise;
mod test_cmd;
mod trace;
mod util;
