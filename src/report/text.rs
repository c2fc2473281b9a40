//! Text output of `journeyd once`: one line per step as it finishes, then a
//! summary that puts the failing step first with expected vs actual and the
//! response excerpt.

use std::fmt::Write;

use super::human_duration;
use crate::runner::{Evidence, JourneyRun, StepOutcome, StepVerdict, Verdict};

/// The progress line for a finished step.
pub fn step_line(outcome: &StepOutcome) -> String {
    let mark = match outcome.verdict {
        StepVerdict::Pass if outcome.obligation.is_some() => "PEND",
        StepVerdict::Pass if outcome.degraded => "SLOW",
        StepVerdict::Pass => "ok  ",
        StepVerdict::Fail => "FAIL",
        StepVerdict::Skipped => "skip",
    };
    let mut line = format!("  {mark} {:<28}", outcome.name);
    if outcome.verdict == StepVerdict::Skipped {
        let _ = write!(line, " {}", outcome.skip_reason.as_deref().unwrap_or(""));
        return line.trim_end().to_string();
    }
    match outcome.http_status {
        Some(s) => {
            let _ = write!(line, " {s}");
        }
        None => line.push_str(" ---"),
    }
    let _ = write!(line, " {:>8}", human_duration(outcome.duration_seconds));
    if outcome.attempts > 1 {
        let _ = write!(line, "  {} attempts", outcome.attempts);
    }
    if !outcome.retries.is_empty() {
        let reasons: Vec<&str> = outcome.retries.iter().map(|r| r.as_str()).collect();
        let _ = write!(line, "  retried after {}", reasons.join(", "));
    }
    if let Some(c) = outcome.backend_completion_seconds {
        let backend = outcome.backend.as_deref().unwrap_or("back-end");
        let _ = write!(line, "  {backend} done in {}", human_duration(c));
    }
    if let Some(f) = &outcome.failure {
        let _ = write!(line, "  {}", f.class);
    }
    if let Some(p) = &outcome.obligation {
        let watch = if p.watched {
            "watched by the daemon"
        } else {
            "not watched: only the daemon polls obligations"
        };
        let deadline = p.deadline.format("%Y-%m-%dT%H:%M:%SZ");
        let _ = write!(line, "  pending until {deadline}, {watch}");
    }
    line
}

/// The summary after the run: verdict, and for a failure everything on-call needs.
pub fn summary(run: &JourneyRun) -> String {
    let mut out = String::new();
    let Some(step) = run.failed_step() else {
        let _ = writeln!(
            out,
            "PASS {} in {}{}",
            run.journey,
            human_duration(run.duration_seconds),
            if run.degraded {
                " (degraded: a step was slower than its warning threshold)"
            } else {
                ""
            }
        );
        cleanup_note(run, &mut out);
        let _ = writeln!(out, "run {}{}", run.run_id, trace_note(run));
        return out;
    };
    let Some(f) = &step.failure else {
        return out;
    };
    let backend = step
        .backend
        .as_ref()
        .map(|b| format!(" (backend {b})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "FAIL {} at step \"{}\"{backend}: {}",
        run.journey, step.name, f.class
    );
    // Where the step is written, as rustc and Hurl point at the source of an error.
    if let Some(source) = &step.source {
        let _ = writeln!(out, "  --> {source}");
    }
    let _ = writeln!(out, "  {}", f.message);
    if !f.mismatches.is_empty() {
        let _ = writeln!(out, "\n  expected vs actual:");
        for m in &f.mismatches {
            let _ = writeln!(
                out,
                "    {:<24} expected {}\n    {:<24} actual   {}",
                m.subject, m.expected, "", m.actual
            );
        }
    }
    if let Some(e) = &step.evidence {
        evidence_note(e, &mut out);
    }
    if !run.captures.is_empty() {
        let vars: Vec<String> = run
            .captures
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(out, "\n  captured: {}", vars.join("  "));
    }
    cleanup_note(run, &mut out);
    let _ = writeln!(
        out,
        "\n  run {}  {}  duration {}{}",
        run.run_id,
        run.started_at.to_rfc3339(),
        human_duration(run.duration_seconds),
        trace_note(run)
    );
    debug_assert_eq!(run.verdict, Verdict::Fail);
    out
}

/// `  trace <id>`, to look the run up in the back-end's tracing system.
fn trace_note(run: &JourneyRun) -> String {
    run.trace_id
        .as_ref()
        .map(|t| format!("  trace {t}"))
        .unwrap_or_default()
}

/// The request and response excerpt of the failing exchange.
fn evidence_note(e: &Evidence, out: &mut String) {
    let _ = writeln!(out, "\n  request:  {} {}", e.request.method, e.request.url);
    if let Some(r) = &e.response {
        let ct = r
            .headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let _ = writeln!(out, "  response: {} {ct}", r.status);
        if !r.body.is_empty() {
            for line in r.body.lines().take(20) {
                let _ = writeln!(out, "    {line}");
            }
            if r.truncated {
                let _ = writeln!(out, "    … (truncated)");
            }
        }
    }
}

fn cleanup_note(run: &JourneyRun, out: &mut String) {
    for c in &run.cleanup {
        match (&c.verdict, &c.failure) {
            (StepVerdict::Fail, Some(f)) => {
                let _ = writeln!(
                    out,
                    "  cleanup \"{}\" failed ({}): {}",
                    c.name, f.class, f.message
                );
            }
            (StepVerdict::Skipped, _) => {
                let _ = writeln!(
                    out,
                    "  cleanup \"{}\" skipped: {}",
                    c.name,
                    c.skip_reason.as_deref().unwrap_or("")
                );
            }
            _ => {}
        }
    }
}
