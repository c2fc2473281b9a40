//! A self-contained HTML report of a `journeyd test` suite, in the spirit of
//! Hurl's: a summary table, then every journey run with its steps and, for the
//! failing step, expected vs actual and the redacted request and response.
//!
//! One file with inline CSS, no JavaScript and no external asset (fonts,
//! images, scripts): it is opened from CI artifacts, offline, and must not run
//! anything. Every value from a run is escaped, since response bodies are
//! whatever the target sent.

use std::fmt::{self, Write};

use super::human_duration;
use super::suite::{Outcome, SuiteEntry, SuiteReport};
use crate::runner::{Evidence, StepOutcome, StepVerdict};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}\
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.pass{color:#17702a}.fail{color:#b00020}.flaky{color:#9a6700}\
.skipped{color:#777}pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap}\
section{border-top:1px solid #ddd;padding-top:.5em}code{background:#f6f8fa}";

/// The whole report as one HTML document.
pub fn html(suite: &SuiteReport) -> String {
    let t = &suite.totals;
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>journeyd test report</title><style>{STYLE}</style></head><body>\n\
         <h1>journeyd test report</h1>\n<p>{} journey run(s) in {}, started {}: \
         <span class=\"pass\">{} passed</span>, <span class=\"flaky\">{} flaky</span>, \
         <span class=\"fail\">{} failed</span></p>\n",
        suite.runs.len(),
        human_duration(suite.duration_seconds),
        esc(&suite.started_at.to_rfc3339()),
        t.passed,
        t.flaky,
        t.failed,
    );
    out.push_str(
        "<table><tr><th>journey</th><th>result</th><th>duration</th><th>attempts</th>\
         <th>failing step</th></tr>\n",
    );
    for (i, e) in suite.runs.iter().enumerate() {
        let failing = e
            .run
            .failed_step()
            .map(|s| esc(&s.name))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#run-{i}\">{}</a></td><td class=\"{r}\">{r}</td><td>{}</td>\
             <td>{}</td><td>{failing}</td></tr>",
            esc(&e.label(suite.repeat)),
            human_duration(e.duration_seconds()),
            e.attempts,
            r = e.result.as_str(),
        );
    }
    out.push_str("</table>\n");
    for (i, e) in suite.runs.iter().enumerate() {
        entry_section(&mut out, i, e, suite.repeat);
    }
    out.push_str("</body></html>\n");
    out
}

fn entry_section(out: &mut String, i: usize, e: &SuiteEntry, repeat: u32) {
    let _ = writeln!(
        out,
        "<section id=\"run-{i}\"><h2>{} <span class=\"{r}\">{r}</span></h2>\n\
         <p>file <code>{}</code>, run <code>{}</code>, {}</p>",
        esc(&e.label(repeat)),
        esc(&e.file),
        e.run.run_id,
        esc(&e.run.started_at.to_rfc3339()),
        r = e.result.as_str(),
    );
    if e.result == Outcome::Flaky || !e.failed_attempts.is_empty() {
        out.push_str("<ul>");
        for (n, r) in e.failed_attempts.iter().enumerate() {
            let why = r
                .failed_step()
                .and_then(|s| Some((s, s.failure.as_ref()?)))
                .map(|(s, f)| format!("step “{}” ({}): {}", s.name, f.class, f.message))
                .unwrap_or_default();
            let _ = write!(out, "<li>attempt {} failed: {}</li>", n + 1, esc(&why));
        }
        out.push_str("</ul>\n");
    }
    out.push_str(
        "<table><tr><th>step</th><th>result</th><th>status</th><th>duration</th>\
         <th>attempts</th><th>failure</th></tr>\n",
    );
    for s in &e.run.steps {
        step_row(out, s, "");
    }
    for s in &e.run.cleanup {
        step_row(out, s, "cleanup: ");
    }
    out.push_str("</table>\n");
    if let Some(step) = e.run.failed_step() {
        failure_detail(out, step);
    }
    out.push_str("</section>\n");
}

fn step_row(out: &mut String, s: &StepOutcome, prefix: &str) {
    let (class, word) = match s.verdict {
        StepVerdict::Pass => ("pass", "pass"),
        StepVerdict::Fail => ("fail", "fail"),
        StepVerdict::Skipped => ("skipped", "skipped"),
    };
    let failure = match (&s.failure, &s.skip_reason) {
        (Some(f), _) => format!("{}: {}", f.class, f.message),
        (None, Some(r)) => r.clone(),
        (None, None) => String::new(),
    };
    let _ = writeln!(
        out,
        "<tr><td>{}{}</td><td class=\"{class}\">{word}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td></tr>",
        esc(prefix),
        esc(&s.name),
        s.http_status.map(|c| c.to_string()).unwrap_or_default(),
        human_duration(s.duration_seconds),
        s.attempts,
        esc(&failure),
    );
}

/// Expected vs actual and the evidence of the failing step.
fn failure_detail(out: &mut String, step: &StepOutcome) {
    let _ = writeln!(out, "<h3>failing step: {}</h3>", esc(&step.name));
    if let Some(source) = &step.source {
        let _ = writeln!(out, "<p>at <code>{}</code></p>", esc(source));
    }
    let Some(f) = &step.failure else {
        return;
    };
    let _ = writeln!(
        out,
        "<p class=\"fail\">{}: {}</p>",
        f.class,
        esc(&f.message)
    );
    if !f.mismatches.is_empty() {
        out.push_str("<table><tr><th>checked</th><th>expected</th><th>actual</th></tr>\n");
        for m in &f.mismatches {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                esc(&m.subject),
                esc(&m.expected),
                esc(&m.actual)
            );
        }
        out.push_str("</table>\n");
    }
    if let Some(e) = &step.evidence {
        evidence(out, e);
    }
    if !step.diagnostics.is_empty() {
        out.push_str("<h4>diagnostics (evidence only, not judged)</h4><ul>\n");
        for d in &step.diagnostics {
            let _ = writeln!(out, "<li><code>{}</code></li>", esc(&d.line()));
        }
        out.push_str("</ul>\n");
    }
}

fn evidence(out: &mut String, e: &Evidence) {
    let mut req = format!("{} {}\n", e.request.method, e.request.url);
    for (k, v) in &e.request.headers {
        let _ = writeln!(req, "{k}: {v}");
    }
    if let Some(body) = &e.request.body {
        let _ = write!(req, "\n{body}");
    }
    let _ = writeln!(out, "<h4>request</h4><pre>{}</pre>", esc(&req));
    if let Some(r) = &e.response {
        let mut resp = format!("{}\n", r.status);
        for (k, v) in &r.headers {
            let _ = writeln!(resp, "{k}: {v}");
        }
        let _ = write!(resp, "\n{}", r.body);
        if r.truncated {
            resp.push_str("\n… (truncated)");
        }
        let _ = writeln!(out, "<h4>response</h4><pre>{}</pre>", esc(&resp));
    }
}

/// Writes its text HTML-escaped (safe in element content and in quoted attributes).
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// [`Esc`] as a `String`.
pub fn esc(s: &str) -> String {
    Esc(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
