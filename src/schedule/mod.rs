//! When journeys run.
//!
//! Each journey runs every `interval`. Its start times sit at a fixed phase
//! within the interval, derived from its name, plus a small jitter, so a
//! thousand journeys never fire at the same instant and a restart keeps the
//! same rhythm. A journey never overlaps itself: a start that finds the
//! previous run still going is skipped and counted. A semaphore caps how many
//! runs execute at once; how late a run starts against its schedule is
//! reported as scheduling lag. Everything uses `tokio::time`, so tests pause
//! and advance the clock instead of sleeping.
//!
//! Runs due within [`SLACK`] of a wake-up start on it, a little early, so that
//! runs close together share one wake-up of the process.
//!
//! Due journeys come from a min-heap of next start times, so a wake-up costs
//! O(log n) per started run and nothing per idle journey: with 10,000 journeys the
//! loop wakes for every start and every finished run, and a scan of all entries
//! on each wake-up was the scheduler's whole cost.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::units::later;
use tokio_util::sync::CancellationToken;

use crate::journey::Journey;
use crate::status::control::RunNowError;

/// The scheduler loop wakes at least this often (health and watchdog ticks).
pub const TICK: Duration = Duration::from_secs(1);

/// Runs due within this long after a wake-up start on it, early (never late),
/// so runs close together share one wake-up of the process instead of one each.
/// A journey starts at most a tenth of its interval early ([`slack`]). The
/// same trade as systemd's `AccuracySec=` and the kernel's timer slack: a run
/// that starts after the process idled pays for cold caches and an idle CPU
/// (docs/benchmarks.md, eleventh pass).
pub const SLACK: Duration = Duration::from_millis(200);

/// How early a journey of this interval may start: [`SLACK`], at most a tenth
/// of the interval, so a short interval keeps its rhythm.
pub fn slack(interval: Duration) -> Duration {
    SLACK.min(interval / 10)
}

/// What the scheduler does with a due journey; implemented by the daemon
/// (run, store, metrics, board) and by tests.
pub trait Hooks: Send + Sync + 'static {
    /// Runs the journey and records its result.
    fn run(&self, journey: Arc<Journey>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
    /// A start was skipped (`overlap`, `shutdown`).
    fn skipped(&self, journey: &str, reason: &str);
    /// A run started this late against its schedule.
    fn lag(&self, seconds: f64);
    /// The journey's next scheduled start.
    fn next_run(&self, journey: &str, in_: Duration);
    /// The loop is alive (health, systemd watchdog).
    fn tick(&self);
}

/// Requests to a running scheduler.
#[derive(Debug)]
pub enum Command {
    /// Replace the journey set (reload); unchanged journeys keep their rhythm.
    Replace(Vec<Arc<Journey>>),
    /// Run a journey now; `Err` when unknown or already running.
    RunNow(String, oneshot::Sender<Result<(), RunNowError>>),
}

struct Entry {
    journey: Arc<Journey>,
    next: Instant,
}

/// Overrides when a journey first starts: `(name, interval)` to the delay from
/// now. A fleet uses it to put every replica's slots on one grid (`crate::fleet::slot`).
pub type FirstStart = Arc<dyn Fn(&str, Duration) -> Duration + Send + Sync>;

/// Schedules journeys; see the module docs.
pub struct Scheduler<H: Hooks> {
    hooks: Arc<H>,
    entries: BTreeMap<String, Entry>,
    /// Every entry's next start, earliest first; exactly one item per entry
    /// (rebuilt on replace, re-pushed when a start is taken).
    due: BinaryHeap<Reverse<(Instant, String)>>,
    running: Arc<Mutex<HashSet<String>>>,
    permits: Arc<Semaphore>,
    tasks: JoinSet<()>,
    shutdown: CancellationToken,
    first_within: Option<Duration>,
    first_start: Option<FirstStart>,
}

