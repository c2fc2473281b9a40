//! Runs due close together start on one wake-up, early and never late, and keep
//! their rhythm (`SLACK`).

use std::collections::HashMap;

use super::*;

/// Each journey (name, interval, first start in ms from now) starts when given.
fn first_starts(spec: &[(&str, &str, u64)]) -> (Vec<Arc<Journey>>, FirstStart) {
    let journeys = spec.iter().map(|(n, i, _)| journey(n, i)).collect();
    let at: HashMap<String, u64> = spec.iter().map(|(n, _, ms)| (n.to_string(), *ms)).collect();
    let first: FirstStart = Arc::new(move |name, _| Duration::from_millis(at[name]));
    (journeys, first)
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
    let rec = Recorder::new(Duration::from_millis(10));
    let (journeys, first) = first_starts(&[
        ("a", "1h", 1000),
        // Within 200 ms of a: started with it.
        ("b", "1h", 1150),
        // A 1 s interval may start 100 ms early: d with a, e on its own.
        ("d", "1s", 1050),
        ("e", "1s", 1160),
        // Beyond the slack: on time, on a wake-up of its own.
        ("c", "1h", 1400),
    ]);
    let t0 = Instant::now();
    let shutdown = CancellationToken::new();
    let (_tx, rx) = mpsc::channel(8);
    let s =
        Scheduler::new(rec.clone(), journeys, 8, shutdown.clone(), None).with_first_start(first);
    let handle = tokio::spawn(s.run(rx, Duration::from_secs(1)));
    // The paused clock jumps from timer to timer, so each start is exact.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let by = starts_ms(&rec, t0);
    assert_eq!(by["a"], [1000]);
    assert_eq!(by["b"], [1000], "{by:?}");
    assert_eq!(by["d"], [1000], "{by:?}");
    assert_eq!(by["e"], [1160], "{by:?}");
    assert_eq!(by["c"], [1400], "{by:?}");
    // Early is not late: no lag is reported for any of them.
    assert!(
        rec.lags.lock().unwrap().iter().all(|l| *l == 0.0),
        "{:?}",
        rec.lags
    );
    shutdown.cancel();
    assert_eq!(handle.await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_early_start_keeps_the_rhythm_of_the_schedule() {
    let rec = Recorder::new(Duration::from_millis(10));
    // f's slot is every 1 s from 1,050 ms; g's, 50 ms before each of f's, wakes
    // the loop and takes f's start with it every time.
    let (journeys, first) = first_starts(&[("f", "1s", 1050), ("g", "1s", 1000)]);
    let t0 = Instant::now();
    let shutdown = CancellationToken::new();
    let (_tx, rx) = mpsc::channel(8);
    let s =
        Scheduler::new(rec.clone(), journeys, 8, shutdown.clone(), None).with_first_start(first);
    let handle = tokio::spawn(s.run(rx, Duration::from_secs(1)));
    tokio::time::sleep(Duration::from_millis(10_100)).await;
    let by = starts_ms(&rec, t0);
    let f = &by["f"];
    assert_eq!(
        f.len(),
        10,
        "one start per slot, none skipped or doubled: {f:?}"
    );
    let mut early = 0;
    for (k, at) in f.iter().enumerate() {
        let slot = 1050 + 1000 * k as u128;
        // Never late, never more than a tenth of the interval early: no drift.
        assert!(
            (slot - 100..=slot).contains(at),
            "start {k} at {at} ms, slot {slot}: {f:?}"
        );
        early += usize::from(*at < slot);
    }
    assert!(
        early > 0,
        "g's wake-ups should take some of f's starts early: {f:?}"
    );
    shutdown.cancel();
    assert_eq!(handle.await.unwrap(), 0);
}
