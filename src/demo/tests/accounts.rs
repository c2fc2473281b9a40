//! The contract and app journeys on a healthy company.

use serde_json::{Value, json};

use super::Demo;

#[tokio::test]
async fn login_checks_the_password() {
    let demo = Demo::start().await;
    let wrong = json!({"username": "alice", "password": "guess"});
    let (status, body) = demo.post("/api/login", wrong).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].is_string());
    let right = json!({"username": "bob", "password": "demo-password"});
    let (status, body) = demo.post("/api/login", right).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].as_str().unwrap().starts_with("t-"), "{body}");
    demo.stop().await;
}

#[tokio::test]
async fn bearer_endpoints_need_a_valid_token() {
    let mut demo = Demo::start().await;
    let quote = json!({"product": "green-energy", "postcode": "10115"});
    let (status, body) = demo.post("/api/quotes", quote.clone()).await;
    assert_eq!(status, 401, "{body}");
    demo.token = Some("t-forged".to_string());
    let (status, _) = demo.get("/api/requests/r-1").await;
    assert_eq!(status, 401);
    demo.login().await;
    let (status, body) = demo.post("/api/quotes", quote).await;
    assert_eq!(status, 201, "{body}");
    demo.stop().await;
}

#[tokio::test]
async fn quotes_are_priced_from_their_inputs() {
    let mut demo = Demo::start().await;
    demo.login().await;
    let quote = json!({"product": "green-energy", "postcode": "10115"});
    let (_, a) = demo.post("/api/quotes", quote.clone()).await;
    let (_, b) = demo.post("/api/quotes", quote).await;
    let price = a["monthly_price_cents"].as_u64().unwrap();
    assert!((4000..=9000).contains(&price), "{a}");
    assert_eq!(a["monthly_price_cents"], b["monthly_price_cents"]);
    assert_ne!(a["quote_id"], b["quote_id"]);
    let (status, body) = demo
        .post("/api/quotes", json!({"product": "coal", "postcode": "1"}))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("green-energy"),
        "{body}"
    );
    demo.stop().await;
}

#[tokio::test]
async fn signed_contract_becomes_active() {
    let mut demo = Demo::start().await;
    demo.login().await;
    let (_, quote) = demo
        .post(
            "/api/quotes",
            json!({"product": "green-energy", "postcode": "10115"}),
        )
        .await;
    let (status, signed) = demo
        .post("/api/contracts", json!({"quote_id": quote["quote_id"]}))
        .await;
    assert_eq!(status, 202, "{signed}");
    assert_eq!(signed["status"], "signed");
    let path = format!("/api/contracts/{}", signed["contract_id"].as_str().unwrap());
    let contract = demo.wait_for(&path, "/status", json!("active")).await;
    assert_eq!(
        contract["monthly_price_cents"], quote["monthly_price_cents"],
        "{contract}"
    );
    assert_eq!(contract["quote_id"], quote["quote_id"]);
    assert!(contract["activated_at"].is_string(), "{contract}");
    let (_, activation) = demo.get(&format!("{path}/activation")).await;
    assert_eq!(activation["status"], "active", "{activation}");
    assert_eq!(activation["activated_at"], contract["activated_at"]);
    let (status, body) = demo.delete(&path).await;
    assert_eq!((status, &body["status"]), (200, &json!("terminated")));
    let (_, contract) = demo.get(&path).await;
    assert_eq!(contract["status"], "terminated");
    demo.stop().await;
}

fn address_change() -> Value {
    json!({
        "type": "change_of_address",
        "address": {"street": "Hauptstraße 5", "postcode": "10115", "city": "Berlin"},
    })
}

#[tokio::test]
async fn address_change_is_processed_and_notified() {
    let mut demo = Demo::start().await;
    demo.login().await;
    let (status, created) = demo.post("/api/requests", address_change()).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(created["status"], "received");
    let id = created["request_id"].as_str().unwrap();
    let path = format!("/api/requests/{id}");
    let request = demo.wait_for(&path, "/status", json!("processed")).await;
    assert_eq!(request["type"], "change_of_address");
    assert!(request["processed_at"].is_string(), "{request}");
    let (_, processing) = demo.get(&format!("{path}/processing")).await;
    assert_eq!(processing["status"], "processed", "{processing}");
    let (status, notes) = demo
        .get(&format!("/api/notifications?request_id={id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(notes["items"].as_array().unwrap().len(), 1, "{notes}");
    let note = &notes["items"][0];
    assert_eq!(note["request_id"], id);
    assert_eq!(note["channel"], "email");
    assert_eq!(
        note["message"],
        "Your address was changed to Hauptstraße 5, 10115 Berlin."
    );
    let (status, body) = demo.delete(&path).await;
    assert_eq!((status, &body["status"]), (200, &json!("withdrawn")));
    demo.stop().await;
}

#[tokio::test]
async fn requests_are_validated() {
    let mut demo = Demo::start().await;
    demo.login().await;
    let mut wrong_type = address_change();
    wrong_type["type"] = json!("change_of_name");
    let (status, body) = demo.post("/api/requests", wrong_type).await;
    assert_eq!(status, 400, "{body}");
    let mut no_city = address_change();
    no_city["address"]["city"] = json!("");
    assert_eq!(demo.post("/api/requests", no_city).await.0, 400);
    let (status, body) = demo.get("/api/notifications").await;
    assert_eq!(status, 400, "{body}");
    demo.stop().await;
}
