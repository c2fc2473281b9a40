//! Supervision of the long-lived tasks (scheduler, run tasks, alert engine,
//! delivery workers, HTTP server).
//!
//! A panic in a tokio task is otherwise swallowed: the task is gone, the
//! process keeps answering and exits 0 at shutdown, so a daemon that stopped
//! running journeys or sending alerts passes for a healthy one. No task here
//! is safe to restart blindly (a scheduler restarted from scratch would lose
//! its queue, an engine its in-memory state), so any panic stops the daemon
//! with a non-zero status and systemd (`Restart=on-failure`) starts it again
//! from the persisted state. The panic is logged at once, and `/healthz`
//! answers 503 until the process is gone.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::status::control::Health;

/// Installs a process-wide panic hook that logs the panic, marks `health`
/// failed and cancels `died`. The previous hook still runs (it prints the
/// backtrace when `RUST_BACKTRACE` asks for one).
pub(super) fn install(health: Arc<Health>, died: CancellationToken) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = payload(info);
        tracing::error!(
            thread = thread.name().unwrap_or("unnamed"),
            location = %location,
            panic = %message,
            "A task panicked; journeyd stops with an error so the service manager restarts it."
        );
        health.set_failed(format!("a task panicked at {location}: {message}"));
        died.cancel();
        previous(info);
    }));
}

fn payload(info: &std::panic::PanicHookInfo<'_>) -> String {
    if let Some(s) = info.payload().downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = info.payload().downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Test hook: panics in `task` (`scheduler`, `run` or `alerting`) when
/// `JOURNEYD_DEBUG_PANIC` names it. Compiled only into debug builds, so a
/// release binary has no way to be made to panic on purpose.
#[cfg(debug_assertions)]
pub(super) fn debug_panic(task: &str) {
    if std::env::var("JOURNEYD_DEBUG_PANIC").is_ok_and(|v| v == task) {
        #[allow(clippy::panic)]
        {
            panic!("JOURNEYD_DEBUG_PANIC={task}");
        }
    }
}

/// Release builds: nothing.
#[cfg(not(debug_assertions))]
pub(super) fn debug_panic(_task: &str) {}
