//! systemd's notify protocol on a real socket: the test owns a Unix datagram
//! socket, passes it as `NOTIFY_SOCKET` (with `WATCHDOG_USEC`) to the real
//! `journeyd run`, and reads what systemd would read: `READY=1` once serving,
//! `WATCHDOG=1` pings, `RELOADING=1` with `MONOTONIC_USEC` on SIGHUP, and
//! `STOPPING=1` on SIGTERM, before a clean exit.

use std::sync::Mutex;
use std::time::Duration;

use tokio::net::UnixDatagram;

use crate::util::daemon::{CONFIG, TestDaemon};
use crate::util::wait::wait_until;

/// How long any one notification may take to arrive (a debug build under load).
const WITHIN: Duration = Duration::from_secs(20);

/// The socket systemd would own, and every datagram read from it so far.
struct Systemd {
    sock: UnixDatagram,
    seen: Mutex<Vec<String>>,
}

impl Systemd {
    /// Reads what has arrived; returns every message so far.
    fn drain(&self) -> Vec<String> {
        let mut seen = self.seen.lock().unwrap();
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.sock.try_recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        seen.clone()
    }

    /// Waits (bounded) until a message after the first `from` has `line` as a whole line.
    async fn wait_for(&self, line: &str, from: usize) -> usize {
        let found = wait_until(WITHIN, async || {
            let seen = self.drain();
            match seen[from.min(seen.len())..]
                .iter()
                .position(|m| m.lines().any(|l| l == line))
            {
                Some(i) => Ok(from + i),
                None => Err(format!("no {line} after message {from}; got {seen:?}")),
            }
        })
        .await;
        found.unwrap_or_else(|why| panic!("{why}"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_watchdog_reloading_and_stopping_reach_the_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journeys")).unwrap();
    // One journey is needed to start; it runs once against a closed loopback port.
    std::fs::write(
        dir.path().join("journeys/idle.yaml"),
        "name: idle\ninterval: 1h\nsteps:\n  - name: home\n    request: { url: \"http://127.0.0.1:9/\" }\n",
    )
    .unwrap();
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let socket = path.to_string_lossy().into_owned();
    let env = [
        ("NOTIFY_SOCKET", socket.as_str()),
        // 1 s watchdog: journeyd pings at least every half period.
        ("WATCHDOG_USEC", "1000000"),
        ("JOURNEYD_SECRET_ADMIN_TOKEN", "notify-test-token"),
    ];
    let mut d = TestDaemon::start(dir.path(), CONFIG, &env).await;
    let systemd = Systemd {
        sock,
        seen: Mutex::new(Vec::new()),
    };

    systemd.wait_for("READY=1", 0).await;
    // The watchdog keeps pinging: a second ping after the first.
    let ping = systemd.wait_for("WATCHDOG=1", 0).await;
    systemd.wait_for("WATCHDOG=1", ping + 1).await;

    d.signal("HUP");
    let at = systemd.wait_for("RELOADING=1", 0).await;
    let reloading = systemd.drain()[at].clone();
    assert!(
        reloading.lines().any(|l| l.starts_with("MONOTONIC_USEC=")),
        "RELOADING=1 without MONOTONIC_USEC: {reloading:?}"
    );
    // A finished reload says READY=1 again.
    systemd.wait_for("READY=1", at + 1).await;

    d.signal("TERM");
    systemd.wait_for("STOPPING=1", 0).await;
    let status = d.wait_exit(WITHIN).await;
    assert!(status.success(), "exit after SIGTERM: {status}");
}
