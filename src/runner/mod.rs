//! Runs one journey: renders each step's request, sends it over a per-run
//! HTTP client, evaluates expectations and captures, polls `eventually`
//! steps, sends on-failure diagnostics (`diagnostics.rs`), always runs cleanup, and returns a [`JourneyRun`].

pub mod capture;
mod cleanup;
pub mod diagnostics;
pub mod expect;
pub mod handoff;
pub mod http;
mod options;
mod prepare;
pub mod redact;
pub mod result;
mod retry;
mod run;
mod step;

pub use cleanup::{run_owed_cleanup, still_owed};
pub use options::{RunEvent, RunOptions};
pub use result::*;
pub use run::run_journey;
