//! Runs due close together start on one wake-up, early and never late, and keep
//! their rhythm (`SLACK`).

use std::collections::HashMap;

use super::*;

/// A scheduler whose journeys (name, interval, first start in ms from now) first
/// start when given; each run takes 10 ms. Returns the recorder, the time the
/// first starts count from, and the shutdown token.
fn start_at(spec: &[(&str, &str, u64)]) -> (Arc<Recorder>, Instant, Running) {
    let rec = Recorder::new(Duration::from_millis(10));
    let journeys = spec.iter().map(|(n, i, _)| journey(n, i)).collect();
    let at: HashMap<String, u64> = spec.iter().map(|(n, _, ms)| (n.to_string(), *ms)).collect();
    let first: FirstStart = Arc::new(move |name, _| Duration::from_millis(at[name]));
    let t0 = Instant::now();
    let shutdown = CancellationToken::new();
    let (commands, rx) = mpsc::channel(8);
    let s =
        Scheduler::new(rec.clone(), journeys, 8, shutdown.clone(), None).with_first_start(first);
    let handle = tokio::spawn(s.run(rx, Duration::from_secs(1)));
    let running = Running {
        commands,
        shutdown,
        handle,
    };
    (rec, t0, running)
}

/// Start times of each run, in ms after `t0`, by journey.
fn starts_ms(rec: &Recorder, t0: Instant) -> HashMap<String, Vec<u128>> {
    let mut by: HashMap<String, Vec<u128>> = HashMap::new();
    for (name, at) in rec.starts.lock().unwrap().iter() {
        by.entry(name.clone())
            .or_default()
            .push(at.duration_since(t0).as_millis());
    }
    by
}

#[tokio::test(start_paused = true)]
async fn runs_due_within_the_slack_start_together_and_never_late() {
    let (rec, t0, r) = start_at(&[
        ("a", "1h", 1000),
        // Within 200 ms of a: started with it.
        ("b", "1h", 1150),
        // A 1 s interval may start 100 ms early: d with a, e on its own.
        ("d", "1s", 1050),
        ("e", "1s", 1160),
        // Beyond the slack of e's wake-up: on time, on a wake-up of its own.
        ("c", "1h", 1400),
    ]);
    // The paused clock jumps from timer to timer, so each start is exact.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let by = starts_ms(&rec, t0);
    assert_eq!(by["a"], [1000]);
    assert_eq!(by["b"], [1000], "{by:?}");
    assert_eq!(by["d"], [1000], "{by:?}");
    assert_eq!(by["e"], [1160], "{by:?}");
    assert_eq!(by["c"], [1400], "{by:?}");
    // Early is not late: no lag is reported for any of them.
    let lags = rec.lags.lock().unwrap().clone();
    assert!(lags.iter().all(|l| *l == 0.0), "{lags:?}");
    r.shutdown.cancel();
    assert_eq!(r.handle.await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_early_start_keeps_the_rhythm_of_the_schedule() {
    // f's slot is every 1 s from 1,050 ms; g's, 50 ms before each of f's, wakes
    // the loop and takes f's start with it every time.
    let (rec, t0, r) = start_at(&[("f", "1s", 1050), ("g", "1s", 1000)]);
    tokio::time::sleep(Duration::from_millis(10_100)).await;
    let f = starts_ms(&rec, t0).remove("f").unwrap_or_default();
    // One start per slot, each 50 ms early with g, and the next slot still a whole
    // interval after this one's: an early start does not pull the schedule forward.
    let expected: Vec<u128> = (0..10).map(|k| 1000 + 1000 * k).collect();
    assert_eq!(f, expected);
    r.shutdown.cancel();
    assert_eq!(r.handle.await.unwrap(), 0);
}
