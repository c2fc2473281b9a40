//! Counter-only state changes are stored at the next tick in one write; a
//! change in what the state says (phase, alerts, streak) is stored at once.

use super::*;

/// The stored tracker of `journey` (passes and failures), from the database.
async fn stored(db: &AlertDb, journey: &str) -> Option<(u32, u32)> {
    let states = db.load_states().await.unwrap();
    let s: JourneyAlerts = serde_json::from_str(states.get(journey)?).unwrap();
    Some((s.tracker.passes, s.tracker.failures))
}

#[tokio::test]
async fn counters_wait_for_the_tick_and_a_phase_change_is_stored_at_once() {
    let j = journey("checkout", "checkout");
    let f = fixture(config(), std::slice::from_ref(&j), None).await;
    let t = t0();

    // A first passing run says what a journey without stored state says.
    f.engine.observe_at(&run("checkout", None, t), t).await;
    assert_eq!(stored(&f.db, "checkout").await, None);
    f.engine.tick_at(t).await;
    let first = stored(&f.db, "checkout").await;
    assert_eq!(first, Some((1, 0)), "the tick stores it");

    // Passing again changes counters only: not written yet.
    for i in 1..=3 {
        let at = t + Span::seconds(10 * i);
        f.engine.observe_at(&run("checkout", None, at), at).await;
    }
    assert_eq!(stored(&f.db, "checkout").await, first);

    // The tick writes them.
    f.engine.tick_at(t + Span::seconds(40)).await;
    assert_eq!(stored(&f.db, "checkout").await, Some((4, 0)));

    // Shutdown stores what changed since the last tick.
    let at = t + Span::seconds(45);
    f.engine.observe_at(&run("checkout", None, at), at).await;
    assert_eq!(stored(&f.db, "checkout").await, Some((4, 0)));
    f.engine.store_states().await;
    assert_eq!(stored(&f.db, "checkout").await, Some((5, 0)));

    // A failure leaves the Ok phase: stored at once, without waiting for a tick.
    let at = t + Span::seconds(50);
    f.engine
        .observe_at(&run("checkout", Some(FailureClass::Timeout), at), at)
        .await;
    assert_eq!(stored(&f.db, "checkout").await, Some((0, 1)));
}

#[tokio::test]
async fn a_tick_stores_more_journeys_than_one_commit_holds() {
    let n = super::super::io::STATES_PER_COMMIT * 2 + 3;
    let journeys: Vec<Journey> = (0..n)
        .map(|i| journey(&format!("j{i:04}"), "team"))
        .collect();
    let f = fixture(config(), &journeys, None).await;
    let t = t0();
    for j in &journeys {
        f.engine.observe_at(&run(&j.name, None, t), t).await;
    }
    f.engine.tick_at(t).await;
    let states = f.db.load_states().await.unwrap();
    for j in &journeys {
        let s: JourneyAlerts = serde_json::from_str(&states[&j.name]).unwrap();
        assert_eq!(s.tracker.passes, 1, "{} stored by the tick", j.name);
    }
}
