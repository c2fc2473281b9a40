//! `journeyd run` end to end: the real binary watching the in-process demo
//! company through the shipped journeys (test-sized timings), observed only
//! through its HTTP API, `/metrics`, its logs and its SQLite file. Shared
//! helpers here, one file per area.

mod cleanup;
mod lifecycle;
mod obligation;
mod reload;
mod restart;
mod secrets;
mod threads;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use journeyd::demo::DemoConfig;
use serde_json::Value;

use crate::util::daemon::{
    CONFIG, TestDaemon, daemon_env, quiet_config, sample_value, write_journeys,
};
use crate::util::demo::Demo;
use crate::util::wait::wait_until;

pub(super) const ALL: [&str; 3] = ["app-request", "contract", "purchase"];
pub(super) const DEMO_PASSWORD: &str = "demo-password";
pub(super) const ADMIN_TOKEN: &str = "test-admin-token-4b1d";
/// Generous upper bounds: runs every 2 s, `within: 3s`, a debug build on 2 shared cores.
pub(super) const SOON: Duration = Duration::from_secs(60);

pub(super) fn state_of(j: &Value) -> String {
    format!(
        "{}: state={} running={} failing_step={} backend={} class={}",
        j["name"],
        j["state"],
        j["running"],
        j["failing_step"],
        j["failing_backend"],
        j["failure_class"]
    )
}

/// Waits until every journey in `names` has `state`; returns the journeys.
pub(super) async fn wait_states(d: &TestDaemon, names: &[&str], state: &str) -> Vec<Value> {
    wait_until(SOON, async || {
        let all = d.get_json("/api/journeys").await?;
        let list = all.as_array().ok_or("not a list")?;
        let wanted: Vec<Value> = list
            .iter()
            .filter(|j| names.iter().any(|n| j["name"] == *n))
            .cloned()
            .collect();
        if wanted.len() == names.len() && wanted.iter().all(|j| j["state"] == state) {
            Ok(wanted)
        } else {
            Err(list.iter().map(state_of).collect::<Vec<_>>().join("; "))
        }
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "waiting for {names:?} to be {state}: {e}\n--- logs ---\n{}",
            d.logs()
        )
    })
}

/// Finished runs of a journey: the sum of `journeyd_journey_runs_total` over results.
pub(super) fn runs_total(metrics: &str, journey: &str) -> f64 {
    ["pass", "fail"]
        .iter()
        .filter_map(|r| {
            sample_value(
                metrics,
                "journeyd_journey_runs_total",
                &[("journey", journey), ("location", "test"), ("result", r)],
            )
        })
        .sum()
}

/// Run ids stored for a journey, newest first.
pub(super) async fn stored_runs(d: &TestDaemon, journey: &str) -> Result<Vec<Value>, String> {
    let runs = d
        .get_json(&format!("/api/journeys/{journey}/runs?limit=500"))
        .await?;
    runs.as_array()
        .cloned()
        .ok_or_else(|| format!("not a list: {runs}"))
}

/// Waits for a run of `journey` that starts after this call: running goes false, then true.
pub(super) async fn wait_for_a_fresh_run(d: &TestDaemon, journey: &str) {
    for want in [false, true] {
        wait_until(SOON, async || {
            let j = d.journey(journey).await?;
            if j["running"] == want {
                Ok(())
            } else {
                Err(state_of(&j))
            }
        })
        .await
        .unwrap_or_else(|e| panic!("waiting for {journey} running={want}: {e}"));
    }
}

/// The lifecycle and run lines of a daemon's log, for failure messages.
pub(super) fn key_lines(logs: &str) -> String {
    logs.lines()
        .filter(|l| {
            [
                "journeyd st",
                "Shutting",
                "Journey",
                "Run ",
                "Runs ",
                "Re-running",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn started_at(run: &Value) -> DateTime<Utc> {
    run["started_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no started_at in {run}"))
}
