//! Fault injection on the shop's processes: every mode, and recovery when a
//! fault is removed; plus shutdown while requests are held.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Demo, SETTLE, fast_config};
use crate::demo::DemoConfig;

#[tokio::test]
async fn stuck_fulfillment_keeps_the_order_paid_until_restored() {
    let demo = Demo::start().await;
    demo.inject("fulfillment", json!({"mode": "stuck"})).await;
    let order_id = demo.buy().await;
    let path = format!("/api/orders/{order_id}");
    demo.wait_for(&path, "/status", json!("paid")).await;
    tokio::time::sleep(SETTLE).await;
    let (_, order) = demo.get(&path).await;
    assert_eq!(order["status"], "paid", "{order}");
    // The front door still answers: the process is silently stuck.
    let (status, shipment) = demo.get(&format!("{path}/shipment")).await;
    assert_eq!((status, &shipment["status"]), (200, &json!("preparing")));
    demo.restore("fulfillment").await;
    let order = demo.wait_for(&path, "/status", json!("shipped")).await;
    assert!(order["tracking_number"].is_string(), "{order}");
    demo.stop().await;
}

#[tokio::test]
async fn stuck_payment_keeps_the_order_accepted() {
    let demo = Demo::start().await;
    demo.inject("payment", json!({"mode": "stuck"})).await;
    let order_id = demo.buy().await;
    let path = format!("/api/orders/{order_id}");
    tokio::time::sleep(SETTLE).await;
    let (_, payment) = demo.get(&format!("{path}/payment")).await;
    assert_eq!(payment["status"], "pending", "{payment}");
    let (_, shipment) = demo.get(&format!("{path}/shipment")).await;
    assert_eq!(shipment["status"], "waiting", "{shipment}");
    demo.restore("payment").await;
    demo.wait_for(&path, "/status", json!("shipped")).await;
    demo.stop().await;
}

#[tokio::test]
async fn stuck_catalog_holds_requests_until_restored() {
    let demo = Demo::start().await;
    demo.inject("catalog", json!({"mode": "stuck"})).await;
    let held =
        tokio::time::timeout(SETTLE, demo.client.get(demo.url("/api/products")).send()).await;
    assert!(held.is_err(), "a stuck process must not answer: {held:?}");
    let pending = tokio::spawn(demo.client.get(demo.url("/api/products")).send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!pending.is_finished());
    demo.restore("catalog").await;
    let resp = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("released after restore")
        .unwrap()
        .unwrap();
    assert_eq!(resp.status(), 200);
    demo.stop().await;
}

#[tokio::test]
async fn reject_fulfillment_makes_the_order_undeliverable() {
    let demo = Demo::start().await;
    demo.inject("fulfillment", json!({"mode": "reject"})).await;
    let order_id = demo.buy().await;
    let path = format!("/api/orders/{order_id}");
    let order = demo
        .wait_for(&path, "/status", json!("undeliverable"))
        .await;
    assert_eq!(order["tracking_number"], Value::Null);
    let (_, shipment) = demo.get(&format!("{path}/shipment")).await;
    assert_eq!(shipment["status"], "undeliverable", "{shipment}");
    let (_, payment) = demo.get(&format!("{path}/payment")).await;
    assert_eq!(payment["status"], "paid", "{payment}");
    demo.stop().await;
}

#[tokio::test]
async fn reject_payment_declines_the_order() {
    let demo = Demo::start().await;
    demo.inject("payment", json!({"mode": "reject"})).await;
    let order_id = demo.buy().await;
    let path = format!("/api/orders/{order_id}");
    let order = demo
        .wait_for(&path, "/status", json!("payment_declined"))
        .await;
    assert_eq!(order["paid_cents"], Value::Null, "{order}");
    let (_, payment) = demo.get(&format!("{path}/payment")).await;
    assert_eq!(payment["status"], "declined", "{payment}");
    demo.restore("payment").await;
    tokio::time::sleep(SETTLE).await;
    let (_, order) = demo.get(&path).await;
    assert_eq!(order["status"], "payment_declined", "terminal: {order}");
    demo.stop().await;
}

