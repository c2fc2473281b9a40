//! One step of the run page: verdict line, waterfall of HTTP phases, failure
//! with its mismatches, and the (already redacted) evidence.

use std::fmt::{self, Write};

use super::layout::{Esc, fmt_secs};
use super::step_verdict_name;
use crate::runner::{Evidence, Failure, PhaseTimings, StepOutcome, StepVerdict};

/// Anchor prefix of journey steps.
pub const STEPS: &str = "step";
/// Anchor prefix of cleanup steps.
pub const CLEANUP: &str = "cleanup";

/// The fragment id of the `i`th (0-based) step of a list; positions, not names,
/// since step names are free text.
pub fn anchor(kind: &str, i: usize) -> String {
    format!("{kind}-{}", i + 1)
}

/// The waterfall's colour key.
pub fn write_legend(out: &mut String) -> fmt::Result {
    out.push_str("<div class=\"row small muted\">");
    for (class, label) in [
        ("resolve", "DNS"),
        ("connect", "connect + TLS"),
        ("processing", "server processing"),
        ("transfer", "transfer"),
        ("wait", "earlier attempts, other"),
    ] {
        write!(
            out,
            "<span><span class=\"key p-{class}\"></span>{label}</span>"
        )?;
    }
    out.push_str("</div>");
    Ok(())
}

/// The steps in order, bars scaled so that `longest` seconds fills the width.
pub fn write_list(
    out: &mut String,
    kind: &str,
    steps: &[StepOutcome],
    longest: f64,
) -> fmt::Result {
    out.push_str("<ol class=\"steps\">");
    for (i, s) in steps.iter().enumerate() {
        write_step(out, &anchor(kind, i), s, longest)?;
    }
    out.push_str("</ol>");
    Ok(())
}

fn write_step(out: &mut String, id: &str, s: &StepOutcome, longest: f64) -> fmt::Result {
    let verdict = step_verdict_name(s.verdict);
    write!(out, "<li id=\"{id}\"><div class=\"row\">")?;
    write!(
        out,
        "<span class=\"badge b-{verdict}\">{verdict}</span><strong>{}</strong>",
        Esc(&s.name)
    )?;
    if s.degraded {
        out.push_str("<span class=\"badge b-degraded\">slow</span>");
    }
    out.push_str("<span class=\"small muted\">");
    if let Some(status) = s.http_status {
        write!(out, "HTTP {status} &middot; ")?;
    }
    if s.attempts != 1 {
        write!(out, "{} attempts &middot; ", s.attempts)?;
    }
    if let Some(b) = &s.backend {
        write!(out, "backend {}", Esc(b))?;
        if let Some(c) = s.backend_completion_seconds {
            write!(out, " completed in {}", fmt_secs(c))?;
        }
        out.push_str(" &middot; ");
    }
    write!(out, "{}</span></div>", fmt_secs(s.duration_seconds))?;
    if let Some(r) = &s.skip_reason {
        write!(out, "<div class=\"small muted\">{}</div>", Esc(r))?;
    }
    if s.verdict != StepVerdict::Skipped {
        write_waterfall(out, s, longest)?;
    }
    if !s.captured.is_empty() {
        let names: Vec<String> = s.captured.iter().map(|c| Esc(c).to_string()).collect();
        write!(
            out,
            "<div class=\"small muted\">captured {}</div>",
            names.join(", ")
        )?;
    }
    if let (Some(t), Some(span)) = (&s.trace_id, &s.span_id) {
        write!(
            out,
            "<div class=\"small muted\">trace <code>{}</code> span <code>{}</code></div>",
            Esc(t),
            Esc(span)
        )?;
    }
    if let Some(f) = &s.failure {
        // Where the failing step is written, as a compiler error points at its source.
        if let Some(source) = &s.source {
            write!(
                out,
                "<div class=\"small muted\">defined at <code>{}</code></div>",
                Esc(source)
            )?;
        }
        write_failure(out, f)?;
    }
    if let Some(e) = &s.evidence {
        // The failing exchange is what on-call came for: open; others folded.
        let open = if s.verdict == StepVerdict::Fail {
            " open"
        } else {
            ""
        };
        write!(
            out,
            "<details{open}><summary class=\"small\">evidence</summary>"
        )?;
        write_evidence(out, e)?;
        out.push_str("</details>");
    }
    super::diagnostics::write(out, &s.diagnostics)?;
    out.push_str("</li>");
    Ok(())
}