/// 64-bit FNV-1a: a stable hash of the journey name, so the phase survives
/// restarts and Rust upgrades (std's hasher makes no such promise).
pub(crate) fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Where in the interval the journey starts: a deterministic phase plus up to 1%
/// (at most 1 s) of random jitter.
pub fn phase(name: &str, interval: Duration) -> Duration {
    let ms = u64::try_from(interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let jitter_max = (ms / 100).min(1000);
    let jitter = if jitter_max > 0 {
        rand::random_range(0..jitter_max)
    } else {
        0
    };
    Duration::from_millis((fnv1a(name) % ms).saturating_add(jitter) % ms)
}

impl<H: Hooks> Scheduler<H> {
    /// A scheduler running at most `concurrency` journeys at once. With
    /// `first_within`, a journey's first run comes within that time of its
    /// arrival (still spread by name) instead of within its interval.
    pub fn new(
        hooks: Arc<H>,
        journeys: Vec<Arc<Journey>>,
        concurrency: usize,
        shutdown: CancellationToken,
        first_within: Option<Duration>,
    ) -> Self {
        let mut s = Self {
            first_within,
            first_start: None,
            hooks,
            entries: BTreeMap::new(),
            due: BinaryHeap::new(),
            running: Arc::new(Mutex::new(HashSet::new())),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            tasks: JoinSet::new(),
            shutdown,
        };
        s.replace(journeys);
        s
    }

    /// Journeys first start when `first` says (instead of at their phase), now
    /// and after every reload.
    pub fn with_first_start(mut self, first: FirstStart) -> Self {
        self.first_start = Some(first);
        let journeys = std::mem::take(&mut self.entries)
            .into_values()
            .map(|e| e.journey)
            .collect();
        self.replace(journeys);
        self
    }

    /// The journeys are shared (`Arc`) with the rest of the daemon, not copied.
    fn replace(&mut self, journeys: Vec<Arc<Journey>>) {
        let now = Instant::now();
        let mut next = BTreeMap::new();
        for j in journeys {
            let keep = self
                .entries
                .remove(&j.name)
                .filter(|e| e.journey.interval == j.interval)
                .map(|e| e.next);
            let window = self.first_within.map_or(j.interval, |w| w.min(j.interval));
            let at = keep.unwrap_or_else(|| match &self.first_start {
                Some(first) => later(now, first(&j.name, j.interval)),
                None => later(now, phase(&j.name, window)),
            });
            self.hooks
                .next_run(&j.name, at.saturating_duration_since(now));
            next.insert(
                j.name.clone(),
                Entry {
                    journey: j,
                    next: at,
                },
            );
        }
        self.due = next
            .iter()
            .map(|(name, e)| Reverse((e.next, name.clone())))
            .collect();
        self.entries = next;
    }

    /// Runs until the shutdown token is cancelled, then waits up to `grace` for
    /// running journeys (and their cleanup) to finish; returns how many were cut off.
    ///
    /// The loop wakes for every start and every finished run; the hooks' tick
    /// (health, watchdog, store gauges) runs at most once per [`TICK`] of them,
    /// and one timer is moved rather than a new one armed on each wake-up (a new
    /// earlier timer wakes the runtime's driver through its eventfd: 1.7 writes
    /// per run in the peers benchmark).
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>, grace: Duration) -> usize {
        let mut last_tick: Option<Instant> = None;
        let sleep = tokio::time::sleep_until(Instant::now() + TICK);
        tokio::pin!(sleep);
        loop {
            let now = Instant::now();
            if last_tick.is_none_or(|t| now.saturating_duration_since(t) >= TICK) {
                last_tick = Some(now);
                self.hooks.tick();
            }
            self.start_due();
            let tick_due = last_tick.map_or(now, |t| t + TICK);
            let wake = self
                .due
                .peek()
                .map_or(tick_due, |Reverse((n, _))| (*n).min(tick_due));
            if sleep.deadline() != wake || sleep.is_elapsed() {
                sleep.as_mut().reset(wake);
            }
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => break,
                cmd = commands.recv() => match cmd {
                    Some(Command::Replace(js)) => self.replace(js),
                    Some(Command::RunNow(name, reply)) => {
                        let _ = reply.send(self.run_now(&name));
                    }
                    None => {}
                },
                () = &mut sleep => {}
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
        self.drain(grace).await
    }

    /// Starts every journey due by now, and with them those due within their
    /// [`slack`] of now.
    fn start_due(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, name))) = self.due.peek() {
            let early = self
                .entries
                .get(name)
                .map_or(Duration::ZERO, |e| slack(e.journey.interval));
            if *at > later(now, early) {
                break;
            }
            let Some(Reverse((at, name))) = self.due.pop() else {
                break;
            };
            let Some(entry) = self.entries.get_mut(&name) else {
                continue;
            };
            if entry.next != at {
                // Not this entry's current slot (cannot happen while the heap holds one
                // item per entry); the item for `entry.next` is still in the heap.
                continue;
            }
            let scheduled = entry.next;
            let interval = entry.journey.interval;
            // This slot is taken (perhaps a little early); skip slots missed entirely
            // (suspend, a very late tick) instead of bursting.
            entry.next = later(entry.next, interval);
            while entry.next <= now {
                entry.next = later(entry.next, interval);
            }
            let journey = entry.journey.clone();
            self.due.push(Reverse((entry.next, name.clone())));
            self.hooks
                .next_run(&name, entry.next.saturating_duration_since(now));
            if !self.start(journey, scheduled) {
                self.hooks.skipped(&name, "overlap");
            }
        }
    }

    fn run_now(&mut self, name: &str) -> Result<(), RunNowError> {
        let journey = self
            .entries
            .get(name)
            .map(|e| e.journey.clone())
            .ok_or_else(|| RunNowError::UnknownJourney(name.to_string()))?;
        if self.start(journey, Instant::now()) {
            Ok(())
        } else {
            Err(RunNowError::AlreadyRunning(name.to_string()))
        }
    }

    /// Starts a run unless the journey is already running.
    fn start(&mut self, journey: Arc<Journey>, scheduled: Instant) -> bool {
        {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            if !running.insert(journey.name.clone()) {
                return false;
            }
        }
        let hooks = self.hooks.clone();
        let permits = self.permits.clone();
        let running = self.running.clone();
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            let permit = tokio::select! {
                p = permits.acquire_owned() => p.ok(),
                () = shutdown.cancelled() => None,
            };
            match permit {
                Some(_permit) => {
                    hooks.lag(
                        Instant::now()
                            .saturating_duration_since(scheduled)
                            .as_secs_f64(),
                    );
                    hooks.run(journey.clone()).await;
                }
                None => hooks.skipped(&journey.name, "shutdown"),
            }
            running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&journey.name);
        });
        true
    }

    async fn drain(mut self, grace: Duration) -> usize {
        let deadline = later(Instant::now(), grace);
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next()).await {
                Ok(_) => {}
                Err(_) => {
                    let cut = self.tasks.len();
                    self.tasks.abort_all();
                    return cut;
                }
            }
        }
        0
    }
}

#[cfg(test)]
mod tests;
