//! What happens when the scheduler starts a journey: run it, then feed the
//! one [`JourneyRun`](crate::runner::JourneyRun) to the store, the metrics and
//! the status board, and log state changes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use super::notify::Watchdog;
use crate::alert::engine::AlertEngine;
use crate::alert::state::is_sustained;
use crate::journey::Journey;
use crate::journey::template::Engine;
use crate::metrics::Metrics;
use crate::runner::{JourneyRun, RunOptions, Verdict, run_journey};
use crate::schedule::Hooks;
use crate::status::board::{JourneyState, StatusBoard};
use crate::status::control::Health;
use crate::store::Store;

/// The daemon's scheduler hooks.
pub struct DaemonHooks {
    /// Template engine shared by all runs.
    pub engine: Arc<Engine>,
    /// Run options; swapped on reload.
    pub options: ArcSwap<RunOptions>,
    /// The journeys currently configured, by name (the same `Arc`s the scheduler
    /// holds); runs of journeys removed by a reload while they ran are stored but no
    /// longer exported or shown. Owed cleanups and obligations run the current definition.
    pub configured: ArcSwap<super::ByName>,
    /// History.
    pub store: Store,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Status board.
    pub board: Arc<StatusBoard>,
    /// Liveness.
    pub health: Arc<Health>,
    /// systemd watchdog.
    pub watchdog: Watchdog,
    /// Alerting.
    pub alerts: Option<Arc<AlertEngine>>,
    /// Confirmation re-runs after a failure, and the pause before each.
    pub confirm: (u32, Duration),
    /// Cancelled at shutdown: no confirmation re-run starts after it.
    pub stopping: tokio_util::sync::CancellationToken,
    /// A fleet member runs only the slots it claims (`crate::fleet`).
    pub fleet: Option<Arc<crate::fleet::Fleet>>,
    /// The OTLP span export (`tracing.otlp`), when configured.
    pub traces: Option<crate::trace_export::TraceExporter>,
}

impl DaemonHooks {
    /// Runs the journey; a failure is confirmed by re-running it right away (after a
    /// short pause) so a real outage is known within one interval and a blip never pages.
    async fn run_and_record(self: Arc<Self>, journey: Arc<Journey>) {
        let fence = match &self.fleet {
            None => None,
            Some(fleet) => match fleet.may_run(&journey.name, journey.interval).await {
                Some(fence) => Some(fence),
                // Another replica owns this journey, or already ran this slot.
                None => return,
            },
        };
        let (confirm, pause) = self.confirm;
        let mut confirmations = 0;
        loop {
            self.board.update(&journey.name, |s| s.running = true);
            let options = self.options.load_full();
            let run = run_journey(&journey, &self.engine, &options, &mut |_| {}).await;
            super::supervise::debug_panic("run");
            let failed = run.verdict == Verdict::Fail;
            // A sustained failure (the back-end watched for all of `within`) needs no
            // confirmation run: it would only wait `within` again before paging.
            let sustained = run
                .failed_step()
                .and_then(|s| s.failure.as_ref())
                .is_some_and(|f| is_sustained(f.class));
            self.record(&journey, &run, fence.clone()).await;
            let stopping = self.stopping.is_cancelled();
            if !failed
                || sustained
                || confirmations >= confirm
                || stopping
                || !self.configured.load().contains_key(&journey.name)
            {
                break;
            }
            confirmations += 1;
            tracing::info!(journey = %journey.name, "Re-running to confirm the failure.");
            // Shutdown during the pause: the failure stays unconfirmed, no new run starts.
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.stopping.cancelled() => break,
            }
        }
        self.board.update(&journey.name, |s| s.running = false);
    }

    async fn record(
        &self,
        journey: &Journey,
        run: &JourneyRun,
        fence: Option<crate::store::Fence>,
    ) {
        // Queued first: a run the status board shows is then one the API can read
        // (`Store::settle` commits it on demand).
        self.store.record_fenced(run, fence).await;
        let before = self.board.state(&journey.name);
        log_run(run, before);
        if self.configured.load().contains_key(&journey.name) {
            self.metrics.observe_run(journey, run);
            let summary = run.summary();
            self.board.update(&journey.name, |s| s.record(summary));
            if let Some(traces) = &self.traces {
                traces.export(run, &journey.labels);
            }
            if let Some(alerts) = &self.alerts {
                alerts.observe(run).await;
            }
        }
    }
}

