//! Deploys: token, validation (JSON errors), the runs a deploy starts over the
//! control channel, the listing, and the metric.

use serde_json::{Value, json};
use tokio::sync::mpsc::error::TryRecvError;

use super::Harness;
use crate::status::control::{Control, RunNowError};

const TOKEN: &str = "tok-deploys-9b1e";

impl Harness {
    /// POSTs `body` to `/api/deploys` with the token, in a task, so the test can
    /// answer the daemon's side.
    fn post_deploy(&self, body: Value) -> tokio::task::JoinHandle<(u16, Value)> {
        let req = self
            .http
            .post(format!("{}/api/deploys", self.base))
            .bearer_auth(TOKEN)
            .json(&body);
        tokio::spawn(async move {
            let resp = req.send().await.expect("POST");
            let status = resp.status().as_u16();
            (status, resp.json().await.expect("json"))
        })
    }

    /// Answers the next run-now request with `answer`; returns the journey asked for.
    async fn answer_run(&mut self, answer: Result<(), RunNowError>) -> String {
        match self.control.recv().await {
            Some(Control::RunNow { journey, reply }) => {
                let _ = reply.send(answer);
                journey
            }
            other => panic!("expected RunNow, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn deploys_need_the_admin_token() {
    let mut h = Harness::start_with(Some(TOKEN), true).await;
    let url = format!("{}/api/deploys", h.base);
    let body = json!({"service": "shop", "version": "v1"});
    for auth in [None, Some("Bearer wrong")] {
        let mut req = h.http.post(&url).json(&body);
        if let Some(a) = auth {
            req = req.header(reqwest::header::AUTHORIZATION, a);
        }
        let resp = req.send().await.expect("POST");
        assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
        assert_eq!(super::content_type(&resp), "application/json");
    }
    let listed = h.get_json("/api/deploys", 200).await;
    assert_eq!(listed, json!([]), "a refused deploy was recorded");
    assert!(matches!(h.control.try_recv(), Err(TryRecvError::Empty)));
    h.stop().await;

    let h = Harness::start_with(None, true).await;
    let resp = h
        .http
        .post(url_of(&h))
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status().as_u16(), 403);
    h.stop().await;
}

fn url_of(h: &Harness) -> String {
    format!("{}/api/deploys", h.base)
}

#[tokio::test]
async fn invalid_deploys_are_json_errors_naming_each_field() {
    let h = Harness::start_with(Some(TOKEN), true).await;
    let (status, body) = h
        .post_deploy(json!({"service": "shop", "version": "", "backends": ["a b", "ok"]}))
        .await
        .expect("task");
    assert_eq!(status, 400, "{body}");
    let e = body["error"].as_str().expect("error");
    assert!(e.contains("version: must not be empty"), "{e}");
    assert!(e.contains("backends[0]: ' ' is not allowed"), "{e}");
    assert!(!e.contains("backends[1]"), "{e}");

    let long = "x".repeat(101);
    let (status, body) = h
        .post_deploy(json!({"service": long, "version": "v1", "description": "a\u{7}b"}))
        .await
        .expect("task");
    assert_eq!(status, 400, "{body}");
    let e = body["error"].as_str().expect("error");
    assert!(e.contains("service: at most 100 characters"), "{e}");
    assert!(e.contains("description: no control characters"), "{e}");

    let (status, body) = h
        .post_deploy(json!({"service": "shop", "version": "v1", "colour": "red"}))
        .await
        .expect("task");
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("colour")),
        "{body}"
    );

    let big = json!({"service": "shop", "version": "v1", "description": "x".repeat(20_000)});
    let (status, body) = h.post_deploy(big).await.expect("task");
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].is_string(), "{body}");

    let resp = h
        .http
        .post(url_of(&h))
        .bearer_auth(TOKEN)
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status().as_u16(), 415);
    assert_eq!(super::content_type(&resp), "application/json");
    assert_eq!(h.get_json("/api/deploys", 200).await, json!([]));
    h.stop().await;
}

#[tokio::test]
async fn a_deploy_runs_only_the_journeys_of_its_backends() {
    let mut h = Harness::start_with(Some(TOKEN), true).await;
    let req = h.post_deploy(json!({
        "service": "shop", "backends": ["fulfillment", "ghost"], "version": "v1.4.2"
    }));
    assert_eq!(h.answer_run(Ok(())).await, "checkout");
    let (status, body) = req.await.expect("task");
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["started"], json!(["checkout"]));
    assert_eq!(body["skipped"], json!([]));
    assert_eq!(body["deploy"]["journeys"], json!(["checkout"]));
    assert_eq!(body["deploy"]["backends"], json!(["fulfillment", "ghost"]));
    assert!(matches!(h.control.try_recv(), Err(TryRecvError::Empty)));

    // No back-ends: every journey; one already running is skipped, not queued.
    let req = h.post_deploy(json!({"service": "shop", "version": "v1.4.3"}));
    let mut asked = vec![
        h.answer_run(Ok(())).await,
        h.answer_run(Err(RunNowError::AlreadyRunning("checkout".into())))
            .await,
    ];
    asked.sort();
    assert_eq!(asked, ["browse", "checkout"]);
    let (status, body) = req.await.expect("task");
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["started"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(
        body["skipped"][0]["reason"]
            .as_str()
            .map(|r| r.contains("already running")),
        Some(true),
        "{body}"
    );

    // `run: false` only records.
    let (status, body) = h
        .post_deploy(json!({"service": "shop", "version": "v1.4.4", "run": false}))
        .await
        .expect("task");
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["started"], json!([]));
    assert!(matches!(h.control.try_recv(), Err(TryRecvError::Empty)));

    let metrics = h.state.metrics.render();
    assert!(
        metrics.contains("journeyd_deploy_last_timestamp_seconds{backend=\"fulfillment\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("journeyd_deploy_last_timestamp_seconds{backend=\"*\"}"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("ghost"),
        "an unused back-end became a label"
    );
    h.stop().await;
}

#[tokio::test]
async fn deploys_are_listed_newest_first_with_a_bounded_limit() {
    let h = Harness::start_with(Some(TOKEN), true).await;
    for v in ["v1", "v2", "v3"] {
        let (status, body) = h
            .post_deploy(
                json!({"service": "shop", "version": v, "backends": ["search"], "run": false}),
            )
            .await
            .expect("task");
        assert_eq!(status, 201, "{body}");
    }
    let all = h.get_json("/api/deploys", 200).await;
    let versions: Vec<&str> = all
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["version"].as_str())
        .collect();
    assert_eq!(versions, ["v3", "v2", "v1"]);
    assert_eq!(all[0]["service"], "shop");
    assert_eq!(all[0]["journeys"], json!([]), "no journey uses search");
    let one = h.get_json("/api/deploys?limit=1", 200).await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    for bad in ["0", "1001", "x"] {
        let body = h.get_json(&format!("/api/deploys?limit={bad}"), 400).await;
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains("limit")),
            "{bad}"
        );
    }
    h.stop().await;
}

#[tokio::test]
async fn deploys_are_503_without_the_alert_database() {
    let h = Harness::start_with(Some(TOKEN), false).await;
    let body = h.get_json("/api/deploys", 503).await;
    assert_eq!(body["error"], "alerting is not running");
    let (status, _) = h
        .post_deploy(json!({"service": "shop", "version": "v1"}))
        .await
        .expect("task");
    assert_eq!(status, 503);
    h.stop().await;
}
