//! journeyd's integration tests: one binary, a module per area, helpers in `util`.

mod alerting;
mod check;
mod daemon;
mod docs;
mod hostile;
mod journeys;
mod once;
mod prometheus;
mod status_page;
mod util;
