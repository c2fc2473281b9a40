//! What the metrics remember between calls: the series of the declared journeys (rebuilt
//! from the configuration, so those of a journey that disappears are gone) and the last
//! verdict of every step proving a backend (so `journeyd_backend_up` can be computed
//! across journeys). Pure data, no registry. The declared shape ([`Declared`]) lives only
//! while `set_journeys` runs: kept, it was about 0.6 KiB per journey that nothing read.

use std::collections::{BTreeMap, BTreeSet};

use super::series::JourneySeries;

use crate::journey::Journey;

/// `(journey, step)`.
pub(super) type StepKey = (String, String);

/// The journeys declared by the last `set_journeys`, by name.
pub(super) type Declared = BTreeMap<String, DeclaredJourney>;

/// The shape of one declared journey.
#[derive(Debug, Default, PartialEq)]
pub(super) struct DeclaredJourney {
    /// Step name -> the backend it proves. Cleanup steps are not listed: they are not exported.
    pub steps: BTreeMap<String, Option<String>>,
}

/// Everything `Metrics` keeps behind its mutex.
#[derive(Debug, Default)]
pub(super) struct State {
    /// The per-journey series, by journey name (exactly the declared journeys).
    pub series: BTreeMap<String, JourneySeries>,
    /// Label names of `journeyd_journey_info` besides `journey`, sorted.
    pub info_keys: Vec<String>,
    /// Last verdicts of backend-proving steps.
    pub backends: Backends,
    /// The store's running totals of lost runs (queue full, write failed) at the last
    /// `observe_store`.
    pub dropped_total: [u64; 2],
    /// The alert receivers declared by the last `set_receivers`.
    pub receivers: BTreeSet<String>,
}

/// The shape of `journeys`, by name.
pub(super) fn declare<J: std::borrow::Borrow<Journey>>(journeys: &[J]) -> Declared {
    journeys
        .iter()
        .map(|j| {
            let j = j.borrow();
            let steps = j
                .steps
                .iter()
                .map(|s| (s.name.clone(), s.backend.clone()))
                .collect();
            (j.name.clone(), DeclaredJourney { steps })
        })
        .collect()
}

#[derive(Debug, Default, PartialEq)]
pub(super) struct Backends(BTreeMap<String, Proofs>);

/// The steps proving one backend and how many of them ran and failed on their last run.
#[derive(Debug, Default, PartialEq)]
struct Proofs {
    steps: BTreeMap<StepKey, Option<bool>>,
    ran: usize,
    failed: usize,
}

impl Proofs {
    fn set(&mut self, key: StepKey, verdict: Option<bool>) {
        let old = self.steps.insert(key, verdict).flatten();
        self.count(old, -1);
        self.count(verdict, 1);
    }

    fn count(&mut self, verdict: Option<bool>, by: isize) {
        if let Some(passed) = verdict {
            self.ran = self.ran.saturating_add_signed(by);
            if !passed {
                self.failed = self.failed.saturating_add_signed(by);
            }
        }
    }
}

impl Backends {
    /// The map for `declared`, keeping the verdicts of steps that still prove the same backend.
    pub fn redeclare(&self, declared: &Declared) -> Backends {
        let mut out: BTreeMap<String, Proofs> = BTreeMap::new();
        for (journey, shape) in declared {
            for (step, backend) in &shape.steps {
                let Some(backend) = backend else { continue };
                let key = (journey.clone(), step.clone());
                let known = self.0.get(backend).and_then(|p| p.steps.get(&key)).copied();
                out.entry(backend.clone())
                    .or_default()
                    .set(key, known.flatten());
            }
        }
        Backends(out)
    }

    /// Records the verdict of a declared step; other steps are ignored.
    pub fn record(&mut self, backend: &str, journey: &str, step: &str, passed: bool) {
        let key = (journey.to_string(), step.to_string());
        if let Some(proofs) = self.0.get_mut(backend)
            && proofs.steps.contains_key(&key)
        {
            proofs.set(key, Some(passed));
        }
    }

    /// `Some(true)` when every proving step that ran passed on its last run, `Some(false)`
    /// when one failed, `None` when none ran yet (or the backend is unknown).
    pub fn up(&self, backend: &str) -> Option<bool> {
        let proofs = self.0.get(backend)?;
        (proofs.ran > 0).then_some(proofs.failed == 0)
    }

    /// The backends proved by at least one declared step.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(steps: &[(&str, Option<&str>)]) -> DeclaredJourney {
        DeclaredJourney {
            steps: steps
                .iter()
                .map(|(s, b)| (s.to_string(), b.map(str::to_string)))
                .collect(),
        }
    }

    #[test]
    fn backend_up_needs_every_step_that_ran_to_pass() {
        let declared: Declared = [
            ("a".to_string(), shape(&[("s", Some("f"))])),
            ("b".to_string(), shape(&[("s", Some("f"))])),
        ]
        .into();
        let mut b = Backends::default().redeclare(&declared);
        assert_eq!(b.up("f"), None, "nothing ran yet");
        b.record("f", "a", "s", true);
        assert_eq!(b.up("f"), Some(true));
        b.record("f", "b", "s", false);
        assert_eq!(b.up("f"), Some(false));
        b.record("f", "b", "s", true);
        assert_eq!(b.up("f"), Some(true));
        b.record("f", "c", "s", false);
        assert_eq!(b.up("f"), Some(true), "undeclared steps are ignored");
        let b = b.redeclare(&[("a".to_string(), shape(&[("s", Some("g"))]))].into());
        assert_eq!(
            (b.up("f"), b.up("g")),
            (None, None),
            "a moved step starts unknown"
        );
    }
}
