//! `eventually`: how a step is retried until a back-end process finishes
//! (`within`, `every`, `backoff`), and `durable: true`, which turns a wait
//! longer than a run into an obligation the daemon watches.
//!
//! The rule: a run may hold a wait up to 1h ([`limits::EVENTUALLY`]); a longer
//! `within` needs `durable: true`, which allows 1s..30d
//! ([`limits::DURABLE_WITHIN`]). A durable step must be the last main step (the
//! run ends after its first poll, so no later step could use what it captures).

use super::build::{Builder, loc};
use super::raw::{RawEventually, S};
use crate::journey::model::*;
use crate::units::limits;
use std::time::Duration;

impl Builder<'_> {
    pub(super) fn eventually(&mut self, path: &str, e: &S<RawEventually>) -> Option<Eventually> {
        let raw = &e.value;
        let durable = raw.durable.as_ref().is_some_and(|d| d.value);
        let within = self.within(raw, path, durable);
        let every = match &raw.every {
            Some(d) => self.duration(d, &format!("{path}.every"), limits::EVENTUALLY),
            None => Some(std::time::Duration::from_secs(1)),
        };
        let backoff = raw.backoff.as_ref().map_or(1.0, |b| b.value);
        if let Some(b) = &raw.backoff
            && !(1.0..=10.0).contains(&b.value)
        {
            self.err(
                loc(b),
                &format!("{path}.backoff"),
                "backoff is a multiplier between 1.0 (fixed interval) and 10.0",
            );
        }
        let max_every = match &raw.max_every {
            Some(d) => self.duration(d, &format!("{path}.max_every"), limits::EVENTUALLY),
            None => every.map(|e| {
                if backoff > 1.0 {
                    e.max(std::time::Duration::from_secs(10))
                } else {
                    e
                }
            }),
        };
        let warn_after = raw
            .warn_after
            .as_ref()
            .and_then(|w| self.duration(w, &format!("{path}.warn_after"), limits::EVENTUALLY));
        let (within, every, max_every) = (within?, every?, max_every?);
        if every >= within {
            let at = raw.every.as_ref().map(loc).unwrap_or(loc(e));
            self.err(
                at,
                &format!("{path}.every"),
                format!("`every` ({every:?}) must be shorter than `within` ({within:?})"),
            );
        }
        Some(Eventually {
            within,
            every,
            backoff,
            max_every,
            warn_after,
            durable,
        })
    }

    /// `within` in the durable range, or in a run's range with a hint at `durable`
    /// when it is longer than a run may hold.
    fn within(&mut self, raw: &RawEventually, path: &str, durable: bool) -> Option<Duration> {
        let key = format!("{path}.within");
        if durable {
            return self.duration(&raw.within, &key, limits::DURABLE_WITHIN);
        }
        let longer_than_a_run =
            crate::units::parse_duration_in(&raw.within.value, limits::DURABLE_WITHIN)
                .is_ok_and(|d| d > limits::EVENTUALLY.max);
        if longer_than_a_run {
            self.err(
                loc(&raw.within),
                &key,
                format!(
                    "`within: {}` is longer than a run may wait ({}): add `durable: true` so the daemon watches it as an obligation",
                    raw.within.value.trim(),
                    limits::format_limit(limits::EVENTUALLY.max)
                ),
            );
            return None;
        }
        self.duration(&raw.within, &key, limits::EVENTUALLY)
    }
}
