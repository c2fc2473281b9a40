//! Label filters shared by `/api/journeys` and the status page: `?team=checkout`,
//! `?channel=web`, `?backend=auth` (any step at that back-end), any journey label.
//! Several keys must all match, so a filtered view is a shareable URL.

use std::collections::BTreeMap;

use crate::status::board::JourneyStatus;

/// The query string's filters: key → wanted value.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct LabelFilter(pub BTreeMap<String, String>);

impl LabelFilter {
    /// True when the journey has every wanted label (`backend`: one of its back-ends).
    pub fn matches(&self, j: &JourneyStatus) -> bool {
        self.0.iter().all(|(k, v)| match k.as_str() {
            "backend" => j.backends().iter().any(|b| b == v),
            _ => j.labels().get(k) == Some(v),
        })
    }

    /// The journeys that match, in their order.
    pub fn apply(&self, journeys: Vec<JourneyStatus>) -> Vec<JourneyStatus> {
        journeys.into_iter().filter(|j| self.matches(j)).collect()
    }
}
