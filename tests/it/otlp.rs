//! OTLP/HTTP export end to end (`tracing.otlp`): the real daemon posts each run's
//! spans to a stand-in collector on loopback; the trace and attempt ids are the
//! ones the target received in `traceparent` and the run stored; a failing step
//! is an ERROR span; a collector that is down changes nothing but a counter.

use std::time::Duration;

use serde_json::Value;

use crate::util::alerting::{Capture, metric, wait_metrics};
use crate::util::daemon::{CONFIG, TestDaemon};
use crate::util::wait::wait_until;

/// The key `ships` sends in a header: it must never reach the collector.
const KEY: &str = "s3cr3t-otlp-api-key";
const SECRETS: [(&str, &str); 2] = [
    ("JOURNEYD_SECRET_ADMIN_TOKEN", "otlp-admin-token"),
    ("JOURNEYD_SECRET_OTLP_KEY", KEY),
];

/// A journey whose `login` passes and whose `ships` (back-end `fulfillment`)
/// fails on its status, both against `target`.
fn write_journey(dir: &std::path::Path, target: &Capture) {
    let journeys = dir.join("journeys");
    std::fs::create_dir_all(&journeys).unwrap();
    let text = format!(
        "name: traced\ninterval: 1h\nlabels: {{ team: checkout }}\nsteps:\n  - name: login\n    request: {{ url: \"{}\" }}\n  - name: ships\n    backend: fulfillment\n    request: {{ url: \"{}\", headers: {{ x-api-key: \"{{{{ secret.otlp_key }}}}\" }} }}\n    expect: {{ status: 204 }}\n",
        target.url("/login"),
        target.url("/ships"),
    );
    std::fs::write(journeys.join("traced.yaml"), text).unwrap();
}

fn config(endpoint: &str) -> String {
    format!("{CONFIG}tracing:\n  otlp:\n    endpoint: \"{endpoint}\"\n    timeout: 2s\n")
}

/// Every span the collector got so far, across requests.
fn spans(collector: &Capture) -> Vec<Value> {
    collector
        .attempts()
        .iter()
        .flat_map(|r| {
            let body = r.json();
            body["resourceSpans"][0]["scopeSpans"][0]["spans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn attr<'a>(span: &'a Value, key: &str) -> &'a Value {
    span["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|kv| kv["key"] == key))
        .map_or(&Value::Null, |kv| &kv["value"])
}

fn traceparent(target: &Capture, path: &str) -> (String, String) {
    let got = target.attempts();
    let r = got.iter().find(|r| r.path == path).unwrap();
    let tp = r.header("traceparent");
    let parts: Vec<&str> = tp.split('-').collect();
    assert_eq!(parts.len(), 4, "{tp}");
    (parts[1].to_string(), parts[2].to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn exported_spans_carry_the_trace_the_target_received_and_the_run_stored() {
    let target = Capture::start(0).await;
    let collector = Capture::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    write_journey(dir.path(), &target);
    let d = TestDaemon::start(dir.path(), &config(&collector.url("/v1/traces")), &SECRETS).await;
    let all = wait_until(Duration::from_secs(30), async || {
        let s = spans(&collector);
        // The first run: root, 2 steps, 2 attempts.
        if s.len() >= 5 {
            Ok(s)
        } else {
            Err(format!("{} spans", s.len()))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    let r = &collector.attempts()[0];
    assert!(r.header("content-type").starts_with("application/json"));
    assert_eq!(r.path, "/v1/traces");

    let (trace_id, login_span) = traceparent(&target, "/login");
    let (ships_trace, ships_span) = traceparent(&target, "/ships");
    assert_eq!(ships_trace, trace_id);
    let run: Vec<&Value> = all
        .iter()
        .filter(|s| s["traceId"] == trace_id.as_str())
        .collect();
    assert_eq!(run.len(), 5, "{all:#?}");

    // The stored run has the same trace id.
    let runs = d.get_json("/api/journeys/traced/runs").await.unwrap();
    let ids: Vec<String> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    let mut stored = Vec::new();
    for id in &ids {
        let full = d.get_json(&format!("/api/runs/{id}")).await.unwrap();
        stored.push(full["trace_id"].as_str().unwrap().to_string());
    }
    assert!(stored.contains(&trace_id), "{stored:?} vs {trace_id}");

    let root = run
        .iter()
        .find(|s| s.get("parentSpanId").is_none())
        .unwrap();
    assert_eq!(root["name"], "journey traced");
    assert_eq!(root["status"]["code"], 2);
    assert_eq!(attr(root, "journeyd.label.team")["stringValue"], "checkout");
    let by_name = |n: &str| *run.iter().find(|s| s["name"] == n).unwrap();
    let (login, ships) = (by_name("step login"), by_name("step ships"));
    assert_eq!(login["status"]["code"], 1);
    assert_eq!(ships["status"]["code"], 2, "{ships:#}");
    assert_eq!(attr(ships, "error.type")["stringValue"], "http_status");
    assert_eq!(
        attr(ships, "journeyd.backend")["stringValue"],
        "fulfillment"
    );
    assert_eq!(ships["parentSpanId"], root["spanId"]);
    // The attempts are the spans the target was told about: its spans join them.
    let attempt_of = |step: &Value| {
        *run.iter()
            .find(|s| s["parentSpanId"] == step["spanId"])
            .unwrap()
    };
    assert_eq!(attempt_of(login)["spanId"], login_span.as_str());
    let failed = attempt_of(ships);
    assert_eq!(failed["spanId"], ships_span.as_str());
    assert_eq!(failed["status"]["code"], 2);
    assert_eq!(attr(failed, "http.response.status_code")["intValue"], "200");
    let ships_got = target
        .attempts()
        .into_iter()
        .find(|r| r.path == "/ships")
        .unwrap();
    assert_eq!(
        ships_got.header("x-api-key"),
        KEY,
        "the secret was not sent"
    );
    for r in collector.attempts() {
        assert!(
            !String::from_utf8_lossy(&r.body).contains(KEY),
            "a span holds the secret"
        );
    }
    let text = d.metrics().await.unwrap();
    assert_eq!(
        metric(&text, "journeyd_trace_export_dropped_total", &[]),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_that_is_down_leaves_runs_alone_and_counts_failures() {
    let target = Capture::start(0).await;
    let collector = Capture::start(0).await;
    collector.set_down(true);
    let dir = tempfile::tempdir().unwrap();
    write_journey(dir.path(), &target);
    // A second collector that is not even listening: connection refused.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    for endpoint in [
        collector.url("/v1/traces"),
        format!("http://{closed}/v1/traces"),
    ] {
        let d = TestDaemon::start(dir.path(), &config(&endpoint), &SECRETS).await;
        let text = wait_metrics(&d, "an export failure", |t| {
            match metric(t, "journeyd_trace_export_failures_total", &[]) {
                Some(n) if n >= 1.0 => Ok(()),
                other => Err(format!("failures {other:?}")),
            }
        })
        .await;
        // The run was judged on the target alone, as without export.
        let failed = metric(
            &text,
            "journeyd_journey_runs_total",
            &[("journey", "traced"), ("result", "fail")],
        );
        assert!(failed.unwrap_or(0.0) >= 1.0, "{text}");
        assert_eq!(
            metric(&text, "journeyd_trace_export_spans_total", &[]),
            Some(0.0)
        );
        let logs = d.logs();
        assert!(logs.contains("Spans could not be exported"), "{logs}");
        assert!(!logs.contains("otlp-admin-token"));
    }
}
