//! Delivery workers: one task per receiver, sending that receiver's outbox
//! rows strictly in id order, one at a time.
//!
//! A worker never skips ahead of a failing row, so a resolve never overtakes
//! its firing. Accepted → the row is deleted. Network errors, 429 and 5xx
//! (`retryable`) → the row stays and is retried after an exponential backoff
//! with jitter, or the receiver's `Retry-After` when that is longer. Any other
//! rejection → the row is dropped, counted and logged at ERROR: the receiver's
//! configuration needs an operator.
//!
//! Waiting is `sleep_until` raced with [`DeliveryHandle::wake`] and shutdown,
//! never polling. Retry times are stored (wall clock) so they hold across a
//! restart; within the process the worker waits on tokio's clock, so tests can
//! pause time.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::db::HeadRow;
use super::{AlertDb, Key, now_ms};
use crate::alert::receivers::{DeliveryError, Notification, Receiver};
use crate::metrics::Metrics;

/// After a database error, the worker waits this long before reading again.
const DB_RETRY: Duration = Duration::from_secs(1);

/// Retry timing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeliveryOptions {
    /// Backoff after the first failure; doubles with every further failure.
    pub base: Duration,
    /// Backoff ceiling (before jitter, which adds up to 20%).
    pub max: Duration,
    /// A receiver's `Retry-After` is honoured up to this, so a bogus value
    /// cannot stall its queue for days.
    pub max_retry_after: Duration,
    /// One delivery taking longer than this counts as a retryable failure
    /// (receivers have their own, shorter, HTTP timeouts).
    pub attempt_timeout: Duration,
}

impl Default for DeliveryOptions {
    /// 1 s doubling up to 5 minutes, `Retry-After` up to an hour, 60 s per attempt.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(3600),
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

/// The backoff before retry number `failures` (1 after the first failure):
/// `min(base × 2^(failures-1), max) × jitter`, with `jitter` in 0.8..=1.2.
pub fn eval_backoff(failures: u32, options: &DeliveryOptions, jitter: f64) -> Duration {
    let doubled = options
        .base
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)));
    doubled.min(options.max).mul_f64(jitter.clamp(0.8, 1.2))
}

/// The wait before the next attempt: the backoff, or the receiver's
/// `Retry-After` (capped) when that is longer.
pub fn eval_retry_delay(
    failures: u32,
    retry_after: Option<Duration>,
    options: &DeliveryOptions,
    jitter: f64,
) -> Duration {
    let asked = retry_after.unwrap_or_default().min(options.max_retry_after);
    eval_backoff(failures, options, jitter).max(asked)
}

/// The running workers.
#[derive(Debug, Clone)]
pub struct DeliveryHandle {
    wakers: Arc<Vec<Arc<Notify>>>,
    tasks: TaskTracker,
    db: AlertDb,
}

impl DeliveryHandle {
    /// Tells every worker to look at the outbox again: call after each
    /// [`AlertDb::commit`] and [`AlertDb::enqueue`].
    pub fn wake(&self) {
        for waker in self.wakers.iter() {
            // Stores a permit when the worker is busy, so the wake is never lost.
            waker.notify_one();
        }
    }

    /// Waits for the workers to stop, after `shutdown` was cancelled. A
    /// delivery in flight is finished first (bounded by the attempt timeout).
    /// Then what still waits in memory is stored if the disk allows; what
    /// cannot be is logged, since the exit loses it.
    pub async fn join(self) {
        self.tasks.close();
        self.tasks.wait().await;
        let left = self.db.flush().await;
        if left > 0 {
            tracing::error!(
                notifications = left,
                path = %self.db.path().display(),
                "Stopping with notifications that could only be kept in memory (the alert \
                 database cannot be written); they are lost, and re-sent only if their alert \
                 still holds after the restart."
            );
        }
    }
}

