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

/// Seconds as a short human duration: `45ms`, `1.23s`, `2m05s`.
pub fn human_duration(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{}ms", (seconds * 1000.0).round() as u64)
    } else if seconds < 60.0 {
        format!("{seconds:.2}s")
    } else {
        let s = seconds.round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
