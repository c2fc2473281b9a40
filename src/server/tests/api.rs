//! The read-only JSON API and unknown routes.

use std::collections::BTreeSet;

use super::{FAILURE_MESSAGE, Harness, content_type, failing_checkout, passing_run};
use crate::runner::{JourneyRun, RunSummary};

#[tokio::test]
async fn journeys_list_has_the_documented_shape() {
    let h = Harness::start(None).await;
    let run = failing_checkout();
    h.record(&run).await;

    let body = h.get_json("/api/journeys", 200).await;
    let list = body.as_array().expect("array");
    let names: Vec<&str> = list.iter().filter_map(|j| j["name"].as_str()).collect();
    assert_eq!(names, ["browse", "checkout"]);

    let checkout = &list[1];
    let keys: BTreeSet<&str> = checkout
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let want: BTreeSet<&str> = [
        "name",
        "state",
        "labels",
        "description",
        "runbook",
        "interval_seconds",
        "steps",
        "backends",
        "last_run",
        "last_run_stored",
        "last_success",
        "next_run",
        "running",
        "failing_step",
        "failing_backend",
        "failure_class",
    ]
    .into();
    assert_eq!(keys, want);
    assert_eq!(checkout["state"], "failing");
    assert_eq!(checkout["failing_step"], "order ships");
    assert_eq!(checkout["failing_backend"], "fulfillment");
    assert_eq!(checkout["failure_class"], "backend_timeout");
    assert_eq!(checkout["interval_seconds"], 30.0);
    assert_eq!(checkout["labels"]["team"], "shop");
    assert_eq!(
        checkout["steps"],
        serde_json::json!(["open cart", "order ships"])
    );
    assert_eq!(checkout["backends"], serde_json::json!(["fulfillment"]));
    assert_eq!(checkout["running"], false);
    assert!(checkout["last_success"].is_null());
    assert_eq!(checkout["last_run"]["run_id"], run.run_id.to_string());
    assert_eq!(checkout["last_run_stored"], true);
    assert_eq!(checkout["last_run"]["failure_message"], FAILURE_MESSAGE);

    let browse = &list[0];
    assert_eq!(browse["state"], "unknown");
    assert!(browse["last_run"].is_null() && browse["failing_step"].is_null());
    h.stop().await;
}

#[tokio::test]
async fn a_passing_journey_shows_no_failure() {
    let h = Harness::start(None).await;
    h.record(&failing_checkout()).await;
    let pass = passing_run("checkout", "open cart");
    h.record(&pass).await;
    let body = h.get_json("/api/journeys/checkout", 200).await;
    assert_eq!(body["state"], "passing", "{body}");
    assert!(
        body["failing_step"].is_null() && body["failure_class"].is_null(),
        "{body}"
    );
    let last_success: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(body["last_success"].clone()).expect("last_success");
    assert_eq!(last_success, pass.started_at);

    let body = h.get_json("/api/journeys/nope", 404).await;
    assert!(
        body["error"].as_str().unwrap_or("").contains("nope"),
        "{body}"
    );
    h.stop().await;
}

#[tokio::test]
async fn runs_listing_and_run_round_trip() {
    let h = Harness::start(None).await;
    let failed = failing_checkout();
    let mut old = passing_run("checkout", "open cart");
    old.started_at = failed.started_at - chrono::Duration::seconds(60);
    h.record(&old).await;
    h.record(&failed).await;
    h.record(&passing_run("browse", "home")).await;

    let body = h.get_json("/api/journeys/checkout/runs", 200).await;
    let runs: Vec<RunSummary> = serde_json::from_value(body).expect("summaries");
    let ids: Vec<_> = runs.iter().map(|r| r.run_id).collect();
    assert_eq!(
        ids,
        [failed.run_id, old.run_id],
        "newest first, only this journey"
    );
    assert_eq!(runs[0], failed.summary());

    let body = h.get_json("/api/journeys/checkout/runs?limit=1", 200).await;
    assert_eq!(body.as_array().map(Vec::len), Some(1));

    let body = h
        .get_json(&format!("/api/runs/{}", failed.run_id), 200)
        .await;
    let got: JourneyRun = serde_json::from_value(body).expect("run");
    assert_eq!(got, failed);
    h.stop().await;
}

