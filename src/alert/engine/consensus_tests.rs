//! The consensus policy, table-driven: which location states page, which
//! resolve, and which say nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::{LocationVote, eval_consensus, stale_after};
use crate::alert::state::{Alert, AlertTracker, Phase};

/// A location's state in a table row.
#[derive(Clone, Copy)]
enum L {
    /// Passing.
    Ok,
    /// Failing below the threshold.
    Pending,
    /// Its own tracker fires (started `n` seconds after the epoch).
    Firing(i64),
    /// Its network is down (unknown).
    Down,
    /// Its last run is too old.
    Stale,
}

fn at(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

fn alert(step: &str, start: i64) -> Alert {
    Alert {
        labels: [
            ("alertname".to_string(), "JourneyFailing".to_string()),
            ("step".to_string(), step.to_string()),
        ]
        .into(),
        annotations: BTreeMap::new(),
        starts_at: at(start),
    }
}

fn tracker(l: L, loc: &str) -> AlertTracker {
    let mut t = AlertTracker::default();
    match l {
        L::Ok | L::Down | L::Stale => {}
        L::Pending => t.phase = Phase::Pending,
        L::Firing(start) => {
            t.phase = Phase::Firing;
            t.failures = 3;
            t.firing = Some(Box::new(alert(&format!("step at {loc}"), start)));
        }
    }
    t
}

const NOW: i64 = 1000;

/// Decides with `locations` (named a, b, c...), `min`, and what fired before.
fn decide(locations: &[L], min: usize, was_firing: bool) -> (Phase, Option<Alert>, Vec<String>) {
    let names = ["a", "b", "c", "d"];
    let votes: BTreeMap<String, LocationVote> = locations
        .iter()
        .zip(names)
        .map(|(l, n)| {
            let seen = match l {
                L::Stale => at(NOW - 3600),
                _ => at(NOW - 5),
            };
            let v = LocationVote {
                tracker: tracker(*l, n),
                last_class: None,
                seen: Some(seen),
            };
            (n.to_string(), v)
        })
        .collect();
    let down: Vec<String> = locations
        .iter()
        .zip(names)
        .filter(|(l, _)| matches!(l, L::Down))
        .map(|(_, n)| n.to_string())
        .collect();
    let mut previous = AlertTracker::default();
    if was_firing {
        previous.phase = Phase::Firing;
        previous.firing = Some(Box::new(alert("before", 0)));
    }
    let (t, failing) = eval_consensus(
        &previous,
        &votes,
        &|l: &str| down.iter().any(|d| d == l),
        stale_after(Duration::from_secs(30)),
        min,
        at(NOW),
    );
    (t.phase, t.firing.map(|a| *a), failing)
}

#[test]
fn pages_only_when_enough_voting_locations_confirm() {
    use L::*;
    // (locations, min_locations, firing before) -> fires
    let table: &[(&[L], usize, bool, bool)] = &[
        (&[Firing(1)], 2, false, true), // one location: as a single journeyd
        (&[Firing(1), Ok], 2, false, false), // one vantage point alone does not page
        (&[Firing(1), Firing(2)], 2, false, true), // both confirm
        (&[Firing(1), Pending], 2, false, false), // the second not yet
        (&[Firing(1), Firing(2), Ok], 2, false, true),
        (&[Firing(1), Ok, Ok], 1, false, true), // min 1: any location pages
        (&[Firing(1), Firing(2), Ok], 3, false, false),
        (&[Firing(1), Down], 2, false, true), // the only healthy voter confirms
        (&[Ok, Down], 2, false, false),       // a location without network: no page
        (&[Firing(1), Stale], 2, false, true), // a silent location does not count
        (&[Firing(1), Firing(2), Ok], 2, true, true),
        (&[Firing(1), Ok], 2, true, false), // fewer than need: resolves
        (&[Ok, Ok], 2, true, false),
    ];
    for (i, (locations, min, before, fires)) in table.iter().enumerate() {
        let (_, firing, _) = decide(locations, *min, *before);
        assert_eq!(firing.is_some(), *fires, "row {i}");
    }
}

#[test]
fn an_unknown_or_silent_location_votes_neither_for_an_outage_nor_for_a_resolve() {
    use L::*;
    for locations in [&[Down][..], &[Down, Down], &[Stale, Down]] {
        let (phase, firing, _) = decide(locations, 2, true);
        assert_eq!(phase, Phase::Firing, "{}", locations.len());
        assert_eq!(firing.unwrap().labels["step"], "before", "kept as it was");
        let (phase, firing, _) = decide(locations, 2, false);
        assert_eq!((phase, firing), (Phase::Ok, None));
    }
}

#[test]
fn the_page_names_the_failing_locations_and_keeps_the_earliest_alert() {
    use L::*;
    let (phase, firing, failing) = decide(&[Firing(20), Firing(10), Ok], 2, false);
    assert_eq!(phase, Phase::Firing);
    let firing = firing.unwrap();
    assert_eq!(firing.annotations["locations"], "a, b");
    assert_eq!(
        firing.labels["step"], "step at b",
        "the earliest stands for all"
    );
    assert_eq!(firing.starts_at, at(10));
    assert_eq!(failing, vec!["a".to_string(), "b".to_string()]);
}

#[test]
fn below_the_quorum_the_journey_is_pending_and_the_failing_locations_are_counted() {
    use L::*;
    let (phase, firing, failing) = decide(&[Firing(1), Ok, Ok], 2, false);
    assert_eq!((phase, firing), (Phase::Pending, None));
    assert_eq!(failing, vec!["a".to_string()]);
    let (phase, _, failing) = decide(&[Ok, Ok], 2, false);
    assert_eq!(phase, Phase::Ok);
    assert!(failing.is_empty());
}
