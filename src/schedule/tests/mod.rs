//! Scheduler behaviour on a paused clock: no test here waits in real time.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::journey::parse::parse_journey;
use crate::journey::template::Engine;

fn journey(name: &str, interval: &str) -> Arc<Journey> {
    let src = format!(
        "name: {name}\ninterval: {interval}\nsteps:\n  - name: s\n    request: {{ url: \"http://127.0.0.1:1/\" }}\n"
    );
    Arc::new(parse_journey(Path::new("t.yaml"), &src, &Engine::new()).unwrap())
}

/// Records what the scheduler asked for; each run takes `run_for` of (paused) time.
struct Recorder {
    runs: Mutex<Vec<String>>,
    /// Each run's journey and start time.
    starts: Mutex<Vec<(String, Instant)>>,
    skips: Mutex<Vec<(String, String)>>,
    lags: Mutex<Vec<f64>>,
    active: Arc<AtomicUsize>,
    max_active: Arc<AtomicUsize>,
    run_for: Duration,
}

impl Recorder {
    fn new(run_for: Duration) -> Arc<Self> {
        Arc::new(Self {
            runs: Mutex::default(),
            starts: Mutex::default(),
            skips: Mutex::default(),
            lags: Mutex::default(),
            active: Arc::default(),
            max_active: Arc::default(),
            run_for,
        })
    }
    fn runs_of(&self, name: &str) -> usize {
        self.runs
            .lock()
            .unwrap()
            .iter()
            .filter(|n| *n == name)
            .count()
    }
    fn skips_of(&self, name: &str, reason: &str) -> usize {
        self.skips
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, r)| n == name && r == reason)
            .count()
    }
}

impl Hooks for Recorder {
    fn run(&self, journey: Arc<Journey>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.runs.lock().unwrap().push(journey.name.clone());
        self.starts
            .lock()
            .unwrap()
            .push((journey.name.clone(), Instant::now()));
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_active.fetch_max(now, Ordering::SeqCst);
        let (active, d) = (self.active.clone(), self.run_for);
        Box::pin(async move {
            tokio::time::sleep(d).await;
            active.fetch_sub(1, Ordering::SeqCst);
        })
    }
    fn skipped(&self, journey: &str, reason: &str) {
        self.skips
            .lock()
            .unwrap()
            .push((journey.into(), reason.into()));
    }
    fn lag(&self, seconds: f64) {
        self.lags.lock().unwrap().push(seconds);
    }
    fn next_run(&self, _journey: &str, _in: Duration) {}
    fn tick(&self) {}
}

struct Running {
    commands: mpsc::Sender<Command>,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<usize>,
}

fn start(
    hooks: Arc<Recorder>,
    journeys: Vec<Arc<Journey>>,
    concurrency: usize,
    grace: Duration,
) -> Running {
    start_within(hooks, journeys, concurrency, grace, None)
}

fn start_within(
    hooks: Arc<Recorder>,
    journeys: Vec<Arc<Journey>>,
    concurrency: usize,
    grace: Duration,
    first_within: Option<Duration>,
) -> Running {
    let shutdown = CancellationToken::new();
    let (tx, rx) = mpsc::channel(8);
    let s = Scheduler::new(hooks, journeys, concurrency, shutdown.clone(), first_within);
    Running {
        commands: tx,
        shutdown,
        handle: tokio::spawn(s.run(rx, grace)),
    }
}

/// Advances the paused clock in small steps so spawned tasks get to run.
async fn advance(total: Duration) {
    let step = Duration::from_millis(100);
    let mut done = Duration::ZERO;
    while done < total {
        tokio::time::advance(step).await;
        tokio::task::yield_now().await;
        done += step;
    }
}

mod slack;

#[test]
fn phase_is_deterministic_within_the_interval_and_spreads_names() {
    let i = Duration::from_secs(60);
    let a = phase("purchase", i);
    let b = phase("purchase", i);
    // Same name: same slot up to the 1% jitter.
    assert!(a.abs_diff(b) <= Duration::from_secs(1), "{a:?} {b:?}");
    assert!(a < i);
    let slots: HashSet<u64> = (0..100)
        .map(|n| phase(&format!("j{n}"), i).as_secs())
        .collect();
    assert!(
        slots.len() > 40,
        "100 journeys should spread over many seconds, got {}",
        slots.len()
    );
}

