//! journeyd's integration tests: one binary, a module per area, helpers in `util`.

mod check;
mod hostile;
mod util;
