//! journeyd's own alerting end to end: the real binary watches the in-process
//! demo company (purchase only, test-sized timings), faults are injected
//! through the demo's admin API, and what reaches the receivers (a real
//! Alertmanager, capture servers playing webhook, PagerDuty and Slack) is
//! asserted together with `/metrics` and the daemon's logs.
//! Shared helpers here, one file per area.

mod alertmanager;
mod backend;
mod delivery;
mod holds;
mod payloads;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::util::alerting::{
    Alertmanager, Capture, Received, SOON, alerting_config, metric, notifications, runs,
    wait_alert_state, wait_metrics,
};
use crate::util::daemon::{TestDaemon, daemon_env, require_tool, write_journeys};
use crate::util::demo::Demo;
use crate::util::wait::wait_until;

pub(super) const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
pub(super) const DEMO_PASSWORD: &str = "demo-password";
pub(super) const ADMIN_TOKEN: &str = "alerting-admin-token-7c2e";
pub(super) const PURCHASE: &str = "purchase";

/// A daemon watching only `purchase` (every 2 s) with `config`, and its directory.
pub(super) async fn start_daemon(
    demo: &Demo,
    config: &str,
    extra_env: &[(&str, &str)],
) -> (TestDaemon, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &[PURCHASE], "2s");
    let d = TestDaemon::start(dir.path(), config, &env(demo, extra_env)).await;
    (d, dir)
}

pub(super) fn env(demo: &Demo, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = daemon_env(demo, DEMO_PASSWORD, ADMIN_TOKEN);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// A plain webhook receiver named `hook` posting to `capture`.
pub(super) fn hook_receiver(capture: &Capture) -> String {
    format!(
        "{{name: hook, type: webhook, url: \"{}\"}}",
        capture.url("/hook")
    )
}

/// `(status, journey)` of each webhook notification.
pub(super) fn statuses(got: &[Received]) -> Vec<(String, String)> {
    got.iter().map(Received::webhook_status).collect()
}

pub(super) fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {v}"))
        .to_utc()
}

/// Waits for a passing purchase run: the journey is healthy before a fault.
pub(super) async fn wait_passing(d: &TestDaemon) {
    wait_metrics(d, "a passing purchase run", |m| {
        match runs(m, PURCHASE, "pass") {
            n if n >= 1.0 => Ok(()),
            n => Err(format!("passes = {n}")),
        }
    })
    .await;
}

/// The purchase `JourneyFailing` alert in a list of Alertmanager alerts.
pub(super) fn purchase_alert(alerts: &[Value]) -> Option<&Value> {
    alerts.iter().find(|a| {
        a["labels"]["alertname"] == "JourneyFailing" && a["labels"]["journey"] == PURCHASE
    })
}

/// Waits until Alertmanager lists the purchase alert as active; returns it.
pub(super) async fn wait_active_alert(am: &Alertmanager, d: &TestDaemon) -> Value {
    wait_until(SOON, async || {
        let alerts = am.alerts().await?;
        match purchase_alert(&alerts) {
            Some(a) if a["status"]["state"] == "active" => Ok(a.clone()),
            _ => Err(format!("{alerts:?}")),
        }
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "Alertmanager never got the purchase alert: {e}\n--- daemon logs ---\n{}\n--- alertmanager ---\n{}",
            d.logs(),
            am.output()
        )
    })
}

/// The alert says what broke, where, and links to a run page that answers.
pub(super) async fn assert_says_what_broke(alert: &Value, d: &TestDaemon) {
    let labels: BTreeMap<String, String> = serde_json::from_value(alert["labels"].clone()).unwrap();
    let want: BTreeMap<String, String> = [
        ("alertname", "JourneyFailing"),
        ("journey", PURCHASE),
        ("step", "order ships"),
        ("backend", "fulfillment"),
        ("class", "backend_timeout"),
        ("severity", "critical"),
        ("location", "test"),
        ("team", "checkout"),
        ("channel", "web"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(labels, want, "{alert:#}");
    let notes = &alert["annotations"];
    let summary = notes["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("fulfillment") && summary.starts_with("purchase: "),
        "{alert:#}"
    );
    for key in ["expected", "actual"] {
        assert!(
            notes[key].as_str().is_some_and(|s| !s.is_empty()),
            "no {key}: {alert:#}"
        );
    }
    assert_eq!(
        notes["runbook_url"], "https://runbooks.example.com/journeys/purchase",
        "{alert:#}"
    );
    let run_url = notes["run_url"].as_str().unwrap_or("");
    assert_eq!(alert["generatorURL"], run_url, "{alert:#}");
    let run_path = run_url
        .strip_prefix(&d.base())
        .unwrap_or_else(|| panic!("run_url {run_url:?} is not on {}", d.base()));
    let id = run_path
        .strip_prefix("/runs/")
        .unwrap_or_else(|| panic!("run_url {run_url:?}"));
    uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("run_url {run_url:?}: {e}"));
    // The run is stored just after the alert is queued: wait for the page.
    wait_until(SOON, async || match d.get(run_path).await? {
        (200, _) => Ok(()),
        (status, body) => Err(format!("{status}: {body}")),
    })
    .await
    .unwrap_or_else(|e| panic!("GET {run_url}: {e}"));
}

/// Alertmanager forgets a firing alert at its endsAt (4 resend intervals
/// ahead): re-sends must keep it listed, with the same start, past the first one.
pub(super) async fn wait_kept_alive_by_resends(am: &Alertmanager, alert: &Value, d: &TestDaemon) {
    let first_ends_at = time(&alert["endsAt"]);
    wait_until(SOON, async || {
        let alerts = am.alerts().await?;
        let Some(a) = purchase_alert(&alerts) else {
            return Ok(Err(format!("dropped while still failing: {alerts:?}")));
        };
        if a["startsAt"] != alert["startsAt"] {
            return Ok(Err(format!("a new alert instead of a re-send: {a}")));
        }
        if Utc::now() > first_ends_at && time(&a["endsAt"]) > first_ends_at {
            Ok(Ok(()))
        } else {
            Err(format!("first endsAt {first_ends_at} not passed yet: {a}"))
        }
    })
    .await
    .and_then(|r| r)
    .unwrap_or_else(|e| panic!("re-sends did not keep the alert: {e}\n{}", d.logs()));
}

/// Waits until Alertmanager no longer lists the alert, and checks a resolve did
/// it: the resolve (endsAt = when it resolved) removes it at once, while without
/// one it would linger until the endsAt of the last re-send.
pub(super) async fn wait_resolved(am: &Alertmanager, alert: &Value, d: &TestDaemon) {
    let mut last_ends_at = time(&alert["endsAt"]);
    let gone_at = wait_until(SOON, async || {
        let alerts = am.alerts().await?;
        match purchase_alert(&alerts) {
            Some(a) => {
                last_ends_at = time(&a["endsAt"]);
                Err(format!("still listed: {a}"))
            }
            None => Ok(Utc::now()),
        }
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "the alert never resolved: {e}\n--- daemon logs ---\n{}",
            d.logs()
        )
    });
    assert!(
        gone_at < last_ends_at,
        "the alert only expired (at its endsAt {last_ends_at}); journeyd sent no resolve\n{}",
        d.logs()
    );
}