#[tokio::test(start_paused = true)]
async fn runs_every_interval() {
    let rec = Recorder::new(Duration::from_secs(1));
    let r = start(
        rec.clone(),
        vec![journey("a", "10s")],
        4,
        Duration::from_secs(5),
    );
    advance(Duration::from_secs(45)).await;
    // Phase < 10 s, then every 10 s: 4 or 5 starts in 45 s.
    let n = rec.runs_of("a");
    assert!((4..=5).contains(&n), "{n} runs");
    assert_eq!(rec.skips_of("a", "overlap"), 0);
    r.shutdown.cancel();
    assert_eq!(r.handle.await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_run_longer_than_its_interval_skips_the_next_start() {
    let rec = Recorder::new(Duration::from_secs(25));
    let r = start(
        rec.clone(),
        vec![journey("slow", "10s")],
        4,
        Duration::from_secs(60),
    );
    advance(Duration::from_secs(60)).await;
    assert!(
        rec.skips_of("slow", "overlap") >= 3,
        "{:?}",
        rec.skips.lock().unwrap()
    );
    assert!(rec.runs_of("slow") <= 3);
    assert_eq!(
        rec.max_active.load(Ordering::SeqCst),
        1,
        "never overlaps itself"
    );
    r.shutdown.cancel();
    r.handle.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_capped_and_waiting_shows_as_lag() {
    let rec = Recorder::new(Duration::from_secs(5));
    let js = (0..6).map(|i| journey(&format!("j{i}"), "60s")).collect();
    // All six are due within the first second, so four must queue behind the cap.
    let first = Some(Duration::from_secs(1));
    let r = start_within(rec.clone(), js, 2, Duration::from_secs(60), first);
    advance(Duration::from_secs(90)).await;
    assert_eq!(rec.max_active.load(Ordering::SeqCst), 2);
    assert!(rec.runs.lock().unwrap().len() >= 6);
    assert!(
        rec.lags.lock().unwrap().iter().any(|l| *l >= 4.0),
        "queued runs start late"
    );
    r.shutdown.cancel();
    r.handle.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn run_now_starts_at_once_but_never_twice() {
    let rec = Recorder::new(Duration::from_secs(5));
    let r = start(
        rec.clone(),
        vec![journey("a", "1h")],
        4,
        Duration::from_secs(60),
    );
    let (tx, rx) = oneshot::channel();
    r.commands
        .send(Command::RunNow("a".into(), tx))
        .await
        .unwrap();
    assert_eq!(rx.await.unwrap(), Ok(()));
    tokio::task::yield_now().await;
    assert_eq!(rec.runs_of("a"), 1);
    let (tx, rx) = oneshot::channel();
    r.commands
        .send(Command::RunNow("a".into(), tx))
        .await
        .unwrap();
    assert_eq!(
        rx.await.unwrap(),
        Err(RunNowError::AlreadyRunning("a".into()))
    );
    let (tx, rx) = oneshot::channel();
    r.commands
        .send(Command::RunNow("nope".into(), tx))
        .await
        .unwrap();
    assert_eq!(
        rx.await.unwrap(),
        Err(RunNowError::UnknownJourney("nope".into()))
    );
    r.shutdown.cancel();
    r.handle.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn replace_stops_removed_journeys_and_starts_new_ones() {
    let rec = Recorder::new(Duration::from_millis(100));
    let r = start(
        rec.clone(),
        vec![journey("old", "10s")],
        4,
        Duration::from_secs(5),
    );
    advance(Duration::from_secs(21)).await;
    let old_runs = rec.runs_of("old");
    assert!(old_runs >= 2);
    r.commands
        .send(Command::Replace(vec![journey("new", "10s")]))
        .await
        .unwrap();
    advance(Duration::from_secs(30)).await;
    assert_eq!(rec.runs_of("old"), old_runs, "removed journey kept running");
    assert!(rec.runs_of("new") >= 2);
    r.shutdown.cancel();
    r.handle.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_running_journeys_up_to_the_grace() {
    let rec = Recorder::new(Duration::from_secs(20));
    let r = start(
        rec.clone(),
        vec![journey("a", "1h")],
        4,
        Duration::from_secs(30),
    );
    let (tx, rx) = oneshot::channel();
    r.commands
        .send(Command::RunNow("a".into(), tx))
        .await
        .unwrap();
    rx.await.unwrap().unwrap();
    tokio::task::yield_now().await;
    r.shutdown.cancel();
    // 20 s run < 30 s grace: it completes, nothing cut off.
    assert_eq!(r.handle.await.unwrap(), 0);
    assert_eq!(rec.active.load(Ordering::SeqCst), 0);

    let rec = Recorder::new(Duration::from_secs(60));
    let r = start(
        rec.clone(),
        vec![journey("a", "1h")],
        4,
        Duration::from_secs(5),
    );
    let (tx, rx) = oneshot::channel();
    r.commands
        .send(Command::RunNow("a".into(), tx))
        .await
        .unwrap();
    rx.await.unwrap().unwrap();
    tokio::task::yield_now().await;
    r.shutdown.cancel();
    assert_eq!(
        r.handle.await.unwrap(),
        1,
        "a run longer than the grace is cut off"
    );
}

#[tokio::test(start_paused = true)]
async fn many_journeys_with_mixed_intervals_each_run_on_their_own_rhythm() {
    // The due-heap must hand out every journey at its own slot, whatever the mix.
    let rec = Recorder::new(Duration::from_millis(10));
    let journeys: Vec<Arc<Journey>> = (0..300)
        .map(|n| journey(&format!("j{n}"), if n % 3 == 0 { "5s" } else { "20s" }))
        .collect();
    let r = start(rec.clone(), journeys, 64, Duration::from_secs(5));
    advance(Duration::from_secs(40)).await;
    for n in 0..300 {
        let runs = rec.runs_of(&format!("j{n}"));
        // 40 s: 5 s journeys start 7-8 times, 20 s journeys 1-2 times, and once
        // more when the phase (name hash plus random jitter, wrapping around the
        // interval) lands within the few ms the paused clock runs past 40 s.
        let expected = if n % 3 == 0 { 7..=9 } else { 1..=3 };
        assert!(expected.contains(&runs), "j{n}: {runs} runs");
    }
    let reloaded: Vec<Arc<Journey>> = (0..300)
        .map(|n| journey(&format!("j{n}"), if n % 3 == 0 { "5s" } else { "20s" }))
        .collect();
    r.commands.send(Command::Replace(reloaded)).await.unwrap();
    let before = rec.runs.lock().unwrap().len();
    advance(Duration::from_secs(20)).await;
    // Same journeys, same intervals: the reload keeps every rhythm (100 × 4 + 200 × 1).
    let after = rec.runs.lock().unwrap().len() - before;
    assert!(
        (580..=620).contains(&after),
        "{after} runs in 20 s after reload"
    );
    assert_eq!(rec.skips.lock().unwrap().len(), 0);
    r.shutdown.cancel();
    r.handle.await.unwrap();
}
