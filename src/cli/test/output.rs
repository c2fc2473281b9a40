//! What `journeyd test` prints and writes: the summary table, and the report in
//! the chosen format (to stdout, or to `--report FILE` with the summary on stdout).

use std::fmt::Write;
use std::path::Path;

use clap::ValueEnum;
use journeyd::report::suite::{Outcome, SuiteReport};
use journeyd::report::{html, human_duration, junit, text};

/// Report format of `journeyd test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// The summary table, then each failure in detail.
    Text,
    /// Every journey run with its steps, as JSON.
    Json,
    /// JUnit XML: a test suite per journey run, a test case per step.
    Junit,
    /// One self-contained HTML page (no scripts, no external assets).
    Html,
}

/// The summary table: journey, result, duration, failing step; then the totals.
pub fn summary_table(suite: &SuiteReport) -> String {
    let rows: Vec<[String; 4]> = suite
        .runs
        .iter()
        .map(|e| {
            let failing = match (e.result, e.run.failed_step()) {
                (Outcome::Fail, Some(s)) => {
                    let class = s.failure.as_ref().map(|f| f.class.as_str()).unwrap_or("");
                    format!("{} ({class})", s.name)
                }
                (Outcome::Flaky, _) => format!("(passed on attempt {})", e.attempts),
                _ => String::new(),
            };
            [
                e.label(suite.repeat),
                e.result.as_str().to_string(),
                human_duration(e.duration_seconds()),
                failing,
            ]
        })
        .collect();
    let header = ["journey", "result", "duration", "failing step"].map(String::from);
    let mut widths = [0usize; 3];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:<a$}  {:<b$}  {:>c$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            a = widths[0],
            b = widths[1],
            c = widths[2]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let t = &suite.totals;
    let _ = writeln!(
        out,
        "\n{} journey run(s) in {}: {} passed, {} flaky, {} failed",
        suite.runs.len(),
        human_duration(suite.duration_seconds),
        t.passed,
        t.flaky,
        t.failed
    );
    out
}

/// The report in `format`.
pub fn render(suite: &SuiteReport, format: TestFormat) -> String {
    match format {
        TestFormat::Text => {
            let mut out = summary_table(suite);
            for e in suite.runs.iter().filter(|e| e.result == Outcome::Fail) {
                let _ = write!(out, "\n{}", text::summary(&e.run));
            }
            out
        }
        TestFormat::Json => suite.json(),
        TestFormat::Junit => junit::suite_junit(suite),
        TestFormat::Html => html::html(suite),
    }
}

/// Prints the report, or writes it to `report` and prints the summary table.
pub fn emit(suite: &SuiteReport, format: TestFormat, report: Option<&Path>) -> Result<(), String> {
    let Some(file) = report else {
        println!("{}", render(suite, format).trim_end());
        return Ok(());
    };
    std::fs::write(file, render(suite, format))
        .map_err(|e| format!("cannot write the report {}: {e}", file.display()))?;
    print!("{}", summary_table(suite));
    for e in suite.runs.iter().filter(|e| e.result == Outcome::Fail) {
        print!("\n{}", text::summary(&e.run));
    }
    println!("report: {}", file.display());
    Ok(())
}
