//! journeyd's integration tests: one binary, a module per area, helpers in `util`.

mod check;
mod docs;
mod hostile;
mod journeys;
mod once;
mod util;
