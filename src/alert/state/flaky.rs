//! `JourneyFlaky`: the warning that keeps transient faults visible once retries and
//! same-step streaks stop them from paging (detection issue). Over the last `runs`
//! runs journeyd counts the requests a journey sent and the transient faults among
//! them (a retried request, a failed run); when the share passes `percent` the
//! warning fires, naming the rate, and it resolves below half of it (hysteresis, so
//! a rate hovering at the threshold does not flap). It never pages: severity
//! `warning`, for a chat channel. Runs of a paged outage do not count: the page
//! explains them. Pure, like the rest of the state machine.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::{Alert, AlertContext, AlertEvent, AlertTracker, RunFacts, identity};
use crate::runner::{JourneyRun, StepVerdict};

/// When transient faults are reported as a flaky journey.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlakyPolicy {
    /// How many of the last runs count (0: the warning is off).
    pub runs: u32,
    /// Share of requests, in percent, that fires the warning.
    pub percent: f64,
    /// At least this many faults in the window: three blips in a short window are
    /// not a rate yet.
    pub min_faults: u32,
}

impl Default for FlakyPolicy {
    fn default() -> Self {
        Self {
            runs: 60,
            percent: 2.0,
            min_faults: 3,
        }
    }
}

/// Requests and transient faults of one run.
///
/// Stored as `[requests, faults]`, not as an object: the window keeps up to
/// `runs` of them per journey in `alerts.db`, and with named fields 60 runs
/// took about 1.5 KB of JSON (26 bytes each, 6 as a pair). Both forms load, so
/// states stored before still do. In memory each count is 16 bits, saturating
/// (one run would need 65,535 requests to reach it): the window is kept for
/// every journey, 4 bytes a run instead of 8.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "StoredCount")]
pub struct FaultCount {
    /// Requests sent (attempts plus retries) by the steps that ran.
    pub requests: u16,
    /// Retried requests, plus one for the failed step of a failed run.
    pub faults: u16,
}

/// A stored count, as any version wrote it (pair or object, any size).
#[derive(Deserialize)]
struct StoredCount {
    requests: u64,
    faults: u64,
}

impl From<StoredCount> for FaultCount {
    fn from(c: StoredCount) -> Self {
        Self {
            requests: u16::try_from(c.requests).unwrap_or(u16::MAX),
            faults: u16::try_from(c.faults).unwrap_or(u16::MAX),
        }
    }
}

/// The window's sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    requests: u32,
    faults: u32,
}

impl Serialize for FaultCount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.requests, self.faults).serialize(s)
    }
}

impl FaultCount {
    /// Counts a finished run's requests and faults.
    pub fn of(run: &JourneyRun) -> Self {
        let (mut requests, mut faults) = (0u32, 0u32);
        for s in run
            .steps
            .iter()
            .filter(|s| s.verdict != StepVerdict::Skipped)
        {
            let retries = u32::try_from(s.retries.len()).unwrap_or(u32::MAX);
            requests = requests
                .saturating_add(s.attempts.max(1))
                .saturating_add(retries);
            faults = faults.saturating_add(retries);
            if s.verdict == StepVerdict::Fail {
                faults = faults.saturating_add(1);
            }
        }
        Self {
            requests: u16::try_from(requests).unwrap_or(u16::MAX),
            faults: u16::try_from(faults).unwrap_or(u16::MAX),
        }
    }
}

impl AlertTracker {
    /// Records one run's faults and says whether the flaky warning starts or ends.
    pub(super) fn observe_flaky(
        &mut self,
        f: &RunFacts,
        policy: &FlakyPolicy,
        ctx: &AlertContext,
    ) -> Vec<AlertEvent> {
        if policy.runs == 0 {
            self.flaky_window.clear();
            return self
                .flaky
                .take()
                .map(|a| AlertEvent::Resolved(*a, f.started_at))
                .into_iter()
                .collect();
        }
        if self.firing.is_some() {
            // An outage explains its own failed runs: they are not blips, and must
            // not read as a flaky journey once it resolves.
            self.flaky_window.clear();
            return Vec::new();
        }
        self.flaky_window.push_back(f.faults);
        while self.flaky_window.len() > policy.runs as usize {
            self.flaky_window.pop_front();
        }
        let total = window_total(&self.flaky_window);
        let percent = total.percent();
        let over = total.faults >= policy.min_faults.max(1) && percent >= policy.percent;
        match &mut self.flaky {
            None if over => {
                let alert = flaky_alert(f, total, self.flaky_window.len(), ctx);
                self.flaky = Some(Box::new(alert.clone()));
                vec![AlertEvent::Firing(alert)]
            }
            Some(_) if percent < policy.percent / 2.0 => self
                .flaky
                .take()
                .map(|a| AlertEvent::Resolved(*a, f.started_at))
                .into_iter()
                .collect(),
            // Still flaky: refresh the rate it names, silently.
            Some(a) => {
                a.annotations = flaky_alert(f, total, self.flaky_window.len(), ctx).annotations;
                Vec::new()
            }
            None => Vec::new(),
        }
    }
}

