//! Deploys end to end (`POST /api/deploys`): the real daemon runs the journeys
//! of the deployed back-ends at once and no other, names the deploy in the
//! alert a failing journey raises, and keeps its deploys across a restart.
//!
//! The target and the webhook receiver are capture servers on `127.0.0.1:0`;
//! both journeys run daily, at phases hours away (`pay` 256 min, `browse`
//! 407 min after start), so every run the test sees is one a deploy started.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::alerting::{Capture, SOON, alerting_config, http, metric};
use crate::util::daemon::TestDaemon;
use crate::util::wait::wait_until;

const TOKEN: &str = "deploy-admin-token-51f0";
/// "Within a second", plus slack for a debug build on shared cores.
const RUN_WITHIN: Duration = Duration::from_secs(3);

fn write_journey(dir: &Path, name: &str, backend: &str, url: &str) {
    let yaml = format!(
        "name: {name}\ninterval: 1d\nsteps:\n  - name: call\n    backend: {backend}\n    \
         request: {{ url: \"{url}\" }}\n    expect: {{ status: 200 }}\n"
    );
    std::fs::create_dir_all(dir.join("journeys")).unwrap();
    std::fs::write(dir.join(format!("journeys/{name}.yaml")), yaml).unwrap();
}

fn hits(target: &Capture, path: &str) -> usize {
    target.attempts().iter().filter(|r| r.path == path).count()
}

async fn post_deploy(d: &TestDaemon, body: Value) -> Value {
    let resp = http()
        .post(format!("{}/api/deploys", d.base()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Waits until `journey` has a finished run and is not running.
async fn wait_run_done(d: &TestDaemon, journey: &str) -> Value {
    wait_until(SOON, async || {
        let j = d.journey(journey).await?;
        if j["last_run"].is_object() && j["running"] == false {
            Ok(j)
        } else {
            Err(format!("{j}"))
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_runs_its_journeys_at_once_and_names_itself_in_the_alert() {
    let target = Capture::start(0).await;
    let mut hook = Capture::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    write_journey(dir.path(), "pay", "payment", &target.url("/pay"));
    write_journey(dir.path(), "browse", "catalog", &target.url("/browse"));
    let receiver = format!(
        "{{name: hook, type: webhook, url: \"{}\"}}",
        hook.url("/hook")
    );
    let config = alerting_config(
        &["confirm: 0", "failure_threshold: 1", "flaky: { runs: 0 }"],
        &[receiver],
    )
    .replace("first_run_within: 1s\n", "");
    let env = [("JOURNEYD_SECRET_ADMIN_TOKEN", TOKEN)];
    let mut d = TestDaemon::start(dir.path(), &config, &env).await;

    // A deploy of `payment` runs `pay`, within a second, and not `browse`.
    let posted = Instant::now();
    let answer = post_deploy(
        &d,
        json!({"service": "checkout", "backends": ["payment"], "version": "v1.4.2"}),
    )
    .await;
    assert_eq!(answer["started"], json!(["pay"]), "{answer}");
    assert_eq!(answer["skipped"], json!([]), "{answer}");
    assert_eq!(answer["deploy"]["journeys"], json!(["pay"]), "{answer}");
    wait_until(RUN_WITHIN, async || match hits(&target, "/pay") {
        0 => Err("no request at /pay yet".into()),
        _ => Ok(()),
    })
    .await
    .unwrap();
    let took = posted.elapsed();
    wait_run_done(&d, "pay").await;
    assert_eq!(
        hits(&target, "/browse"),
        0,
        "a deploy of payment ran browse"
    );
    assert!(d.journey("browse").await.unwrap()["last_run"].is_null());
    let m = d.metrics().await.unwrap();
    let last = metric(
        &m,
        "journeyd_deploy_last_timestamp_seconds",
        &[("backend", "payment")],
    );
    assert!(last.is_some_and(|t| t > 1.7e9), "{m}");
    eprintln!("deploy to first request at the target: {took:?}");

    // The target breaks; the next deploy's run fails and the page names it.
    target.set_down(true);
    let second = post_deploy(
        &d,
        json!({"service": "checkout", "backends": ["payment"], "version": "v1.4.3", "description": "retry on 502"}),
    )
    .await;
    assert_eq!(second["started"], json!(["pay"]), "{second}");
    let alert = loop {
        let got = hook.next(SOON).await.unwrap().json();
        let alert = got["alerts"][0].clone();
        if alert["labels"]["alertname"] == "JourneyFailing" {
            break alert;
        }
    };
    assert_eq!(alert["labels"]["journey"], "pay", "{alert}");
    let note = alert["annotations"]["deploy"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("started failing ")
            && note.ends_with(" after deploy payment v1.4.3 (service checkout)"),
        "{alert}"
    );

    // Listing: newest first; a restart keeps both.
    let listed = d.get_json("/api/deploys").await.unwrap();
    let versions = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["version"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(versions(&listed), ["v1.4.3", "v1.4.2"], "{listed}");
    d.signal("TERM");
    let status = d.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{}", d.logs());
    drop(d);
    let d = TestDaemon::start(dir.path(), &config, &env).await;
    let after = d.get_json("/api/deploys").await.unwrap();
    assert_eq!(after, listed, "deploys changed across a restart");
}
