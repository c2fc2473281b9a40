//! Live progress of `journeyd test` on stderr, so stdout keeps only the summary
//! or the report. On a terminal: one line rewritten in place (`[12/40] 2 failed`),
//! failures printed above it as they happen. Elsewhere (CI logs, where `\r`
//! would pile up): one line per finished journey run.

use std::io::{IsTerminal, Write};

use journeyd::report::human_duration;
use journeyd::report::suite::{Outcome, SuiteEntry};

/// Progress state.
pub struct Progress {
    total: usize,
    done: usize,
    failed: usize,
    flaky: usize,
    repeat: u32,
    live: bool,
}

impl Progress {
    /// Progress over `total` runs; live when stderr is a terminal.
    pub fn new(total: usize, repeat: u32) -> Self {
        Self {
            total,
            done: 0,
            failed: 0,
            flaky: 0,
            repeat,
            live: std::io::stderr().is_terminal(),
        }
    }

    /// Shows the empty progress line (live mode only).
    pub fn start(&self) {
        if self.live {
            self.redraw();
        }
    }

    /// One run finished.
    pub fn finished(&mut self, e: &SuiteEntry) {
        self.done += 1;
        match e.result {
            Outcome::Fail => self.failed += 1,
            Outcome::Flaky => self.flaky += 1,
            Outcome::Pass => {}
        }
        let mut err = std::io::stderr().lock();
        if !self.live {
            let _ = writeln!(err, "[{}/{}] {}", self.done, self.total, self.line(e));
            return;
        }
        if e.result != Outcome::Pass {
            // Clear the progress line, print the event for good, redraw below it.
            let _ = writeln!(err, "\r\x1b[K{}", self.line(e));
        }
        drop(err);
        self.redraw();
    }

    /// Clears the live line before the summary is printed.
    pub fn finish(&self) {
        if self.live {
            eprint!("\r\x1b[K");
        }
    }

    fn redraw(&self) {
        let mut line = format!("[{}/{}]", self.done, self.total);
        if self.failed > 0 {
            line.push_str(&format!(" {} failed", self.failed));
        }
        if self.flaky > 0 {
            line.push_str(&format!(" {} flaky", self.flaky));
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{line}");
        let _ = err.flush();
    }

    /// `PASS purchase 1.2s`, `FAIL contract at "sign" (http_status) 0.8s`.
    fn line(&self, e: &SuiteEntry) -> String {
        let name = e.label(self.repeat);
        let took = human_duration(e.duration_seconds());
        match e.result {
            Outcome::Pass => format!("PASS  {name} {took}"),
            Outcome::Flaky => format!("FLAKY {name} {took} (passed on attempt {})", e.attempts),
            Outcome::Fail => {
                let at = e
                    .run
                    .failed_step()
                    .map(|s| {
                        let class = s.failure.as_ref().map(|f| f.class.as_str()).unwrap_or("");
                        format!(" at \"{}\" ({class})", s.name)
                    })
                    .unwrap_or_default();
                format!("FAIL  {name}{at} {took}")
            }
        }
    }
}
