//! What the HTTP server may ask of the daemon (run a journey now, reload),
//! and the health signals it reports.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use tokio::sync::oneshot;

/// Why the daemon did not start a requested run. The API answers each case
/// with its own status (404, 409, 503), so it is a type, not a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunNowError {
    /// No journey has this name (a reload may have removed it).
    #[error("no journey named `{0}`")]
    UnknownJourney(String),
    /// The journey is running; runs of one journey never overlap.
    #[error("journey `{0}` is already running")]
    AlreadyRunning(String),
    /// The scheduler is gone (the daemon is shutting down).
    #[error("the scheduler stopped")]
    SchedulerStopped,
}

/// Why a reload kept the running configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReloadError {
    /// The configuration or a journey is invalid: every problem, as
    /// `file:line:col: field.path: message`.
    #[error("invalid configuration ({} problem(s))", .0.len())]
    Invalid(Vec<String>),
}

/// A request from the API to the daemon.
#[derive(Debug)]
pub enum Control {
    /// Run this journey now (outside its schedule). Replies `Err` when the
    /// journey does not exist, is already running, or the scheduler stopped.
    RunNow {
        /// Journey name.
        journey: String,
        /// The reply.
        reply: oneshot::Sender<Result<(), RunNowError>>,
    },
    /// Reload configuration and journeys. Replies `Ok` with a summary after the
    /// new set is in place, or with every error (the old set kept).
    Reload {
        /// The reply.
        reply: oneshot::Sender<Result<String, ReloadError>>,
    },
}

/// Liveness and readiness.
#[derive(Debug, Default)]
pub struct Health {
    /// Unix milliseconds of the scheduler loop's last tick.
    last_tick_ms: AtomicI64,
    /// Config loaded and store open.
    ready: AtomicBool,
    /// Why a long-lived task died (the daemon is stopping because of it).
    failed: std::sync::Mutex<Option<String>>,
    /// Shutdown has begun.
    stopping: AtomicBool,
}

impl Health {
    /// Called by the scheduler loop on every tick.
    pub fn tick(&self) {
        self.last_tick_ms
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    /// Seconds since the scheduler last ticked (None before the first tick).
    pub fn since_tick(&self) -> Option<f64> {
        let t = self.last_tick_ms.load(Ordering::Relaxed);
        (t > 0).then(|| (chrono::Utc::now().timestamp_millis() - t) as f64 / 1000.0)
    }

    /// Marks the daemon ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Ready to serve.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Records that a long-lived task died; liveness fails from now on.
    pub fn set_failed(&self, why: String) {
        let mut f = self
            .failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.get_or_insert(why);
    }

    /// Why a long-lived task died, if one did.
    pub fn failed(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Marks the start of shutdown (readiness then says so).
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.set_ready(false);
    }

    /// Shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
}
