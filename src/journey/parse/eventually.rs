//! `eventually`: how a step is retried until a back-end process finishes
//! (`within`, `every`, `backoff`).

use super::build::{Builder, loc};
use super::raw::{RawEventually, S};
use crate::journey::model::*;

impl Builder<'_> {
    pub(super) fn eventually(&mut self, path: &str, e: &S<RawEventually>) -> Option<Eventually> {
        let raw = &e.value;
        let within = self.duration(&raw.within, &format!("{path}.within"));
        let every = match &raw.every {
            Some(d) => self.duration(d, &format!("{path}.every")),
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
            Some(d) => self.duration(d, &format!("{path}.max_every")),
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
            .and_then(|w| self.duration(w, &format!("{path}.warn_after")));
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
        })
    }
}
