//! systemd notifications (`Type=notify`): READY, RELOADING with
//! MONOTONIC_USEC, STOPPING, and WATCHDOG from the scheduler loop itself, so
//! a stuck scheduler stops the pings and systemd restarts the service.
//! Outside systemd (`NOTIFY_SOCKET` unset) every call is a no-op.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "systemd notification failed.");
    }
}

/// The daemon serves.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A reload starts; systemd needs the monotonic time with it.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// Shutdown starts.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// Sends WATCHDOG=1 at most every half watchdog period.
#[derive(Debug)]
pub struct Watchdog {
    period: Option<Duration>,
    last_ms: AtomicI64,
}

impl Watchdog {
    /// Reads `WATCHDOG_USEC` (set by systemd when `WatchdogSec=` is configured).
    pub fn from_env() -> Self {
        Self {
            period: sd_notify::watchdog_enabled(),
            last_ms: AtomicI64::new(0),
        }
    }

    /// Called from the scheduler loop on every tick.
    pub fn ping(&self) {
        let Some(period) = self.period else {
            return;
        };
        let now = chrono::Utc::now().timestamp_millis();
        let half = (period.as_millis() / 2) as i64;
        if now - self.last_ms.load(Ordering::Relaxed) >= half {
            self.last_ms.store(now, Ordering::Relaxed);
            send(&[NotifyState::Watchdog]);
        }
    }
}
