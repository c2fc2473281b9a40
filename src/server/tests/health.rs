//! `/healthz`, `/readyz`, `/metrics`.

use axum::http::StatusCode;

use super::Harness;
use crate::server::health::{MAX_TICK_AGE_SECONDS, eval_liveness};

#[tokio::test]
async fn healthz_is_503_before_the_first_tick_and_200_after() {
    let h = Harness::start(None).await;
    let body = h.get_json("/healthz", 503).await;
    assert_eq!(body["status"], "unhealthy", "{body}");
    assert!(
        body["reason"]
            .as_str()
            .unwrap_or("")
            .contains("not started"),
        "{body}"
    );

    h.state.health.tick();
    let body = h.get_json("/healthz", 200).await;
    assert_eq!(body["status"], "ok", "{body}");
    let age = body["scheduler_tick_age_seconds"].as_f64().expect("age");
    assert!((0.0..MAX_TICK_AGE_SECONDS).contains(&age), "{body}");
    h.stop().await;
}

#[test]
fn liveness_reports_a_stuck_scheduler() {
    let (status, body) = eval_liveness(Some(MAX_TICK_AGE_SECONDS + 15.0));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["reason"].as_str().unwrap_or("").contains("stuck"),
        "{body}"
    );
    assert_eq!(
        body["scheduler_tick_age_seconds"],
        MAX_TICK_AGE_SECONDS + 15.0
    );

    let (status, _) = eval_liveness(Some(MAX_TICK_AGE_SECONDS - 0.1));
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn readyz_follows_the_ready_flag() {
    let h = Harness::start(None).await;
    let body = h.get_json("/readyz", 503).await;
    assert_eq!(body["status"], "not_ready", "{body}");
    h.state.health.set_ready(true);
    let body = h.get_json("/readyz", 200).await;
    assert_eq!(body["status"], "ready", "{body}");
    h.state.health.set_ready(false);
    h.get_json("/readyz", 503).await;
    h.stop().await;
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_the_registry_content() {
    let h = Harness::start(None).await;
    let resp = h.get("/metrics").await;
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
    assert!(ct.starts_with(crate::metrics::CONTENT_TYPE.trim_end_matches("; charset=utf-8")));
    let body = resp.text().await.expect("body");
    assert!(body.contains("journeyd_build_info"), "{body}");
    assert!(body.contains(r#"journey="checkout""#), "{body}");
    h.stop().await;
}
