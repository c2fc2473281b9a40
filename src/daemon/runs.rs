//! The runtime the scheduler and every journey run live on, apart from the rest
//! of the daemon.
//!
//! The HTTP server, alert deliveries, the fleet's leases and the obligation and
//! cleanup loops stay on the main runtime (one worker per core); runs get their
//! own, by default with one worker thread (`journeyd-runs`). Two reasons:
//!
//! - **Timings.** A step's response is read when it arrives, not after a
//!   `/metrics` chunk, a status page or a reload that happened to hold the same
//!   worker: nothing but runs shares the thread that times them.
//! - **CPU.** On a runtime of two workers, every response woke the idle one to
//!   look for work (7.5 futex calls per five-step run in the peers benchmark);
//!   one worker does without, and CPU per run fell by a third
//!   (docs/benchmarks.md, "Tenth pass").
//!
//! One core has the CPU for about 3,000 five-step runs a second on the benchmark
//! machine (0.2 to 0.33 ms each).
//! When the journeys need more, [`THREADS_ENV`] gives the runtime more workers.

use anyhow::bail;
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;

/// Workers of the runs' runtime (default 1).
pub(super) const THREADS_ENV: &str = "JOURNEYD_RUN_THREADS";

/// The most workers [`THREADS_ENV`] may ask for.
const MAX_THREADS: usize = 64;

/// The runs' runtime; dropped (without waiting) when the daemon has shut down.
pub(super) struct Runs(Option<Runtime>);

impl Runs {
    /// Starts the runtime with the workers [`THREADS_ENV`] asks for.
    pub(super) fn start() -> anyhow::Result<Self> {
        let threads = threads(std::env::var(THREADS_ENV).ok().as_deref())?;
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("journeyd-runs")
            .enable_all()
            .build()?;
        Ok(Self(Some(runtime)))
    }

    /// Spawns `task` (the scheduler) on the runs' runtime.
    pub(super) fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.0 {
            Some(runtime) => runtime.spawn(task),
            // Only after `drop`, which nothing outlives.
            None => tokio::spawn(task),
        }
    }
}

impl Drop for Runs {
    /// Kept until the end of shutdown: connections opened by runs (a fleet's
    /// PostgreSQL pool, say) are driven by this runtime and serve the final flush.
    /// Dropped without blocking, as the daemon's own runtime is async.
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The number of workers `value` (of [`THREADS_ENV`]) asks for.
fn threads(value: Option<&str>) -> anyhow::Result<usize> {
    let Some(value) = value else {
        return Ok(1);
    };
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => bail!(
            "{THREADS_ENV} must be a whole number from 1 to {MAX_THREADS}, not `{value}`: \
             unset it for one worker thread"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::threads;

    #[test]
    fn one_worker_unless_the_environment_asks_for_more() {
        assert_eq!(threads(None).unwrap(), 1);
        assert_eq!(threads(Some("4")).unwrap(), 4);
        assert_eq!(threads(Some(" 2 ")).unwrap(), 2);
    }

    #[test]
    fn a_bad_value_is_an_error_that_names_the_variable() {
        for bad in ["0", "65", "two", "-1", ""] {
            let e = threads(Some(bad)).unwrap_err().to_string();
            assert!(e.contains("JOURNEYD_RUN_THREADS") && e.contains(bad), "{e}");
        }
    }
}
