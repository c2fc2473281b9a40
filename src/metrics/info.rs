//! `journeyd_journey_info`: one series per journey, value 1, carrying the journey's static
//! labels (`team`, `channel`) so queries can join them onto any other series.
//!
//! Its label names depend on configuration: the union of the label keys of every configured
//! journey, with `""` for a journey that lacks a key. The series is written by the
//! exposition (`expose.rs`) from the keys and values computed here at every
//! `set_journeys`; the `prometheus` crate could not have held it, since it cannot
//! re-register a family under new label names.

use std::collections::BTreeSet;

use super::families::OWN_LABELS;
use crate::journey::Journey;

/// The info label names: every journey label key except the daemon's static labels and
/// journeyd's own, sorted.
pub(super) fn keys<J: std::borrow::Borrow<Journey>>(
    journeys: &[J],
    reserved: &BTreeSet<String>,
) -> Vec<String> {
    journeys
        .iter()
        .flat_map(|j| j.borrow().labels.keys())
        .filter(|k| !reserved.contains(*k) && !OWN_LABELS.contains(&k.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .cloned()
        .collect()
}

/// One journey's values for `keys`, `""` where it has none.
pub(super) fn values(j: &Journey, keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|k| j.labels.get(k).cloned().unwrap_or_default())
        .collect()
}
