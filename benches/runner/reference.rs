//! The reference: the same six requests with the same bodies, sent by a bare
//! `reqwest::Client` built fresh for each iteration (so a fresh connection pool
//! too), without journeyd's templating, expectations, timings or redaction.
//!
//! It still reads the two ids the later requests need and checks the status
//! codes, since a reference that skipped them would not be doing the same work.

use serde_json::{Value, json};

/// One iteration with its own client; Err on an unexpected status or body.
pub async fn run_once(base: String) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("client: {e}"))?;
    let email = format!("bench+{}@example.com", uuid::Uuid::new_v4());
    let get = |url: String| client.get(url).header("accept", "application/json");
    let post = |url: String| client.post(url).header("accept", "application/json");

    let products: Value = expect(get(format!("{base}/api/products")).send().await, 200)?
        .json()
        .await
        .map_err(|e| format!("products: {e}"))?;
    let product_id = products["items"][0]["id"]
        .as_str()
        .ok_or("products: no items[0].id")?
        .to_string();

    expect(
        get(format!("{base}/api/products/{product_id}"))
            .send()
            .await,
        200,
    )?
    .bytes()
    .await
    .map_err(|e| format!("product: {e}"))?;

    let body = json!({ "product_id": product_id, "quantity": 2, "email": email });
    let created = expect(
        post(format!("{base}/api/orders")).json(&body).send().await,
        201,
    )?;
    let request_id = created
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .ok_or("order: no x-request-id")?
        .to_string();
    let order: Value = created.json().await.map_err(|e| format!("order: {e}"))?;
    let order_id = order["order_id"].as_str().ok_or("order: no order_id")?;

    expect(
        get(format!("{base}/api/orders/{order_id}")).send().await,
        200,
    )?
    .bytes()
    .await
    .map_err(|e| format!("order get: {e}"))?;

    let body = json!({ "request_id": request_id, "email": email });
    let confirm = post(format!("{base}/api/orders/{order_id}/confirm"))
        .header("x-request-id", &request_id)
        .json(&body);
    expect(confirm.send().await, 200)?
        .bytes()
        .await
        .map_err(|e| format!("confirm: {e}"))?;

    let delete = client
        .delete(format!("{base}/api/orders/{order_id}"))
        .header("accept", "application/json");
    expect(delete.send().await, 204)?
        .bytes()
        .await
        .map_err(|e| format!("delete: {e}"))?;
    Ok(())
}

fn expect(
    sent: reqwest::Result<reqwest::Response>,
    status: u16,
) -> Result<reqwest::Response, String> {
    let resp = sent.map_err(|e| format!("request failed: {e}"))?;
    if resp.status().as_u16() == status {
        Ok(resp)
    } else {
        Err(format!(
            "{}: status {} instead of {status}",
            resp.url(),
            resp.status()
        ))
    }
}
