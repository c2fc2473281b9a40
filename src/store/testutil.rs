//! Test-only `kill -9` crash harness, shared by every database's crash test.
//!
//! The parent test re-runs this test binary as a child that runs one
//! `#[ignore]`d test (the writer), reads the lines the child prints once a
//! write is confirmed, `SIGKILL`s it mid-stream, and then reopens the file
//! itself to check that everything confirmed survived. The child test learns
//! its file from [`CHILD_ENV`] and does nothing without it, so a plain
//! `--ignored` run does not write anywhere.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Tells the child test which file to write.
pub(crate) const CHILD_ENV: &str = "JOURNEYD_CRASH_CHILD_DB";

/// In the child test: the file to write, or `None` when not run by the harness.
pub(crate) fn child_path() -> Option<PathBuf> {
    std::env::var_os(CHILD_ENV).map(PathBuf::from)
}

/// A running child test, killed when dropped (a failing parent leaves no writer behind).
pub(crate) struct CrashChild {
    child: Child,
    lines: Receiver<String>,
}

impl CrashChild {
    /// Starts this test binary running only `test` (its full path, e.g.
    /// `store::tests::crash::crash_writer_child`) on `path`.
    pub(crate) fn spawn(test: &str, path: &Path) -> CrashChild {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--ignored", "--nocapture"])
            .env(CHILD_ENV, path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        CrashChild { child, lines }
    }

    /// Collects what `parse` makes of each line starting with `prefix` (the
    /// rest of the line) until there are at least `n` items; fails if they do
    /// not come `within`.
    pub(crate) fn collect<T>(
        &mut self,
        prefix: &str,
        n: usize,
        within: Duration,
        mut parse: impl FnMut(&str) -> Vec<T>,
    ) -> Vec<T> {
        let deadline = Instant::now() + within;
        let mut confirmed = Vec::new();
        while confirmed.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                panic!(
                    "child confirmed only {} of {n} writes within {within:?}",
                    confirmed.len()
                );
            };
            if let Some(rest) = line.strip_prefix(prefix) {
                confirmed.extend(parse(rest));
            }
        }
        confirmed
    }

    /// `SIGKILL`s the child, and checks that it died of it rather than
    /// finishing first (which would prove nothing).
    pub(crate) fn kill_9(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "child was killed, not finished: {status}"
        );
    }
}

impl Drop for CrashChild {
    fn drop(&mut self) {
        // Already reaped after `kill_9`; otherwise a panicking test stops it here.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts SQLite finds the file intact (`PRAGMA integrity_check`).
pub(crate) fn assert_intact(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{}", path.display());
}
