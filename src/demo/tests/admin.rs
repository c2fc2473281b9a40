//! The fault admin API: validation, listing, restoring.

use reqwest::Method;
use serde_json::{Value, json};

use super::Demo;

fn error_text(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn admin_rejects_unknown_processes_and_modes() {
    let demo = Demo::start().await;
    let stuck = Some(json!({"mode": "stuck"}));
    let (status, body) = demo.send(Method::PUT, "/admin/faults/billing", stuck).await;
    assert_eq!(status, 400);
    let valid = "valid processes: catalog, orders, payment, fulfillment, auth";
    assert!(error_text(&body).contains(valid), "{body}");
    let explode = json!({"mode": "explode"});
    let (status, body) = demo.post("/admin/faults/payment", explode).await;
    assert_eq!(status, 400);
    let valid = "stuck, error, slow, wrong_data, down, reject";
    assert!(error_text(&body).contains(valid), "{body}");
    // `reject` needs a worker, and catalog has none.
    let reject = json!({"mode": "reject"});
    let (status, body) = demo.post("/admin/faults/catalog", reject).await;
    assert_eq!(status, 400);
    assert!(error_text(&body).contains("wrong_data, down"), "{body}");
    assert!(!error_text(&body).contains(", reject"), "{body}");
    let no_mode = json!({"delay_ms": 5});
    let (status, body) = demo.post("/admin/faults/orders", no_mode).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(demo.get("/admin/faults").await.1, json!({"faults": {}}));
    demo.stop().await;
}

#[tokio::test]
async fn admin_lists_and_restores_faults() {
    let demo = Demo::start().await;
    // POST is a synonym for PUT; slow defaults to 3000 ms.
    let (status, body) = demo
        .post("/admin/faults/payment", json!({"mode": "slow"}))
        .await;
    let echo = json!({"process": "payment", "mode": "slow", "delay_ms": 3000});
    assert_eq!((status, body), (200, echo));
    // An operator's curl may leave out the content type.
    let plain = demo
        .client
        .put(demo.url("/admin/faults/fulfillment"))
        .body(r#"{"mode":"stuck"}"#);
    assert_eq!(plain.send().await.unwrap().status(), 200);
    let (_, listed) = demo.get("/admin/faults").await;
    let expected = json!({"faults": {
        "payment": {"mode": "slow", "delay_ms": 3000},
        "fulfillment": {"mode": "stuck", "delay_ms": null},
    }});
    assert_eq!(listed, expected);
    let (status, body) = demo.delete("/admin/faults/payment").await;
    let restored = json!({"process": "payment", "restored": true});
    assert_eq!((status, body), (200, restored));
    let (_, listed) = demo.get("/admin/faults").await;
    assert_eq!(listed["faults"].as_object().unwrap().len(), 1, "{listed}");
    let (status, _) = demo.delete("/admin/faults").await;
    assert_eq!(status, 200);
    assert_eq!(demo.get("/admin/faults").await.1, json!({"faults": {}}));
    demo.stop().await;
}
