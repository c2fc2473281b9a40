//! Tests of the demo company over HTTP: each test starts the demo on
//! `127.0.0.1:0` with tiny delays and drives it with reqwest, as a journey would.

mod account_faults;
mod accounts;
mod admin;
mod faults;
mod shop;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{DemoConfig, serve};

const POLL_EVERY: Duration = Duration::from_millis(20);
const POLL_FOR: Duration = Duration::from_secs(5);
/// Ten times every worker delay of [`fast_config`]: long enough that a worker
/// that was going to move an item has done so.
const SETTLE: Duration = Duration::from_millis(300);

/// Every worker finishes in tens of milliseconds.
fn fast_config() -> DemoConfig {
    DemoConfig {
        payment_delay: Duration::from_millis(30),
        fulfillment_delay: Duration::from_millis(30),
        activation_delay: Duration::from_millis(30),
        backoffice_delay: Duration::from_millis(30),
        worker_tick: Duration::from_millis(5),
        ..DemoConfig::default()
    }
}

/// A running demo company and a cookie-keeping client logged in on demand.
struct Demo {
    base: String,
    client: reqwest::Client,
    token: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

impl Demo {
    async fn start() -> Demo {
        Demo::start_with(fast_config()).await
    }

    /// Binds first, then spawns `serve`: the port accepts from the start.
    async fn start_with(config: DemoConfig) -> Demo {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, config, async move {
            let _ = rx.await;
        }));
        Demo {
            base: format!("http://{addr}"),
            client: new_client(),
            token: None,
            stop: Some(tx),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let resp = self.request(method, path, body).send().await.expect("send");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
        (status, body)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(Method::DELETE, path, None).await
    }

    async fn inject(&self, process: &str, fault: Value) {
        let path = format!("/admin/faults/{process}");
        let (status, body) = self.send(Method::PUT, &path, Some(fault)).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn restore(&self, process: &str) {
        let (status, body) = self.delete(&format!("/admin/faults/{process}")).await;
        assert_eq!(status, 200, "{body}");
    }

    /// Puts one product in a fresh cart and checks out; returns the order id.
    async fn buy(&self) -> String {
        let (status, products) = self.get("/api/products").await;
        assert_eq!(status, 200, "{products}");
        let (status, cart) = self.post("/api/carts", json!({})).await;
        assert_eq!(status, 201, "{cart}");
        let cart_id = cart["cart_id"].as_str().expect("cart_id").to_string();
        let item = json!({"product_id": products["items"][0]["id"], "quantity": 2});
        let (status, body) = self
            .post(&format!("/api/carts/{cart_id}/items"), item)
            .await;
        assert_eq!(status, 200, "{body}");
        let checkout = json!({"cart_id": cart_id, "card": "4111111111111111"});
        let (status, order) = self.post("/api/checkout", checkout).await;
        assert_eq!(status, 202, "{order}");
        order["order_id"].as_str().expect("order_id").to_string()
    }

    /// Logs in; later requests carry the token.
    async fn login(&mut self) {
        let creds = json!({"username": "alice", "password": "demo-password"});
        let (status, body) = self.post("/api/login", creds).await;
        assert_eq!(status, 200, "{body}");
        self.token = Some(body["token"].as_str().expect("token").to_string());
    }

    /// Quotes green energy and signs; returns the quote and the contract's path.
    async fn sign_contract(&self) -> (Value, String) {
        let ask = json!({"product": "green-energy", "postcode": "10115"});
        let (status, quote) = self.post("/api/quotes", ask).await;
        assert_eq!(status, 201, "{quote}");
        let sign = json!({"quote_id": quote["quote_id"]});
        let (status, signed) = self.post("/api/contracts", sign).await;
        assert_eq!(status, 202, "{signed}");
        let id = signed["contract_id"].as_str().expect("contract_id");
        (quote, format!("/api/contracts/{id}"))
    }

    /// Asks for an address change; returns the request id.
    async fn change_address(&self, street: &str, postcode: &str, city: &str) -> String {
        let req = json!({
            "type": "change_of_address",
            "address": {"street": street, "postcode": postcode, "city": city},
        });
        let (status, created) = self.post("/api/requests", req).await;
        assert_eq!(status, 202, "{created}");
        created["request_id"]
            .as_str()
            .expect("request_id")
            .to_string()
    }

    /// Polls `GET path` until the JSON at `pointer` equals `expected`.
    async fn wait_for(&self, path: &str, pointer: &str, expected: Value) -> Value {
        let deadline = Instant::now() + POLL_FOR;
        loop {
            let (status, body) = self.get(path).await;
            if status == 200 && body.pointer(pointer) == Some(&expected) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: {pointer} never became {expected}; last answer {status} {body}"
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Signals shutdown and checks `serve` returns cleanly and promptly.
    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("serve returned within 10 s")
            .expect("serve task did not panic");
        assert!(result.is_ok(), "{result:?}");
    }
}
