//! Restoring `journeyd_deploy_last_timestamp_seconds` at start-up from the
//! deploys kept in `alerts.db`, so a restart does not blank the Grafana deploy
//! annotations (and the metric agrees with `GET /api/deploys`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::alert::outbox::{AlertDb, Deploy, MAX_DEPLOYS};
use crate::journey::Journey;
use crate::metrics::Metrics;
use crate::server::deploys::ALL_BACKENDS;

/// Sets the metric for every back-end a stored deploy named (and some journey
/// uses, as `POST /api/deploys` does), plus `*` for deploys naming none.
pub(super) async fn restore_deploy_metric(
    db: &AlertDb,
    metrics: &Metrics,
    journeys: &[Arc<Journey>],
) {
    let limit = u32::try_from(MAX_DEPLOYS).unwrap_or(u32::MAX);
    match db
        .deploys_between(DateTime::UNIX_EPOCH, Utc::now(), limit)
        .await
    {
        Ok(deploys) => {
            for (backend, at) in eval_last_deploys(&deploys, journeys) {
                metrics.deploy_recorded(&backend, at);
            }
        }
        Err(e) => tracing::warn!(error = %e,
            "Cannot read the stored deploys; the deploy metric starts empty."),
    }
}

/// The last deploy time (Unix seconds) per back-end label; `deploys` newest first.
pub(super) fn eval_last_deploys(
    deploys: &[Deploy],
    journeys: &[Arc<Journey>],
) -> BTreeMap<String, f64> {
    let known: BTreeSet<&str> = journeys
        .iter()
        .flat_map(|j| &j.steps)
        .filter_map(|s| s.backend.as_deref())
        .collect();
    let mut last = BTreeMap::new();
    for d in deploys {
        let seconds = d.at.timestamp_millis() as f64 / 1000.0;
        let labels: Vec<&str> = if d.backends.is_empty() {
            vec![ALL_BACKENDS]
        } else {
            d.backends
                .iter()
                .map(String::as_str)
                .filter(|b| known.contains(b))
                .collect()
        };
        for b in labels {
            // Newest first: the first seen is the last deploy.
            last.entry(b.to_string()).or_insert(seconds);
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::parse::parse_journey;
    use crate::journey::template::Engine;

    fn deploy(secs: i64, backends: &[&str]) -> Deploy {
        Deploy {
            id: secs,
            at: DateTime::from_timestamp(secs, 0).unwrap(),
            service: "s".into(),
            backends: backends.iter().map(|b| b.to_string()).collect(),
            journeys: Vec::new(),
            version: "v1".into(),
            description: String::new(),
        }
    }

    #[test]
    fn the_newest_deploy_per_used_backend_wins_and_unknown_backends_stay_out() {
        let src = "name: pay\nsteps:\n  - name: a\n    backend: payment\n    request: { url: \"http://h/\" }\n";
        let j = parse_journey(std::path::Path::new("pay.yaml"), src, &Engine::new()).unwrap();
        // Newest first, as the database lists them.
        let deploys = [
            deploy(300, &["payment", "ghost"]),
            deploy(200, &[]),
            deploy(100, &["payment"]),
            deploy(50, &[]),
        ];
        let last = eval_last_deploys(&deploys, &[Arc::new(j)]);
        assert_eq!(
            last,
            BTreeMap::from([("*".to_string(), 200.0), ("payment".to_string(), 300.0)])
        );
    }
}