#[tokio::test]
async fn runs_listing_checks_limit_and_journey() {
    let h = Harness::start(None).await;
    for bad in ["0", "abc", "-1"] {
        let body = h
            .get_json(&format!("/api/journeys/checkout/runs?limit={bad}"), 400)
            .await;
        assert!(
            body["error"].as_str().unwrap_or("").contains("limit"),
            "{body}"
        );
    }
    // Above the maximum is capped, not refused.
    h.get_json("/api/journeys/checkout/runs?limit=100000", 200)
        .await;
    let body = h.get_json("/api/journeys/nope/runs", 404).await;
    assert!(
        body["error"].as_str().unwrap_or("").contains("nope"),
        "{body}"
    );
    h.stop().await;
}

#[tokio::test]
async fn run_lookup_rejects_malformed_and_unknown_ids() {
    let h = Harness::start(None).await;
    let body = h.get_json("/api/runs/not-a-uuid", 400).await;
    assert!(
        body["error"].as_str().unwrap_or("").contains("malformed"),
        "{body}"
    );
    let id = uuid::Uuid::new_v4();
    let body = h.get_json(&format!("/api/runs/{id}"), 404).await;
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains(&id.to_string()),
        "{body}"
    );
    h.stop().await;
}

#[tokio::test]
async fn unknown_routes_are_json_under_api_and_html_elsewhere() {
    let h = Harness::start(None).await;
    let body = h.get_json("/api/nope", 404).await;
    assert!(
        body["error"].as_str().unwrap_or("").contains("/api/nope"),
        "{body}"
    );

    let resp = h.get("/nope").await;
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(content_type(&resp), "text/html");
    let page = resp.text().await.expect("body");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    h.stop().await;
}

#[tokio::test]
async fn journeys_filter_by_label_and_backend_in_the_api_and_the_page() {
    let h = Harness::start(None).await;
    let names = |body: serde_json::Value| -> Vec<String> {
        body.as_array()
            .expect("array")
            .iter()
            .filter_map(|j| j["name"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        names(h.get_json("/api/journeys?team=shop", 200).await),
        ["checkout"]
    );
    assert_eq!(
        names(h.get_json("/api/journeys?backend=fulfillment", 200).await),
        ["checkout"]
    );
    assert!(
        names(
            h.get_json("/api/journeys?team=shop&backend=auth", 200)
                .await
        )
        .is_empty()
    );
    assert_eq!(names(h.get_json("/api/journeys", 200).await).len(), 2);
    let resp = h.get("/?team=shop").await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("body");
    assert!(
        page.contains("checkout") && !page.contains("/api/journeys/browse"),
        "{page}"
    );
}

#[tokio::test]
async fn journeys_group_by_a_label_in_the_api_with_the_unlabelled_last() {
    let h = Harness::start(None).await;
    let body = h.get_json("/api/journeys?group=team", 200).await;
    assert_eq!(body["group"], "team", "{body}");
    let groups: Vec<(serde_json::Value, Vec<String>)> = body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            let names = g["journeys"].as_array().expect("journeys").iter();
            let names = names.filter_map(|j| j["name"].as_str().map(str::to_string));
            (g["value"].clone(), names.collect())
        })
        .collect();
    assert_eq!(
        groups,
        [
            (serde_json::json!("shop"), vec!["checkout".to_string()]),
            (serde_json::Value::Null, vec!["browse".to_string()]),
        ]
    );
    let filtered = h.get_json("/api/journeys?group=team&team=shop", 200).await;
    assert_eq!(
        filtered["groups"].as_array().map(Vec::len),
        Some(1),
        "{filtered}"
    );
}
