//! `journeyd_journey_info`: one series per journey, value 1, carrying the journey's static
//! labels (`team`, `channel`) so queries can join them onto any other series.
//!
//! Its label names depend on configuration: the union of the label keys of every configured
//! journey, with `""` for a journey that lacks a key. The `prometheus` crate cannot
//! re-register a family under new label names: `Registry::unregister` keeps the name's
//! label-name hash ("must be consistent throughout the lifetime of a program") and the next
//! `register` fails. So this collector is registered once and builds the family itself on
//! every scrape from the rows [`JourneyInfo::set`] stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};

use super::families::OWN_LABELS;
use crate::journey::Journey;

const NAME: &str = "journeyd_journey_info";
const HELP: &str = "Always 1; the labels carry the journey's static labels (empty when unset).";

/// The collector; clones share the rows.
#[derive(Clone)]
pub(super) struct JourneyInfo {
    desc: Desc,
    rows: Arc<Mutex<Rows>>,
}

#[derive(Default)]
struct Rows {
    /// Label names after `journey`, sorted.
    keys: Vec<String>,
    /// Journey name -> values, in `keys` order.
    values: BTreeMap<String, Vec<String>>,
}

impl JourneyInfo {
    /// An empty family.
    pub fn new() -> prometheus::Result<Self> {
        // The desc only identifies the collector in the registry; `collect` writes the labels.
        let desc = Desc::new(
            NAME.to_string(),
            HELP.to_string(),
            vec!["journey".to_string()],
            HashMap::new(),
        )?;
        Ok(Self {
            desc,
            rows: Arc::default(),
        })
    }

    /// Replaces the rows with one per journey. Keys named like a daemon label (`reserved`) or
    /// one of journeyd's own are left out: the daemon's value wins on every series anyway.
    pub fn set(&self, journeys: &[Journey], reserved: &BTreeSet<String>) {
        let keys: Vec<String> = journeys
            .iter()
            .flat_map(|j| j.labels.keys())
            .filter(|k| !reserved.contains(*k) && !OWN_LABELS.contains(&k.as_str()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        let values = journeys
            .iter()
            .map(|j| {
                let row = keys
                    .iter()
                    .map(|k| j.labels.get(k).cloned().unwrap_or_default())
                    .collect();
                (j.name.clone(), row)
            })
            .collect();
        *self.rows.lock().unwrap_or_else(PoisonError::into_inner) = Rows { keys, values };
    }
}

impl Collector for JourneyInfo {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        let metrics = rows
            .values
            .iter()
            .map(|(journey, values)| {
                let mut labels = vec![label("journey", journey)];
                labels.extend(rows.keys.iter().zip(values).map(|(k, v)| label(k, v)));
                let mut gauge = Gauge::default();
                gauge.set_value(1.0);
                let mut m = Metric::default();
                m.set_label(labels);
                m.set_gauge(gauge);
                m
            })
            .collect();
        let mut family = MetricFamily::default();
        family.set_name(NAME.to_string());
        family.set_help(HELP.to_string());
        family.set_field_type(MetricType::GAUGE);
        family.set_metric(metrics);
        vec![family]
    }
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut pair = LabelPair::default();
    pair.set_name(name.to_string());
    pair.set_value(value.to_string());
    pair
}
