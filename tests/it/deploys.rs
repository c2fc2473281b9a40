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

/// The last run of `journey` (API JSON, with `deploy` when one applies) and its page.
async fn last_run(d: &TestDaemon, journey: &str) -> (Value, String) {
    let j = wait_run_done(d, journey).await;
    let id = j["last_run"]["run_id"].as_str().unwrap().to_string();
    let run = d.get_json(&format!("/api/runs/{id}")).await.unwrap();
    let (status, page) = d.get(&format!("/runs/{id}")).await.unwrap();
    assert_eq!(status, 200, "{page}");
    (run, page)
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_after_a_deploy_name_it_and_the_metric_survives_a_restart() {
    let target = Capture::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    write_journey(dir.path(), "pay", "payment", &target.url("/pay"));
    write_journey(dir.path(), "browse", "catalog", &target.url("/browse"));
    let logs = "{name: logs, type: log}".to_string();
    let config = alerting_config(&["confirm: 0"], &[logs]).replace("first_run_within: 1s\n", "");
    let env = [("JOURNEYD_SECRET_ADMIN_TOKEN", TOKEN)];
    let mut d = TestDaemon::start(dir.path(), &config, &env).await;
    post_deploy(
        &d,
        json!({"service": "checkout", "backends": ["payment"], "version": "v2.0.0", "description": "new PSP"}),
    )
    .await;
    let (run, page) = last_run(&d, "pay").await;
    assert_eq!(run["deploy"]["version"], "v2.0.0", "{run:#}");
    let summary = run["deploy"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("started ")
            && summary.ends_with(" after deploy payment v2.0.0 (service checkout)"),
        "{summary}"
    );
    assert!(page.contains("after deploy payment v2.0.0"), "{page}");
    assert!(page.contains("new PSP"), "{page}");

    // A journey the deploy did not touch names no deploy.
    let resp = http()
        .post(format!("{}/api/journeys/browse/run", d.base()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{resp:?}");
    let (run, page) = last_run(&d, "browse").await;
    assert!(run.get("deploy").is_none(), "{run:#}");
    assert!(!page.contains("after deploy"), "{page}");

    let sample = |m: &str| {
        metric(
            m,
            "journeyd_deploy_last_timestamp_seconds",
            &[("backend", "payment")],
        )
    };
    let before = sample(&d.metrics().await.unwrap());
    assert!(before.is_some_and(|t| t > 1.7e9), "{before:?}");
    d.signal("TERM");
    let status = d.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{}", d.logs());
    drop(d);
    let d = TestDaemon::start(dir.path(), &config, &env).await;
    let m = d.metrics().await.unwrap();
    assert_eq!(sample(&m), before, "{m}");
    assert_eq!(
        metric(
            &m,
            "journeyd_deploy_last_timestamp_seconds",
            &[("backend", "catalog")]
        ),
        None
    );
}