/// The stacked phase bar. Phases are the last attempt's; the rest of the step's
/// time (earlier `eventually` attempts and their waits, client overhead) is
/// shown in grey, before the phases when there were earlier attempts.
fn write_waterfall(out: &mut String, s: &StepOutcome, longest: f64) -> fmt::Result {
    let segments = segments(s);
    let total: f64 = segments.iter().map(|seg| seg.2).sum();
    if longest <= 0.0 || total <= 0.0 {
        return Ok(());
    }
    let width = (total / longest * 100.0).clamp(0.0, 100.0);
    write!(out, "<div class=\"wf\" style=\"width:{width:.2}%\">")?;
    for &(class, label, secs) in &segments {
        if secs <= 0.0 {
            continue;
        }
        write!(
            out,
            "<span class=\"p-{class}\" style=\"width:{:.2}%\" title=\"{label}: {}\"></span>",
            secs / total * 100.0,
            fmt_secs(secs)
        )?;
    }
    out.push_str("</div><div class=\"small muted\">");
    // The numbers too: a phone has no hover for the tooltips.
    let mut first = true;
    for (_, label, secs) in segments.iter().filter(|seg| seg.2 > 0.0) {
        let sep = if first { "" } else { " &middot; " };
        write!(out, "{sep}{label} {}", fmt_secs(*secs))?;
        first = false;
    }
    out.push_str("</div>");
    Ok(())
}

/// `(css class, label, seconds)` in display order.
pub fn segments(s: &StepOutcome) -> Vec<(&'static str, &'static str, f64)> {
    let PhaseTimings {
        resolve,
        connect,
        processing,
        transfer,
    } = s.timings;
    let clean = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    let phases = [
        ("resolve", "DNS", clean(resolve)),
        ("connect", "connect + TLS", clean(connect)),
        ("processing", "server processing", clean(processing)),
        ("transfer", "transfer", clean(transfer)),
    ];
    let sum: f64 = phases.iter().map(|p| p.2).sum();
    let rest = (clean(s.duration_seconds) - sum).max(0.0);
    let mut out = Vec::with_capacity(5);
    if s.attempts > 1 {
        out.push(("wait", "earlier attempts", rest));
        out.extend(phases);
    } else {
        out.extend(phases);
        out.push(("wait", "other", rest));
    }
    out
}

fn write_failure(out: &mut String, f: &Failure) -> fmt::Result {
    write!(
        out,
        "<div class=\"problem\"><code>{}</code> {}</div>",
        f.class,
        Esc(&f.message)
    )?;
    if f.mismatches.is_empty() {
        return Ok(());
    }
    out.push_str("<div class=\"scroll\"><table><thead><tr><th>subject</th><th>expected</th>");
    out.push_str("<th>actual</th></tr></thead><tbody>");
    for m in &f.mismatches {
        write!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            Esc(&m.subject),
            Esc(&m.expected),
            Esc(&m.actual)
        )?;
    }
    out.push_str("</tbody></table></div>");
    Ok(())
}

fn write_evidence(out: &mut String, e: &Evidence) -> fmt::Result {
    let req = &e.request;
    write!(
        out,
        "<div class=\"small muted\">request</div><pre>{} {}",
        Esc(&req.method),
        Esc(&req.url)
    )?;
    write_headers(out, &req.headers)?;
    if let Some(b) = &req.body {
        write!(out, "\n\n{}", Esc(b))?;
    }
    out.push_str("</pre>");
    match &e.response {
        Some(resp) => {
            write!(
                out,
                "<div class=\"small muted\">response</div><pre>HTTP {}",
                resp.status
            )?;
            write_headers(out, &resp.headers)?;
            if !resp.body.is_empty() {
                write!(out, "\n\n{}", Esc(&resp.body))?;
            }
            out.push_str("</pre>");
            if resp.truncated {
                out.push_str("<div class=\"small muted\">body truncated</div>");
            }
        }
        None => out.push_str("<div class=\"small muted\">no response</div>"),
    }
    Ok(())
}

fn write_headers(out: &mut String, headers: &[(String, String)]) -> fmt::Result {
    for (k, v) in headers {
        write!(out, "\n{}: {}", Esc(k), Esc(v))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waterfall_puts_earlier_attempts_first_and_sums_to_the_step() {
        let mut s = StepOutcome::skipped("x", None, "r");
        s.verdict = StepVerdict::Pass;
        s.duration_seconds = 3.0;
        s.attempts = 4;
        s.timings = PhaseTimings {
            resolve: 0.0,
            connect: 0.1,
            processing: 0.4,
            transfer: 0.5,
        };
        let seg = segments(&s);
        assert_eq!(seg[0].0, "wait");
        assert!((seg[0].2 - 2.0).abs() < 1e-9, "{seg:?}");
        assert!((seg.iter().map(|x| x.2).sum::<f64>() - 3.0).abs() < 1e-9);
        s.attempts = 1;
        assert_eq!(segments(&s)[4].0, "wait");
    }
}
