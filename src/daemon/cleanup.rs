//! Crash-safe cleanup: runs report the cleanup they owe through
//! [`StoreHandOff`] (persisted before their next request), and [`Cleanups`]
//! retries what is left behind, at start-up and in the background with
//! backoff, until it succeeds or the retention limit passes (then it is
//! counted as abandoned: test data left in the target).
//!
//! With the history on PostgreSQL the rows are the fleet's: `due_cleanups`
//! claims rows for this replica only, of the journeys it holds (or nobody
//! holds) and of runs whose replica died, so no ownership check is needed
//! here (`store::postgres::pending`; docs/scaling.md).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::hooks::DaemonHooks;
use crate::config::Config;
use crate::fleet::Fleet;
use crate::runner::handoff::{HandOff, Obligation, OwedCleanup};
use crate::runner::{StepOutcome, run_owed_cleanup, still_owed};
use crate::store::{Backend, DueCleanup, PendingWork, Replica};

/// First pause before a failed cleanup is tried again; it doubles per attempt.
const FIRST_RETRY: Duration = Duration::from_secs(30);
/// Longest pause between two attempts.
const MAX_RETRY: Duration = Duration::from_secs(3600);
/// How often the background pass looks for due cleanups when nothing wakes it.
const TICK: Duration = Duration::from_secs(10);
/// Cleanups attempted per pass; the rest wait for the next pass.
const BATCH: usize = 32;

/// When attempt `attempts + 1` is due after a failure at `now`.
fn next_attempt(now: DateTime<Utc>, attempts: u32) -> DateTime<Utc> {
    let pause = FIRST_RETRY
        .saturating_mul(2u32.saturating_pow(attempts.min(16)))
        .min(MAX_RETRY);
    now + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::MAX)
}

/// Opens the owed-cleanup and obligation tables where the run history is
/// (`journeyd.db`, or PostgreSQL for this replica of the fleet); `None`, logged,
/// when they cannot be opened: runs go on, a crash mid-run leaves test data behind.
pub(super) fn open_pending(
    config: &Config,
    history: &Backend,
    fleet: Option<&Fleet>,
) -> Option<PendingWork> {
    let replica = match (fleet, &config.fleet) {
        (Some(f), Some(c)) => Replica {
            id: f.replica().to_string(),
            lease_ttl: Some(c.lease_ttl),
        },
        _ => Replica::solo(),
    };
    PendingWork::open_as(history, replica)
        .inspect_err(|e| {
            tracing::error!(error = %e,
                "Cannot open the owed-cleanup table: a crash mid-run leaves test data behind.")
        })
        .ok()
}

/// Persists what runs owe; wakes the background pass when a run leaves work behind.
#[derive(Debug)]
pub(super) struct StoreHandOff {
    pub pending: PendingWork,
    pub wake: Arc<Notify>,
    /// Wakes the obligation poller (`daemon::obligation`) when a run leaves one.
    pub obligation_wake: Arc<Notify>,
}

#[async_trait::async_trait]
impl HandOff for StoreHandOff {
    async fn cleanup_owed(&self, owed: &OwedCleanup) {
        if let Err(e) = self.pending.owe_cleanup(owed).await {
            // The run goes on: only a crash before its own cleanup would lose the data.
            tracing::error!(journey = %owed.journey, run_id = %owed.run_id, error = %e,
                "Cannot record owed cleanup; a crash now would leave test data behind.");
        }
    }

    async fn cleanup_settled(&self, journey: &str, run_id: uuid::Uuid, remaining: &[String]) {
        let next = next_attempt(Utc::now(), 0);
        let error = (!remaining.is_empty()).then(|| "the run's own cleanup failed".to_string());
        match (self.pending)
            .settle_cleanup(run_id, remaining.to_vec(), next, error)
            .await
        {
            Ok(true) => tracing::warn!(journey, run_id = %run_id, steps = ?remaining,
                "Cleanup failed; it is retried in the background."),
            Ok(false) => {}
            Err(e) => tracing::error!(journey, run_id = %run_id, error = %e,
                "Cannot record the end of a cleanup."),
        }
        self.wake.notify_one();
    }

    async fn obligation_pending(&self, ob: &Obligation) -> bool {
        match self.pending.add_obligation(ob).await {
            Ok(()) => {
                tracing::info!(journey = %ob.journey, step = %ob.step, obligation = %ob.id,
                    deadline = %ob.deadline, "Back-end not finished yet; watching it as an obligation.");
                self.obligation_wake.notify_one();
                true
            }
            Err(e) => {
                // Unwatched, the step stays pending in the run; its cleanup runs now.
                tracing::error!(journey = %ob.journey, step = %ob.step, error = %e,
                    "Cannot record an obligation; it is not watched.");
                false
            }
        }
    }

