//! The purchase journey on a healthy shop.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Demo, fast_config, new_client};

fn is_tracking_number(v: &Value) -> bool {
    v.as_str()
        .and_then(|s| s.strip_prefix("TRK-"))
        .is_some_and(|d| d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()))
}

#[tokio::test]
async fn products_are_sorted_and_start_a_session() {
    let demo = Demo::start().await;
    let resp = demo
        .client
        .get(demo.url("/api/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("shop_session="), "{cookie}");
    assert!(
        cookie.contains("Path=/") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let body: Value = resp.json().await.unwrap();
    let prices: Vec<u64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["price_cents"].as_u64().unwrap())
        .collect();
    assert!(prices.len() >= 3, "{body}");
    assert!(prices.is_sorted(), "{prices:?}");
    assert_eq!(body["items"][0]["currency"], "EUR");
    // The session cookie is kept, so a second call sets none.
    let again = demo
        .client
        .get(demo.url("/api/products"))
        .send()
        .await
        .unwrap();
    assert!(again.headers().get("set-cookie").is_none());
    demo.stop().await;
}

#[tokio::test]
async fn carts_need_a_session() {
    let demo = Demo::start().await;
    let (status, body) = demo.post("/api/carts", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "no session: GET /api/products first");
    demo.stop().await;
}

#[tokio::test]
async fn healthy_purchase_reaches_shipped_with_a_tracking_number() {
    let demo = Demo::start().await;
    let order_id = demo.buy().await;
    let path = format!("/api/orders/{order_id}");
    let (status, order) = demo.get(&path).await;
    assert_eq!(status, 200);
    assert_eq!(order["total_cents"], 2 * 1299, "{order}");
    let order = demo.wait_for(&path, "/status", json!("shipped")).await;
    assert_eq!(order["paid_cents"], order["total_cents"], "{order}");
    assert!(is_tracking_number(&order["tracking_number"]), "{order}");
    let (_, payment) = demo.get(&format!("{path}/payment")).await;
    assert_eq!(payment["status"], "paid", "{payment}");
    assert_eq!(payment["amount_cents"], 2 * 1299);
    let (_, shipment) = demo.get(&format!("{path}/shipment")).await;
    assert_eq!(shipment["status"], "shipped", "{shipment}");
    assert_eq!(shipment["tracking_number"], order["tracking_number"]);
    demo.stop().await;
}

#[tokio::test]
async fn checkout_checks_the_card_and_the_cart() {
    let demo = Demo::start().await;
    demo.get("/api/products").await;
    let (_, cart) = demo.post("/api/carts", json!({})).await;
    let cart_id = cart["cart_id"].as_str().unwrap();
    let bad_card = json!({"cart_id": cart_id, "card": "4111-1111"});
    let (status, body) = demo.post("/api/checkout", bad_card).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("card must be a 16-digit string"))
    );
    let (status, body) = demo
        .post("/api/checkout", json!({"cart_id": cart_id}))
        .await;
    assert_eq!(status, 400, "{body}");
    let card = "4111111111111111";
    let (status, body) = demo
        .post("/api/checkout", json!({"cart_id": cart_id, "card": card}))
        .await;
    assert_eq!(status, 409, "{body}");
    let unknown = json!({"product_id": "sku-0000", "quantity": 1});
    let (status, _) = demo
        .post(&format!("/api/carts/{cart_id}/items"), unknown)
        .await;
    assert_eq!(status, 404);
    let (status, _) = demo
        .post(
            "/api/carts/c-nope/items",
            json!({"product_id": "sku-1001", "quantity": 1}),
        )
        .await;
    assert_eq!(status, 404);
    demo.stop().await;
}

#[tokio::test]
async fn orders_belong_to_their_session() {
    let demo = Demo::start().await;
    let order_id = demo.buy().await;
    let stranger = new_client();
    stranger
        .get(demo.url("/api/products"))
        .send()
        .await
        .unwrap();
    let resp = stranger
        .get(demo.url(&format!("/api/orders/{order_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    demo.stop().await;
}

#[tokio::test]
async fn cancelled_order_is_never_processed() {
    let demo = Demo::start().await;
    // Payment is held until the order is cancelled: with the fast test delays a loaded machine
    // could otherwise pay the order before the DELETE arrives.
    demo.inject("payment", json!({"mode": "stuck"})).await;
    let cancelled = demo.buy().await;
    let path = format!("/api/orders/{cancelled}");
    for _ in 0..2 {
        let (status, body) = demo.delete(&path).await;
        assert_eq!(
            (status, body),
            (200, json!({"order_id": cancelled, "status": "cancelled"}))
        );
    }
    demo.restore("payment").await;
    let witness = demo.buy().await;
    // Once an order placed alongside has shipped, the workers have had their chance.
    demo.wait_for(
        &format!("/api/orders/{witness}"),
        "/status",
        json!("shipped"),
    )
    .await;
    let (_, order) = demo.get(&path).await;
    assert_eq!(order["status"], "cancelled", "{order}");
    assert_eq!(order["paid_cents"], Value::Null, "{order}");
    assert_eq!(order["tracking_number"], Value::Null, "{order}");
    demo.stop().await;
}

#[tokio::test]
async fn the_oldest_orders_are_forgotten_beyond_the_cap() {
    let demo = Demo::start_with(crate::demo::DemoConfig {
        max_records: 2,
        ..fast_config()
    })
    .await;
    let first = demo.buy().await;
    let second = demo.buy().await;
    let third = demo.buy().await;
    assert_eq!(demo.get(&format!("/api/orders/{first}")).await.0, 404);
    assert_eq!(demo.get(&format!("/api/orders/{second}")).await.0, 200);
    assert_eq!(demo.get(&format!("/api/orders/{third}")).await.0, 200);
    demo.stop().await;
}

#[tokio::test]
async fn unknown_endpoints_answer_json_404() {
    let demo = Demo::start().await;
    let (status, body) = demo.get("/api/nothing-here").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string(), "{body}");
    let (status, body) = demo.get("/healthz").await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    demo.stop().await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_replays_the_first_answer() {
    let demo = Demo::start().await;
    demo.get("/api/products").await;
    let post = |key: &'static str| {
        demo.request(Method::POST, "/api/carts", Some(json!({})))
            .header("Idempotency-Key", key)
            .send()
    };
    let first = post("k-1").await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = post("k-1").await.unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["cart_id"], again["cart_id"], "one cart for one key");
    let other: Value = post("k-2").await.unwrap().json().await.unwrap();
    assert_ne!(
        first["cart_id"], other["cart_id"],
        "a new key is a new cart"
    );
}