impl DaemonHooks {
    /// A fulfilled obligation, for the alert engine only: runs that handed the step
    /// over were not a verdict on it (`AlertTracker::observe`), so this pass is what
    /// resolves an alert about a breached obligation. Not a run: no history, no board.
    pub(super) async fn observe_fulfilled(&self, run: &JourneyRun) {
        if let Some(alerts) = &self.alerts {
            alerts.observe(run).await;
        }
        // In a fleet the alerting leader may be another replica: it reads this
        // from the inbox (not a run of the history).
        if self.fleet.is_some() {
            self.store.record_for_alerts(run).await;
        }
    }

    /// A breached or failed obligation: the journey failed at that step, reported like
    /// a run (log, status board, alert engine, history) but not counted as a run in
    /// the metrics (`Metrics::obligation_finished` counts it).
    pub(super) async fn record_obligation(&self, journey: &Journey, run: &JourneyRun) {
        let before = self.board.state(&journey.name);
        log_run(run, before);
        let summary = run.summary();
        self.board.update(&journey.name, |s| s.record(summary));
        if let Some(alerts) = &self.alerts {
            alerts.observe(run).await;
        }
        // Fenced in a fleet, so the alerting leader reads it from the inbox.
        let fence = self.fleet.as_ref().map(|f| f.fence_of(&journey.name));
        self.store.record_fenced(run, fence).await;
    }
}

/// Failures at WARN with what on-call needs; recoveries at INFO; passes at DEBUG
/// (a thousand journeys every 30 s would drown the log otherwise).
fn log_run(run: &JourneyRun, before: Option<JourneyState>) {
    let s = run.summary();
    match s.verdict {
        Verdict::Fail => tracing::warn!(
            journey = %s.journey,
            step = s.failed_step.as_deref().unwrap_or(""),
            backend = s.failed_backend.as_deref().unwrap_or(""),
            class = s.failure_class.map_or("", |c| c.as_str()),
            run_id = %s.run_id,
            message = s.failure_message.as_deref().unwrap_or(""),
            "Journey failed."
        ),
        Verdict::Pass if before == Some(JourneyState::Failing) => tracing::info!(
            journey = %s.journey,
            run_id = %s.run_id,
            "Journey recovered."
        ),
        Verdict::Pass => tracing::debug!(
            journey = %s.journey,
            duration_seconds = s.duration_seconds,
            "Journey passed."
        ),
    }
}

/// `Arc<DaemonHooks>` so a run's future can own a handle.
pub struct SharedHooks(pub Arc<DaemonHooks>);

impl Hooks for SharedHooks {
    fn run(&self, journey: Arc<Journey>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(self.0.clone().run_and_record(journey))
    }

    fn skipped(&self, journey: &str, reason: &str) {
        tracing::info!(journey, reason, "Run skipped.");
        self.0.metrics.run_skipped(journey, reason);
    }

    fn lag(&self, seconds: f64) {
        self.0.metrics.observe_scheduling_lag(seconds);
    }

    fn next_run(&self, journey: &str, in_: Duration) {
        let now = chrono::Utc::now();
        let at = (chrono::Duration::from_std(in_).ok())
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(now);
        self.0.board.update(journey, |s| s.next_run = Some(at));
    }

    fn tick(&self) {
        super::supervise::debug_panic("scheduler");
        self.0.health.tick();
        self.0.watchdog.ping();
        self.0.metrics.observe_store(&self.0.store.status());
    }
}
