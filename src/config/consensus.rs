//! `alerting.consensus`: how a fleet's locations vote on a journey's alert
//! (docs/alerting.md, "Locations that vote").

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{ConfigBuilder, loc};
use crate::alert::config::Consensus;

/// `alerting.consensus`: how a fleet's locations vote (docs/alerting.md).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConsensus {
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    min_locations: Option<Spanned<u32>>,
}

impl ConfigBuilder<'_> {
    pub(super) fn consensus(&mut self, raw: Option<&RawConsensus>) -> Consensus {
        let mut c = Consensus::default();
        if let Some(m) = raw.and_then(|r| r.min_locations.as_ref()) {
            if m.value == 0 {
                self.err(
                    loc(m),
                    "alerting.consensus.min_locations",
                    "must be at least 1",
                );
            }
            c.min_locations = usize::try_from(m.value.max(1)).unwrap_or(usize::MAX);
        }
        c
    }
}
