//! Fault injection on the contract and app processes, and `wrong_data` at
//! every front door.

use serde_json::json;

use super::Demo;

#[tokio::test]
async fn wrong_data_at_the_shop_front_doors() {
    let demo = Demo::start().await;
    demo.inject("catalog", json!({"mode": "wrong_data"})).await;
    let (status, products) = demo.get("/api/products").await;
    assert_eq!((status, products), (200, json!({"items": []})));
    demo.restore("catalog").await;
    demo.inject("orders", json!({"mode": "wrong_data"})).await;
    demo.get("/api/products").await;
    let (_, cart) = demo.post("/api/carts", json!({})).await;
    let item = json!({"product_id": "sku-1001", "quantity": 1});
    let cart_path = format!("/api/carts/{}/items", cart["cart_id"].as_str().unwrap());
    demo.post(&cart_path, item).await;
    let checkout = json!({"cart_id": cart["cart_id"], "card": "4111111111111111"});
    let (status, body) = demo.post("/api/checkout", checkout).await;
    assert_eq!((status, body), (202, json!({"status": "accepted"})));
    demo.stop().await;
}

#[tokio::test]
async fn wrong_data_at_the_account_front_doors() {
    let mut demo = Demo::start().await;
    demo.login().await;
    demo.inject("contracts", json!({"mode": "wrong_data"}))
        .await;
    let ask = json!({"product": "green-energy", "postcode": "1"});
    let (status, quote) = demo.post("/api/quotes", ask).await;
    assert_eq!(status, 201, "{quote}");
    assert_eq!(quote["monthly_price_cents"], "free", "{quote}");
    demo.inject("app", json!({"mode": "wrong_data"})).await;
    let id = demo
        .change_address("Main St 1", "12345", "Springfield")
        .await;
    let (_, request) = demo.get(&format!("/api/requests/{id}")).await;
    assert_eq!(request["type"], "unknown", "{request}");
    demo.inject("auth", json!({"mode": "wrong_data"})).await;
    let creds = json!({"username": "alice", "password": "demo-password"});
    let answer = demo.post("/api/login", creds).await;
    assert_eq!(answer, (200, json!({"token": null})));
    demo.stop().await;
}

#[tokio::test]
async fn wrong_data_activation_changes_the_price() {
    let mut demo = Demo::start().await;
    demo.login().await;
    demo.inject("activation", json!({"mode": "wrong_data"}))
        .await;
    let (quote, path) = demo.sign_contract().await;
    let contract = demo.wait_for(&path, "/status", json!("active")).await;
    let quoted = quote["monthly_price_cents"].as_u64().unwrap();
    assert_eq!(contract["monthly_price_cents"], quoted + 500, "{contract}");
    demo.stop().await;
}

#[tokio::test]
async fn wrong_data_backoffice_notifies_a_wrong_postcode() {
    let mut demo = Demo::start().await;
    demo.login().await;
    demo.inject("backoffice", json!({"mode": "wrong_data"}))
        .await;
    let id = demo
        .change_address("Main St 1", "12345", "Springfield")
        .await;
    let path = format!("/api/requests/{id}");
    demo.wait_for(&path, "/status", json!("processed")).await;
    let (_, notes) = demo
        .get(&format!("/api/notifications?request_id={id}"))
        .await;
    let message = &notes["items"][0]["message"];
    assert_eq!(
        message,
        "Your address was changed to Main St 1, 00000 Springfield."
    );
    demo.stop().await;
}

#[tokio::test]
async fn reject_activation_and_backoffice_are_terminal() {
    let mut demo = Demo::start().await;
    demo.login().await;
    demo.inject("activation", json!({"mode": "reject"})).await;
    demo.inject("backoffice", json!({"mode": "reject"})).await;
    let (_, path) = demo.sign_contract().await;
    let activation = format!("{path}/activation");
    demo.wait_for(&activation, "/status", json!("rejected"))
        .await;
    let (_, contract) = demo.get(&path).await;
    assert_eq!(contract["status"], "rejected", "{contract}");
    assert_eq!(contract["activated_at"], json!(null));
    let id = demo
        .change_address("Main St 1", "12345", "Springfield")
        .await;
    let processing = format!("/api/requests/{id}/processing");
    demo.wait_for(&processing, "/status", json!("rejected"))
        .await;
    let (_, request) = demo.get(&format!("/api/requests/{id}")).await;
    assert_eq!(request["status"], "rejected", "{request}");
    let (_, notes) = demo
        .get(&format!("/api/notifications?request_id={id}"))
        .await;
    assert_eq!(notes, json!({"items": []}));
    demo.stop().await;
}

#[tokio::test]
async fn stuck_activation_resumes_when_restored() {
    let mut demo = Demo::start().await;
    demo.login().await;
    demo.inject("activation", json!({"mode": "stuck"})).await;
    let (_, path) = demo.sign_contract().await;
    tokio::time::sleep(super::SETTLE).await;
    let (status, activation) = demo.get(&format!("{path}/activation")).await;
    assert_eq!((status, &activation["status"]), (200, &json!("pending")));
    demo.restore("activation").await;
    demo.wait_for(&path, "/status", json!("active")).await;
    demo.stop().await;
}
