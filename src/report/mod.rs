//! Renders a [`JourneyRun`](crate::runner::JourneyRun) for people and tools:
//! live text progress and a 3 a.m.-readable summary ([`text`]), the full run
//! as JSON, and JUnit XML for CI pipelines ([`junit`]); for a suite of runs
//! (`journeyd test`), [`suite`] holds the result and its JSON, and [`html`] a
//! self-contained HTML report.
//!
//! Runs reaching this module are already redacted by the runner.

pub mod html;
pub mod junit;
pub mod suite;
pub mod text;

use crate::runner::JourneyRun;

/// The full run as pretty JSON.
pub fn json(run: &JourneyRun) -> String {
    serde_json::to_string_pretty(run).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Seconds as a short human duration: `45ms`, `1.234s`, `2m05s` (the one format, [`crate::units`]).
pub use crate::units::format_seconds as human_duration;
