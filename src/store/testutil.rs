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

/// A real, small file system for full-disk tests: a tmpfs mounted on a
/// temporary directory, unmounted when dropped.
///
/// Mounting needs root (CI runs as root). Without it the test fails and says
/// so, rather than passing without having tested anything.
pub(crate) struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=`, e.g. `4m`).
    pub(crate) fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::TempDir::new().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Tmpfs { dir },
            Ok(o) => panic!(
                "this test needs a real small file system and could not mount a tmpfs \
                 (`mount -t tmpfs` said: {}); run it as root, as CI does",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => panic!(
                "this test needs a real small file system and could not run `mount` ({e}); \
                 run it as root, as CI does"
            ),
        }
    }

    /// The mount point.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system to the last byte with a filler file.
    pub(crate) fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.filler()).unwrap();
        for chunk in [64 * 1024, 4096, 512, 1] {
            let buf = vec![0u8; chunk];
            while f.write_all(&buf).is_ok() {}
        }
        let _ = f.sync_all();
    }

    /// Removes the filler: space returns.
    pub(crate) fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }

    fn filler(&self) -> PathBuf {
        self.dir.path().join("filler")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a database handle still open in a background thread must not
        // keep the mount (and the test's temporary directory) around.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
