//! Alerting in a fleet (issue 8): only the replica holding the `alerting`
//! role ([`crate::fleet::leader`]) runs the alert engine, its tick and the
//! delivery workers, fed every run of the fleet from the inbox
//! ([`crate::fleet::inbox`]). Each time it becomes leader it builds the
//! engine afresh from the alert database, so a takeover neither re-pages a
//! firing alert nor forgets a resolve; when it stops leading (lease lost,
//! not renewed in time, SIGTERM) everything of that term is cancelled at
//! once and nothing more is delivered from here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use deadpool_postgres::Pool;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::alert::config::AlertingConfig;
use crate::alert::engine::{AlertEngine, LocationState};
use crate::alert::outbox::{AlertDb, spawn_delivery};
use crate::alert::receivers::Receiver;
use crate::alert::state::Phase;
use crate::fleet::inbox::{self, BATCH};
use crate::fleet::leader::Leadership;
use crate::journey::Journey;
use crate::metrics::Metrics;
use crate::status::board::StatusBoard;

/// How often the leader reads the inbox when it was empty.
const POLL: Duration = Duration::from_millis(300);

/// What a term of leadership builds its engine from.
pub(super) struct Parts {
    pub config: AlertingConfig,
    pub labels: std::collections::BTreeMap<String, String>,
    pub metrics: Arc<Metrics>,
    pub base_url: String,
    pub db: AlertDb,
    pub receivers: Vec<Arc<dyn Receiver>>,
    pub pool: Pool,
    pub board: Arc<StatusBoard>,
}

/// A replica's candidacy and, while it leads, its engine.
pub(super) struct Leader {
    journeys: Arc<ArcSwap<Vec<Arc<Journey>>>>,
    current: Arc<Mutex<Option<Arc<AlertEngine>>>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    role: tokio::task::JoinHandle<()>,
}

impl Leader {
    /// Runs for the role until `resign` (cancelled at once on SIGTERM, so
    /// another replica leads at its next round).
    pub(super) fn start(
        parts: Parts,
        leadership: Arc<Leadership>,
        journeys: &[Arc<Journey>],
        resign: &CancellationToken,
    ) -> Leader {
        let journeys = Arc::new(ArcSwap::from_pointee(journeys.to_vec()));
        let current = Arc::new(Mutex::new(None));
        let stop = resign.child_token();
        let role = tokio::spawn({
            let (l, stop) = (leadership.clone(), stop.clone());
            async move { l.run(stop).await }
        });
        let task = tokio::spawn(lead(
            Arc::new(parts),
            leadership,
            journeys.clone(),
            current.clone(),
            stop.clone(),
        ));
        Leader {
            journeys,
            current,
            stop,
            task,
            role,
        }
    }

    /// The journeys now configured (reload).
    pub(super) async fn set_journeys(&self, journeys: &[Arc<Journey>]) {
        self.journeys.store(Arc::new(journeys.to_vec()));
        if let Some(engine) = self.current.lock().await.clone() {
            engine.set_journeys(journeys).await;
        }
    }

    /// Resigns (if not yet) and waits for the term's tasks to end.
    pub(super) async fn stop(self) {
        self.stop.cancel();
        let _ = self.role.await;
        let _ = self.task.await;
    }
}

async fn lead(
    parts: Arc<Parts>,
    leadership: Arc<Leadership>,
    journeys: Arc<ArcSwap<Vec<Arc<Journey>>>>,
    current: Arc<Mutex<Option<Arc<AlertEngine>>>>,
    stop: CancellationToken,
) {
    let mut changes = leadership.subscribe();
    loop {
        let term = tokio::select! {
            r = changes.wait_for(Option::is_some) => match r.map(|t| *t) {
                Ok(Some(term)) => term,
                _ => return,
            },
            () = stop.cancelled() => return,
        };
        let led = stop.child_token();
        // The alert tables take this term's writes only: a deposed leader's
        // late commit is refused (SQLite ignores the fence).
        parts
            .db
            .set_fence(Some((leadership.owner().to_string(), term)));
        let delivery = spawn_delivery(
            parts.db.clone(),
            parts.receivers.clone(),
            parts.metrics.clone(),
            led.clone(),
        );
        let engine = Arc::new(
            AlertEngine::new(
                parts.config.clone(),
                parts.db.clone(),
                delivery.clone(),
                parts.receivers.clone(),
                parts.metrics.clone(),
                parts.labels.clone(),
                parts.base_url.clone(),
            )
            .await,
        );
        engine.enable_locations().await;
        engine.set_journeys(journeys.load().as_slice()).await;
        *current.lock().await = Some(engine.clone());
        parts.metrics.set_alerting_leader(true);
        tracing::info!(owner = %leadership.owner(), term, "Leading the fleet's alerting.");
        let check = parts.config.connectivity_check.clone();
        let ticker = tokio::spawn(super::tick::tick(engine.clone(), check, led.clone()));
        let consumer = tokio::spawn(consume(engine.clone(), parts.clone(), led.clone()));
        let resigning = tokio::select! {
            _ = changes.wait_for(|t| *t != Some(term)) => false,
            () = stop.cancelled() => true,
        };
        if resigning {
            // Store the counters changed since the last tick while the fence
            // may still be ours (refused, and logged, if not).
            engine.store_states().await;
        }
        led.cancel();
        *current.lock().await = None;
        parts.metrics.set_alerting_leader(false);
        show_locations(&parts.board, Vec::new());
        tracing::info!(owner = %leadership.owner(), term, "Stopped leading the fleet's alerting.");
        let _ = ticker.await;
        let _ = consumer.await;
        delivery.join().await;
    }
}

/// Feeds the inbox to `engine` in order until `stop`.
async fn consume(engine: Arc<AlertEngine>, parts: Arc<Parts>, stop: CancellationToken) {
    let mut failing = false;
    loop {
        let taken = inbox::take(&parts.pool, BATCH, |location, run| {
            let (engine, stop) = (engine.clone(), stop.clone());
            async move {
                if stop.is_cancelled() {
                    return false;
                }
                engine.observe_from(&run, &location).await;
                true
            }
        })
        .await;
        match taken {
            Ok(n) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("The alert inbox is readable again.");
                }
                if n > 0 {
                    show_locations(&parts.board, engine.locations().await);
                }
                if i64::try_from(n).unwrap_or(i64::MAX) >= BATCH {
                    continue;
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e,
                        "Cannot read the alert inbox: runs wait there until it can.");
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// Each location's phase per journey on the status board (and the API);
/// empty when this replica does not lead.
fn show_locations(board: &StatusBoard, locations: Vec<LocationState>) {
    let mut per_journey: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for l in locations {
        for (journey, phase) in l.journeys {
            let shown = match (l.unknown, phase) {
                (true, _) => "unknown",
                (false, Phase::Ok) => "ok",
                (false, Phase::Pending) => "pending",
                (false, Phase::Firing) => "firing",
            };
            per_journey
                .entry(journey)
                .or_default()
                .insert(l.location.clone(), shown.to_string());
        }
    }
    if per_journey.is_empty() {
        for s in board.snapshot() {
            board.update(s.name(), |s| s.locations.clear());
        }
    }
    for (name, locations) in per_journey {
        board.update(&name, |s| s.locations = locations);
    }
}
