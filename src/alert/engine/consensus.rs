//! Locations that vote (issue 8). In a fleet each location runs every
//! journey, and each (journey, location) has its own [`AlertTracker`]. The
//! journey's alert is decided from them, purely, by [`eval_consensus`]:
//!
//! - A location *votes* when it reported the journey recently (its last run
//!   is younger than [`stale_after`]) and its network is not down (not every
//!   journey it runs last failed at DNS/connect; such a location raises
//!   `JourneydProbeUnhealthy{location}` instead and is *unknown*).
//! - The journey fires when at least `need = min(min_locations, voters)`
//!   voting locations fire (`alerting.consensus.min_locations`, default 2),
//!   and resolves when fewer do. The same rule holds for the degraded and
//!   flaky warnings.
//! - With no voter at all, nothing changes: an unknown location is a vote
//!   neither for an outage nor for a resolve.
//!
//! The default of 2, capped by the voters, means: with two or more healthy
//! locations a fault one location alone sees (its egress, its resolver, a
//! regional CDN edge) does not page; with one location left the fleet
//! behaves as a single journeyd. A higher value trades detection of regional
//! outages for fewer pages about one vantage point.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::state::{Alert, AlertTracker, Phase};
use crate::runner::FailureClass;

/// The alert state of one journey at one location.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LocationVote {
    /// The location's own tracker, fed only that location's runs.
    pub tracker: AlertTracker,
    /// Class of the location's last failure (for its network check).
    #[serde(default)]
    pub last_class: Option<FailureClass>,
    /// When the location's last run of the journey was observed.
    #[serde(default)]
    pub seen: Option<DateTime<Utc>>,
}

/// How long a location still counts after its last run of a journey: three
/// intervals (a run and its confirmation can be late), at least a minute.
pub fn stale_after(interval: Duration) -> Duration {
    (interval * 3).max(Duration::from_secs(60))
}

/// The journey's tracker decided from its locations' (see the module docs);
/// `previous` is kept when no location votes. Returns it with the names of
/// the voting locations whose tracker fires.
pub fn eval_consensus(
    previous: &AlertTracker,
    votes: &BTreeMap<String, LocationVote>,
    unknown: &dyn Fn(&str) -> bool,
    stale: Duration,
    min_locations: usize,
    now: DateTime<Utc>,
) -> (AlertTracker, Vec<String>) {
    let voters: Vec<(&String, &AlertTracker)> = votes
        .iter()
        .filter(|(loc, v)| {
            !unknown(loc)
                && v.seen
                    .is_some_and(|s| (now - s).to_std().unwrap_or_default() <= stale)
        })
        .map(|(loc, v)| (loc, &v.tracker))
        .collect();
    if voters.is_empty() {
        return (previous.clone(), Vec::new());
    }
    let need = min_locations.clamp(1, voters.len());
    let pick =
        |get: &dyn Fn(&AlertTracker) -> Option<&Alert>| -> (Option<Box<Alert>>, Vec<String>) {
            let on: Vec<(&String, &Alert)> = voters
                .iter()
                .filter_map(|(loc, t)| get(t).map(|a| (*loc, a)))
                .collect();
            if on.len() < need {
                return (None, on.iter().map(|(l, _)| (*l).clone()).collect());
            }
            let names: Vec<String> = on.iter().map(|(l, _)| (*l).clone()).collect();
            // The earliest alert stands for all: its labels (so its fingerprint)
            // stay the same while it fires, whoever joins or leaves.
            let first = on.iter().min_by_key(|(l, a)| (a.starts_at, (*l).clone()));
            let alert = first.map(|(_, a)| {
                let mut a = Box::new((*a).clone());
                a.annotations.insert("locations".into(), names.join(", "));
                a
            });
            (alert, names)
        };
    let (firing, failing) = pick(&|t| t.firing.as_deref());
    let (degraded, _) = pick(&|t| t.degraded.as_deref());
    let (flaky, _) = pick(&|t| t.flaky.as_deref());
    // Counters and history from the voter with the longest failure streak.
    let mut out = voters
        .iter()
        .max_by_key(|(loc, t)| (t.failures, std::cmp::Reverse((*loc).clone())))
        .map(|(_, t)| (*t).clone())
        .unwrap_or_default();
    out.last_success = voters.iter().filter_map(|(_, t)| t.last_success).max();
    out.phase = if firing.is_some() {
        Phase::Firing
    } else if voters.iter().any(|(_, t)| t.phase != Phase::Ok) {
        Phase::Pending
    } else {
        Phase::Ok
    };
    out.firing = firing;
    out.degraded = degraded;
    out.flaky = flaky;
    (out, failing)
}

#[cfg(test)]
#[path = "consensus_tests.rs"]
mod tests;