#[tokio::test]
async fn error_fault_answers_503_on_the_process_endpoints_only() {
    let demo = Demo::start().await;
    let order_id = demo.buy().await;
    demo.inject("payment", json!({"mode": "error"})).await;
    let path = format!("/api/orders/{order_id}");
    let (status, body) = demo.get(&format!("{path}/payment")).await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"error": "payment unavailable (injected fault)"})
    );
    assert_eq!(demo.get(&path).await.0, 200, "orders is not faulted");
    demo.inject("fulfillment", json!({"mode": "error"})).await;
    let (status, body) = demo.get(&format!("{path}/shipment")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("fulfillment unavailable (injected fault)"))
    );
    demo.stop().await;
}

#[tokio::test]
async fn down_fault_drops_the_connection_without_a_response() {
    let demo = Demo::start().await;
    let order_id = demo.buy().await;
    demo.inject("fulfillment", json!({"mode": "down"})).await;
    let url = demo.url(&format!("/api/orders/{order_id}/shipment"));
    let err = demo.client.get(&url).send().await.expect_err("no response");
    assert!(err.status().is_none(), "{err:?}");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    // Other processes still answer, on a fresh connection.
    assert_eq!(demo.get(&format!("/api/orders/{order_id}")).await.0, 200);
    demo.restore("fulfillment").await;
    assert_eq!(demo.client.get(&url).send().await.unwrap().status(), 200);
    demo.stop().await;
}

#[tokio::test]
async fn down_payment_also_stops_its_worker() {
    let demo = Demo::start().await;
    demo.inject("payment", json!({"mode": "down"})).await;
    let order_id = demo.buy().await;
    let path = format!("/api/orders/{order_id}");
    tokio::time::sleep(SETTLE).await;
    let (_, order) = demo.get(&path).await;
    assert_eq!(order["status"], "accepted", "{order}");
    demo.restore("payment").await;
    demo.wait_for(&path, "/status", json!("shipped")).await;
    demo.stop().await;
}

#[tokio::test]
async fn slow_fault_delays_endpoints_and_workers() {
    let demo = Demo::start().await;
    demo.inject("catalog", json!({"mode": "slow", "delay_ms": 300}))
        .await;
    let started = Instant::now();
    assert_eq!(demo.get("/api/products").await.0, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    demo.restore("catalog").await;
    demo.inject("payment", json!({"mode": "slow", "delay_ms": 400}))
        .await;
    let started = Instant::now();
    let order_id = demo.buy().await;
    demo.wait_for(&format!("/api/orders/{order_id}"), "/status", json!("paid"))
        .await;
    assert!(
        started.elapsed() >= Duration::from_millis(430),
        "{:?}",
        started.elapsed()
    );
    demo.stop().await;
}

#[tokio::test]
async fn wrong_data_in_the_shop_workers_is_plausible_but_wrong() {
    let demo = Demo::start().await;
    demo.inject("payment", json!({"mode": "wrong_data"})).await;
    demo.inject("fulfillment", json!({"mode": "wrong_data"}))
        .await;
    let order_id = demo.buy().await;
    let path = format!("/api/orders/{order_id}");
    let order = demo.wait_for(&path, "/status", json!("shipped")).await;
    assert_eq!(
        order["paid_cents"],
        order["total_cents"].as_u64().unwrap() - 100,
        "{order}"
    );
    assert_eq!(order["tracking_number"], Value::Null, "{order}");
    demo.stop().await;
}

#[tokio::test]
async fn shutdown_releases_held_requests() {
    let demo = Demo::start_with(DemoConfig {
        shutdown_grace: Duration::from_secs(5),
        ..fast_config()
    })
    .await;
    demo.inject("auth", json!({"mode": "stuck"})).await;
    let creds = json!({"username": "alice", "password": "demo-password"});
    let held = tokio::spawn(
        demo.request(reqwest::Method::POST, "/api/login", Some(creds))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!held.is_finished());
    let started = Instant::now();
    demo.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let resp = held.await.unwrap().unwrap();
    assert_eq!(resp.status(), 503);
}
