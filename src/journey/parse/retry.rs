//! `retry`: how a single request that failed in a transient way is sent again before
//! the step is judged (on a step, or for every step in `defaults`).

use super::build::{Builder, loc};
use super::raw::{RawRetry, S};
use crate::journey::model::Retry;
use crate::units::limits;

/// At most this many retries per request: more would hide an outage behind retries.
const MAX_RETRIES: u32 = 10;

impl Builder<'_> {
    /// `raw` over `inherited` (the journey defaults, or the built-in default). A `retry:`
    /// that is written anywhere makes the policy declared: every method is retried.
    pub(super) fn retry(
        &mut self,
        path: &str,
        raw: Option<&S<RawRetry>>,
        inherited: &Retry,
    ) -> Retry {
        let Some(r) = raw else {
            return inherited.clone();
        };
        let mut out = Retry {
            declared: true,
            ..inherited.clone()
        };
        if let Some(max) = &r.value.max {
            if max.value > MAX_RETRIES {
                self.err(
                    loc(max),
                    &format!("{path}.max"),
                    format!("at most {MAX_RETRIES} retries per request (0 turns retries off)"),
                );
            }
            out.max = max.value.min(MAX_RETRIES);
        }
        if let Some(d) = &r.value.delay
            && let Some(delay) = self.duration(d, &format!("{path}.delay"), limits::RETRY_DELAY)
        {
            out.delay = delay;
        }
        if let Some(statuses) = &r.value.statuses {
            if let Some(bad) = statuses.value.iter().find(|s| !(100..=599).contains(*s)) {
                self.err(
                    loc(statuses),
                    &format!("{path}.statuses"),
                    format!("`{bad}` is not an HTTP status (100-599)"),
                );
            }
            out.statuses = statuses.value.clone().into();
        }
        out
    }
}
