//! What the HTTP server may ask of the daemon (run a journey now, reload),
//! and the health signals it reports.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use tokio::sync::oneshot;

/// A request from the API to the daemon.
#[derive(Debug)]
pub enum Control {
    /// Run this journey now (outside its schedule). Replies `Err` with a reason when
    /// the journey does not exist or is already running.
    RunNow {
        /// Journey name.
        journey: String,
        /// The reply.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Reload configuration and journeys. Replies with every error, or `Ok` with a
    /// summary, after the new set is in place (or the old one kept).
    Reload {
        /// The reply.
        reply: oneshot::Sender<Result<String, Vec<String>>>,
    },
}

/// Liveness and readiness.
#[derive(Debug, Default)]
pub struct Health {
    /// Unix milliseconds of the scheduler loop's last tick.
    last_tick_ms: AtomicI64,
    /// Config loaded and store open.
    ready: AtomicBool,
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
}