/// Starts one worker per receiver with the default [`DeliveryOptions`].
/// Rows pending from before a restart are delivered first.
pub fn spawn_delivery(
    db: AlertDb,
    receivers: Vec<Arc<dyn Receiver>>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> DeliveryHandle {
    spawn_delivery_with(db, receivers, metrics, shutdown, DeliveryOptions::default())
}

/// [`spawn_delivery`] with explicit retry timing.
pub fn spawn_delivery_with(
    db: AlertDb,
    receivers: Vec<Arc<dyn Receiver>>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    options: DeliveryOptions,
) -> DeliveryHandle {
    let tasks = TaskTracker::new();
    db.set_metrics(Arc::clone(&metrics));
    // One worker per receiver name: two workers on one queue would send every
    // notification twice.
    let mut names = BTreeSet::new();
    let mut unique = Vec::new();
    for receiver in receivers {
        let name = receiver.name().to_string();
        if names.insert(name.clone()) {
            unique.push((name, receiver));
        } else {
            tracing::error!(receiver = %name, "Receiver configured twice; only the first delivers.");
        }
    }
    let names: Vec<String> = names.into_iter().collect();
    // Declared before any worker starts: an attempt made before the
    // declaration would not be counted.
    metrics.set_receivers(&names);
    let mut wakers = Vec::new();
    for (name, receiver) in unique {
        let wake = Arc::new(Notify::new());
        wakers.push(Arc::clone(&wake));
        let worker = Worker {
            db: db.clone(),
            receiver,
            name,
            metrics: Arc::clone(&metrics),
            shutdown: shutdown.clone(),
            wake,
            options,
            retry: None,
        };
        tasks.spawn(worker.run());
    }
    tasks.spawn(report_orphans(db.clone(), names));
    DeliveryHandle {
        wakers: Arc::new(wakers),
        tasks,
        db,
    }
}

/// Logs, once, the receivers that have queued rows but are not configured:
/// their rows are kept (a reload may bring the receiver back), not delivered.
async fn report_orphans(db: AlertDb, configured: Vec<String>) {
    match db.queued_receivers().await {
        Ok(queued) => {
            for (receiver, pending) in queued {
                if !configured.contains(&receiver) {
                    tracing::warn!(
                        receiver = %receiver,
                        pending,
                        "Notifications are queued for a receiver that is not configured; \
                         they are kept and delivered if it comes back."
                    );
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "Cannot list the outbox."),
    }
}

/// What happened to one attempt, for the loop.
enum Step {
    /// Look at the outbox again now.
    Next,
    /// Wait (for a retry time, a wake or shutdown) before looking again.
    Wait(Option<Instant>),
}

/// Delivers one receiver's rows.
struct Worker {
    db: AlertDb,
    receiver: Arc<dyn Receiver>,
    name: String,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    wake: Arc<Notify>,
    options: DeliveryOptions,
    /// The head row's retry time on tokio's clock, once this worker failed it.
    retry: Option<(Key, Instant)>,
}

impl Worker {
    async fn run(mut self) {
        loop {
            let step = match self.db.head(&self.name).await {
                Ok((row, depth)) => {
                    // Refreshed before the shutdown check, so the gauge is right at exit.
                    self.metrics.set_notification_queue(&self.name, depth);
                    match row {
                        _ if self.shutdown.is_cancelled() => break,
                        // Something waits in memory, or the database is not
                        // written: look again soon, which retries storing it.
                        None if !self.db.is_healthy() => {
                            Step::Wait(Some(Instant::now() + DB_RETRY))
                        }
                        None => Step::Wait(None),
                        Some(row) => self.due_or_attempt(row).await,
                    }
                }
                Err(e) => {
                    tracing::error!(receiver = %self.name, error = %e, "Cannot read the outbox.");
                    Step::Wait(Some(Instant::now() + DB_RETRY))
                }
            };
            if let Step::Wait(until) = step
                && !self.wait(until).await
            {
                break;
            }
        }
        tracing::debug!(receiver = %self.name, "Delivery worker stopped.");
    }

    /// Attempts `row` when it is due; otherwise says how long to wait.
    async fn due_or_attempt(&mut self, row: HeadRow) -> Step {
        let due = match self.retry {
            Some((id, at)) if id == row.id => at,
            // Not failed by this worker (new, or from before a restart): the stored time.
            _ => {
                let ms = u64::try_from(row.next_attempt_at - now_ms()).unwrap_or(0);
                Instant::now() + Duration::from_millis(ms)
            }
        };
        if due > Instant::now() {
            return Step::Wait(Some(due));
        }
        self.attempt(row).await
    }

    /// Sleeps until `until` (or forever), a wake, or shutdown; false on shutdown.
    async fn wait(&self, until: Option<Instant>) -> bool {
        let timer = async {
            match until {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = self.shutdown.cancelled() => false,
            () = self.wake.notified() => true,
            () = timer => true,
        }
    }

    /// Sends one row and records the outcome.
    async fn attempt(&mut self, row: HeadRow) -> Step {
        let event = match serde_json::from_str(&row.event_json) {
            Ok(event) => event,
            Err(e) => {
                let e = DeliveryError {
                    retryable: false,
                    retry_after: None,
                    message: format!("stored notification cannot be read: {e}"),
                };
                return self.dropped(&row, &e).await;
            }
        };
        let n = Notification {
            id: row.id.id(),
            event,
        };
        let limit = self.options.attempt_timeout;
        let result = tokio::time::timeout(limit, self.receiver.deliver(&n))
            .await
            .unwrap_or_else(|_| {
                Err(DeliveryError {
                    retryable: true,
                    retry_after: None,
                    message: format!("no answer within {}", humantime::format_duration(limit)),
                })
            });
        match result {
            Ok(()) => self.delivered(&row).await,
            Err(e) if e.retryable => self.failed(&row, &e).await,
            Err(e) => self.dropped(&row, &e).await,
        }
    }

    async fn delivered(&mut self, row: &HeadRow) -> Step {
        self.retry = None;
        self.metrics.notification(&self.name, "delivered");
        let latency = (now_ms() - row.created_at) as f64 / 1000.0;
        self.metrics.observe_delivery(&self.name, latency);
        tracing::debug!(receiver = %self.name, notification = row.id.id(), "Notification delivered.");
        self.remove(row.id).await
    }

    async fn failed(&mut self, row: &HeadRow, e: &DeliveryError) -> Step {
        let attempts = row.attempts.saturating_add(1);
        let jitter = rand::random_range(0.8..=1.2);
        let delay = eval_retry_delay(attempts, e.retry_after, &self.options, jitter);
        let at = Instant::now() + delay;
        self.retry = Some((row.id, at));
        self.metrics.notification(&self.name, "retry");
        tracing::warn!(
            receiver = %self.name,
            notification = row.id.id(),
            attempts,
            retry_in = %humantime::format_duration(Duration::from_millis(delay.as_millis() as u64)),
            error = %e,
            "Notification not delivered; will retry."
        );
        let next = now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        if let Err(db) = self.db.reschedule(row.id, attempts, next, &e.message).await {
            // The in-memory retry time holds; only a restart would retry sooner.
            tracing::error!(receiver = %self.name, error = %db, "Cannot record a failed delivery.");
        }
        Step::Wait(Some(at))
    }

    async fn dropped(&mut self, row: &HeadRow, e: &DeliveryError) -> Step {
        self.retry = None;
        self.metrics.notification(&self.name, "dropped");
        tracing::error!(
            receiver = %self.name,
            notification = row.id.id(),
            attempts = row.attempts.saturating_add(1),
            error = %e,
            "Notification rejected and dropped; check the receiver's configuration."
        );
        self.remove(row.id).await
    }

    /// Deletes a finished row, then refreshes the queue depth on the next loop.
    async fn remove(&self, key: Key) -> Step {
        match self.db.delete(key, &self.name).await {
            Ok(()) => Step::Next,
            Err(e) => {
                // The row stays, so it will be sent again: at least once, never lost.
                tracing::error!(receiver = %self.name, notification = key.id(), error = %e, "Cannot delete a finished notification.");
                Step::Wait(Some(Instant::now() + DB_RETRY))
            }
        }
    }
}
