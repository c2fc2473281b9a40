//! What the daemon and the HTTP server share, in a module neither owns: the
//! status board the scheduler writes and the pages read, and the control
//! channel the API uses to ask the daemon for a run or a reload.
//!
//! It lives here, not under `daemon`, because the daemon starts the server:
//! with these types in `daemon`, the server would import the module that
//! imports it.

pub mod board;
pub mod control;
pub mod recent;