fn window_total(window: &VecDeque<FaultCount>) -> Totals {
    window.iter().fold(Totals::default(), |sum, c| Totals {
        requests: sum.requests.saturating_add(u32::from(c.requests)),
        faults: sum.faults.saturating_add(u32::from(c.faults)),
    })
}

impl Totals {
    fn percent(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            100.0 * f64::from(self.faults) / f64::from(self.requests)
        }
    }
}

fn flaky_alert(f: &RunFacts, total: Totals, runs: usize, ctx: &AlertContext) -> Alert {
    // Identity: the journey only. Spread faults have no one step or class, and an
    // identity that changed with the last fault would resolve and re-fire.
    let journey_only = RunFacts {
        step: None,
        backend: None,
        class: None,
        ..f.clone()
    };
    let mut a = std::collections::BTreeMap::new();
    a.insert(
        "summary".into(),
        format!(
            "{}: {:.1}% of requests hit a transient fault over the last {runs} runs \
             ({} of {}): retried or failed, not paged",
            ctx.journey,
            total.percent(),
            total.faults,
            total.requests
        ),
    );
    a.insert("fault_percent".into(), format!("{:.1}", total.percent()));
    a.insert("window_runs".into(), runs.to_string());
    if let Some(r) = &ctx.runbook {
        a.insert("runbook_url".into(), r.to_string());
    }
    Alert {
        labels: identity("JourneyFlaky", "warning", &journey_only, ctx),
        annotations: a,
        starts_at: f.started_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::state::AlertTracker;

    #[test]
    fn the_flaky_window_is_stored_as_pairs_and_the_older_form_still_loads() {
        let c = FaultCount {
            requests: 5,
            faults: 1,
        };
        assert_eq!(serde_json::to_string(&c).unwrap(), "[5,1]");
        let older: FaultCount = serde_json::from_str(r#"{"requests":5,"faults":1}"#).unwrap();
        assert_eq!(older, c);

        let mut t = AlertTracker::default();
        t.flaky_window.extend([c, FaultCount::default()]);
        let stored = serde_json::to_string(&t).unwrap();
        assert!(
            stored.contains(r#""flaky_window":[[5,1],[0,0]]"#),
            "{stored}"
        );
        let restored: AlertTracker = serde_json::from_str(&stored).unwrap();
        assert_eq!(restored, t);
        let before = stored.replace(
            "[[5,1],[0,0]]",
            r#"[{"requests":5,"faults":1},{"requests":0,"faults":0}]"#,
        );
        let restored: AlertTracker = serde_json::from_str(&before).unwrap();
        assert_eq!(restored, t, "a state stored by an earlier version");
    }

    #[test]
    fn a_count_too_large_for_16_bits_loads_and_counts_as_the_largest() {
        assert_eq!(std::mem::size_of::<FaultCount>(), 4);
        let big: FaultCount = serde_json::from_str("[70000,3]").unwrap();
        assert_eq!((big.requests, big.faults), (u16::MAX, 3));
        let named: FaultCount =
            serde_json::from_str(r#"{"requests":5,"faults":4294967295}"#).unwrap();
        assert_eq!((named.requests, named.faults), (5, u16::MAX));
        let window: VecDeque<FaultCount> = std::iter::repeat_n(big, 60).collect();
        let total = window_total(&window);
        assert_eq!((total.requests, total.faults), (60 * 65_535, 180));
    }
}