    async fn cleanup_held(&self, journey: &str, run_id: uuid::Uuid, steps: &[String]) {
        // Due now, but `due_cleanups` skips it while the run's obligation is pending.
        let why = Some("waits for the run's obligation".to_string());
        if let Err(e) = (self.pending)
            .settle_cleanup(run_id, steps.to_vec(), Utc::now(), why)
            .await
        {
            tracing::error!(journey, run_id = %run_id, error = %e, "Cannot hold a cleanup.");
        }
    }
}

/// The background retries of owed cleanups.
pub(super) struct Cleanups {
    pub pending: PendingWork,
    pub hooks: Arc<DaemonHooks>,
    /// How long an owed cleanup is retried before it is abandoned.
    pub retention: Duration,
    pub wake: Arc<Notify>,
}

impl Cleanups {
    /// At start-up, before the first run: cleanups of runs cut by the last stop are due now.
    pub async fn release(&self) {
        match self.pending.release_cleanups().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                cleanups = n,
                "Runs cut by the last stop left cleanup behind; running it now."
            ),
            Err(e) => tracing::error!(error = %e, "Cannot read the cleanups left behind."),
        }
    }

    /// Retries due cleanups until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            self.pass(&stop).await;
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = self.wake.notified() => {}
                () = stop.cancelled() => break,
            }
        }
    }

    /// One pass over the due cleanups; then the gauge is refreshed.
    async fn pass(&self, stop: &CancellationToken) {
        let due = match self.pending.due_cleanups(Utc::now(), BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "Cannot list due cleanups.");
                Vec::new()
            }
        };
        for d in due {
            if stop.is_cancelled() {
                break;
            }
            self.attempt(d).await;
        }
        if let Ok(n) = self.pending.cleanup_count().await {
            self.hooks.metrics.set_cleanup_pending(n);
        }
    }

    async fn attempt(&self, d: DueCleanup) {
        let now = Utc::now();
        let (journey, run_id) = (d.owed.journey.as_str(), d.owed.run_id);
        let age = (now - d.created_at).to_std().unwrap_or_default();
        if age > self.retention {
            if let Err(e) = self.pending.abandon_cleanup(run_id).await {
                tracing::error!(journey, run_id = %run_id, error = %e, "Cannot drop a cleanup.");
                return;
            }
            self.hooks.metrics.cleanup_abandoned(journey);
            tracing::warn!(journey, run_id = %run_id, steps = ?d.owed.steps, attempts = d.attempts,
                "Cleanup abandoned after the retention limit: test data is left in the target.");
            return;
        }
        // The current definition (`DaemonHooks::configured`, swapped on reload).
        let (remaining, error) = match self.hooks.configured.load().get(journey).cloned() {
            Some(j) => {
                let options = self.hooks.options.load_full();
                let outcomes = run_owed_cleanup(&j, &self.hooks.engine, &options, &d.owed).await;
                (
                    still_owed(&d.owed.steps, &outcomes),
                    first_failure(&outcomes),
                )
            }
            None => (
                d.owed.steps.clone(),
                Some("the journey is no longer configured".to_string()),
            ),
        };
        let next = next_attempt(now, d.attempts + 1);
        let done = remaining.is_empty();
        match (self.pending)
            .settle_cleanup(run_id, remaining, next, error.clone())
            .await
        {
            Err(e) => tracing::error!(journey, run_id = %run_id, error = %e,
                "Cannot record a cleanup attempt."),
            Ok(_) if done => tracing::info!(journey, run_id = %run_id, "Owed cleanup done."),
            Ok(_) => tracing::warn!(journey, run_id = %run_id, next_attempt = %next,
                error = error.as_deref().unwrap_or(""), "Owed cleanup failed again."),
        }
    }
}

/// `step: message` of the first failed step (already redacted).
fn first_failure(outcomes: &[StepOutcome]) -> Option<String> {
    outcomes
        .iter()
        .find_map(|o| (o.failure.as_ref()).map(|f| format!("{}: {}", o.name, f.message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        let t0 = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap_or_default();
        let secs = |a| (next_attempt(t0, a) - t0).num_seconds();
        assert_eq!(secs(0), 30);
        assert_eq!(secs(1), 60);
        assert_eq!(secs(3), 240);
        assert_eq!(secs(20), 3600);
        assert_eq!(secs(u32::MAX), 3600);
    }
}
