//! The on-failure diagnostics of a failed step on the run page: one line each
//! (name, status, excerpt or error), with the request and the start of the
//! response body folded under it. Evidence only: nothing here is judged.

use std::fmt::{self, Write};

use super::layout::{Esc, fmt_secs};
use crate::runner::DiagnosticResult;

/// A `<details>` block listing the step's diagnostics (nothing when it has none).
pub fn write(out: &mut String, diagnostics: &[DiagnosticResult]) -> fmt::Result {
    if diagnostics.is_empty() {
        return Ok(());
    }
    out.push_str(
        "<details open class=\"diagnostics\"><summary class=\"small\">diagnostics \
         (sent after the failure; evidence only, not judged)</summary><ul>",
    );
    for d in diagnostics {
        write_one(out, d)?;
    }
    out.push_str("</ul></details>");
    Ok(())
}

fn write_one(out: &mut String, d: &DiagnosticResult) -> fmt::Result {
    write!(out, "<li><strong>{}</strong> ", Esc(&d.name))?;
    if let Some(r) = &d.skip_reason {
        write!(out, "<span class=\"muted\">skipped: {}</span></li>", Esc(r))?;
        return Ok(());
    }
    if let Some(s) = d.status {
        write!(out, "HTTP {s} ")?;
    }
    write!(
        out,
        "<span class=\"small muted\">{}</span>",
        fmt_secs(d.duration_seconds)
    )?;
    if let Some(e) = &d.error {
        write!(out, "<div class=\"problem\">{}</div>", Esc(e))?;
    }
    if let Some(x) = &d.excerpt {
        write!(out, "<div><code class=\"excerpt\">{}</code></div>", Esc(x))?;
    }
    write!(
        out,
        "<div class=\"small muted\">{} {}",
        Esc(&d.method),
        Esc(&d.url)
    )?;
    if let Some(t) = &d.trace_id {
        write!(out, " &middot; trace <code>{}</code>", Esc(t))?;
    }
    out.push_str("</div>");
    if let Some(b) = &d.body {
        write!(out, "<pre>{}</pre>", Esc(b))?;
        if d.truncated {
            out.push_str("<div class=\"small muted\">body truncated</div>");
        }
    }
    out.push_str("</li>");
    Ok(())
}
