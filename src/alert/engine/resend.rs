//! Re-sends: Alertmanager forgets alerts nobody restates, so firing alerts
//! are sent again to such receivers on their own interval.

use chrono::{DateTime, Utc};

use super::{AlertEngine, Inner, elapsed};
use crate::alert::state::AlertEvent;

impl AlertEngine {
    pub(super) fn resend_interval(&self, receiver: &str) -> Option<std::time::Duration> {
        self.receivers
            .iter()
            .find(|r| r.name() == receiver)
            .and_then(|r| r.resend_interval())
    }

    /// Firing alerts due for a re-send to Alertmanager receivers (their `endsAt` must move on).
    pub(super) fn resends(
        &self,
        inner: &mut Inner,
        now: DateTime<Utc>,
    ) -> Vec<(String, AlertEvent)> {
        let mut due = Vec::new();
        for r in &self.receivers {
            let Some(every) = r.resend_interval() else {
                continue;
            };
            let last = inner.last_resend.get(r.name()).copied();
            if last.is_none_or(|l| elapsed(l, now) >= every) {
                inner.last_resend.insert(r.name().to_string(), now);
                due.push(r.name().to_string());
            }
        }
        let mut out = Vec::new();
        for state in (inner.journeys.values().map(|s| &**s))
            .chain(inner.backends.values())
            .chain(inner.probes.values())
            .chain([&inner.probe])
        {
            for d in state.delivered.values() {
                for r in d.receivers.iter().filter(|r| due.contains(r)) {
                    out.push((r.clone(), AlertEvent::Firing(d.alert.clone())));
                }
            }
        }
        out
    }
}
