//! W3C trace context end to end: the `traceparent` a target receives carries the
//! trace id journeyd reports (`once --format json`, the alert), only the journey's
//! own hosts get it, and a journey can turn it off.

use std::path::Path;
use std::process::Command;

use journeyd::journey::parse::parse_journey;
use journeyd::journey::template::Engine;
use journeyd::runner::{RunOptions, run_journey};
use regex::Regex;
use serde_json::Value;

use crate::util::alerting::{Capture, Received, SOON, alerting_config};
use crate::util::daemon::{TestDaemon, daemon_env, write_journeys};
use crate::util::demo::{Demo, demo_secrets, root};

fn traceparent_re() -> Regex {
    Regex::new("^00-([0-9a-f]{32})-([0-9a-f]{16})-01$").unwrap()
}

/// `(trace id, span id)` of a valid, non-zero traceparent (panics otherwise).
fn parse(tp: &str) -> (String, String) {
    let caps = traceparent_re()
        .captures(tp)
        .unwrap_or_else(|| panic!("invalid traceparent {tp:?}"));
    let (t, s) = (caps[1].to_string(), caps[2].to_string());
    assert!(
        t.chars().any(|c| c != '0') && s.chars().any(|c| c != '0'),
        "{tp}"
    );
    (t, s)
}

async fn demo_traces(demo: &Demo) -> Vec<Value> {
    let body: Value = reqwest::get(format!("{}/admin/traces", demo.base()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["requests"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn once_json_trace_ids_are_the_ones_the_demo_received() {
    let demo = Demo::start().await;
    let mut c = Command::new(env!("CARGO_BIN_EXE_journeyd"));
    c.current_dir(root())
        .args(["once", "purchase", "--format", "json", "--var"])
        .arg(format!("base={}", demo.base()))
        .arg("--secrets-dir")
        .arg(demo_secrets())
        .env_remove("RUST_LOG");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    let trace_id = run["trace_id"].as_str().unwrap().to_string();
    let steps: Vec<&Value> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .chain(run["cleanup"].as_array().unwrap())
        .collect();
    let mut spans = Vec::new();
    for s in &steps {
        assert_eq!(s["trace_id"], trace_id.as_str(), "{s:#}");
        spans.push(s["span_id"].as_str().unwrap().to_string());
    }
    let received = demo_traces(&demo).await;
    assert!(received.len() >= steps.len(), "{received:#?}");
    for r in &received {
        let (t, _) = parse(r["traceparent"].as_str().unwrap());
        assert_eq!(t, trace_id, "{r:#}");
        assert_eq!(r["tracestate"], "journeyd=synthetic", "{r:#}");
    }
    // The last request of each step carried the span id reported for it.
    let received_spans: Vec<String> = received
        .iter()
        .map(|r| parse(r["traceparent"].as_str().unwrap()).1)
        .collect();
    for span in &spans {
        assert!(
            received_spans.contains(span),
            "{span} not in {received_spans:?}"
        );
    }
}

/// Runs a journey whose first step goes to `127.0.0.1` and second to `localhost`
/// (a third party unless listed), both answered by `capture`; returns what each
/// path received as `traceparent`.
async fn run_two_hosts(capture: &Capture, trace: &str) -> Vec<(String, Option<String>)> {
    let port = capture.addr.port();
    let src = format!(
        "name: hosts\n{trace}steps:\n  - name: own\n    request: {{ url: \"http://127.0.0.1:{port}/own\" }}\n  - name: third\n    request: {{ url: \"http://localhost:{port}/third\" }}\n"
    );
    let engine = Engine::new();
    let j = parse_journey(Path::new("hosts.yaml"), &src, &engine).unwrap();
    let before = capture.attempts().len();
    let run = run_journey(&j, &engine, &RunOptions::default(), &mut |_| {}).await;
    assert_eq!(run.failed_step(), None, "{run:#?}");
    capture.attempts()[before..]
        .iter()
        .map(|r: &Received| {
            let tp = r
                .headers
                .get("traceparent")
                .map(|v| v.to_str().unwrap().to_string());
            (r.path.clone(), tp)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_journeys_own_host_gets_traceparent_unless_listed_or_disabled() {
    let capture = Capture::start(0).await;
    let got = run_two_hosts(&capture, "").await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "/own");
    parse(got[0].1.as_deref().unwrap());
    assert_eq!(got[1], ("/third".to_string(), None), "third party got it");

    let got = run_two_hosts(&capture, "trace: false\n").await;
    assert!(got.iter().all(|(_, tp)| tp.is_none()), "{got:?}");

    let got = run_two_hosts(&capture, "trace: { hosts: [localhost] }\n").await;
    assert_eq!(got[0], ("/own".to_string(), None), "{got:?}");
    parse(got[1].1.as_deref().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_alert_carries_the_trace_id_the_demo_received_and_a_trace_link() {
    let mut capture = Capture::start(0).await;
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &["purchase"], "2s");
    let hook = format!(
        "{{name: hook, type: webhook, url: \"{}\"}}",
        capture.url("/hook")
    );
    let config = format!(
        "{}  trace_url: \"https://grafana.example.com/explore?traceId={{trace_id}}\"\n",
        alerting_config(&[], &[hook])
    );
    let env = daemon_env(&demo, "demo-password", "trace-admin-token");
    let d = TestDaemon::start(dir.path(), &config, &env).await;
    demo.inject("fulfillment", "stuck").await;
    let firing = loop {
        let r = capture
            .next(SOON)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
        if r.webhook_status().0 == "firing" {
            break r.json();
        }
    };
    let notes = &firing["alerts"][0]["annotations"];
    let trace_id = notes["trace_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{firing:#}"));
    assert_eq!(
        notes["trace_url"],
        format!("https://grafana.example.com/explore?traceId={trace_id}"),
        "{firing:#}"
    );
    let seen = demo_traces(&demo).await;
    let shipment: Vec<&Value> = seen
        .iter()
        .filter(|r| parse(r["traceparent"].as_str().unwrap()).0 == trace_id)
        .collect();
    assert!(
        shipment
            .iter()
            .any(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/shipment"))),
        "the demo never saw trace {trace_id} at the failing step: {seen:#?}"
    );
}
