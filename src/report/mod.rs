//! Renders a [`JourneyRun`](crate::runner::JourneyRun) for people and tools:
//! live text progress and a 3 a.m.-readable summary ([`text`]), the full run
//! as JSON, and JUnit XML for CI pipelines ([`junit`]).
//!
//! Runs reaching this module are already redacted by the runner.

pub mod junit;
pub mod text;

use crate::runner::JourneyRun;

/// The full run as pretty JSON.
pub fn json(run: &JourneyRun) -> String {
    serde_json::to_string_pretty(run).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Seconds as a short human duration: `45ms`, `1.234s`, `2m05s` (the one format, [`crate::units`]).
pub use crate::units::format_seconds as human_duration;
