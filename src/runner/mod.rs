//! Runs one journey: renders each step's request, sends it over a per-run
//! HTTP client, evaluates expectations and captures, polls `eventually`
//! steps (a `durable` one polls once and is handed over as an obligation),
//! always runs cleanup (held while an obligation is pending), and returns a
//! [`JourneyRun`].

pub mod capture;
mod cleanup;
pub mod expect;
pub mod handoff;
pub mod http;
mod obligation;
mod options;
mod prepare;
pub mod redact;
pub mod result;
mod retry;
mod run;
mod step;

pub use cleanup::{run_owed_cleanup, still_owed};
pub use obligation::{PollResult, poll_obligation, poll_summary};
pub use options::{RunEvent, RunOptions};
pub use result::*;
pub use run::run_journey;
