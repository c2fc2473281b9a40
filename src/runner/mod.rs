//! Runs one journey: renders each step's request, sends it over a per-run
//! HTTP client, evaluates expectations and captures, polls `eventually`
//! steps, always runs cleanup, and returns a [`JourneyRun`].

pub mod capture;
pub mod expect;
pub mod http;
mod prepare;
pub mod redact;
pub mod result;
mod retry;
mod run;
mod step;

pub use result::*;
pub use run::{RunEvent, RunOptions, run_journey};
