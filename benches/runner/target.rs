//! The fast local target: a tiny shop API on `127.0.0.1:0`, served by its own
//! single-threaded tokio runtime on its own thread.
//!
//! It is stateless (an order id is echoed back, never stored) so that the
//! figures measure the client side, not a database. It runs on one thread so
//! its CPU time can be read with `RUSAGE_THREAD` and subtracted from the
//! process's: what remains is the runner under test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::measure::{Cpu, thread_cpu};

/// A running target.
pub struct Target {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: tokio::runtime::Handle,
    counters: Arc<Counters>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    connections: AtomicU64,
    orders: AtomicU64,
}

impl Target {
    /// Starts the target and returns once it is accepting connections.
    pub fn start() -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let app = router(Arc::clone(&counters));
        let accepted = Arc::clone(&counters);
        let listener = listener.tap_io(move |_| {
            accepted.connections.fetch_add(1, Ordering::Relaxed);
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-target".into())
            .spawn(move || {
                rt.block_on(async move {
                    let shutdown = async move {
                        let _ = stopped.await;
                    };
                    let served = axum::serve(listener, app)
                        .with_graceful_shutdown(shutdown)
                        .await;
                    if let Err(e) = served {
                        eprintln!("bench target stopped: {e}");
                    }
                });
            })?;
        Ok(Self {
            addr,
            handle,
            counters,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.counters.requests.load(Ordering::Relaxed)
    }

    /// TCP connections accepted so far: one per run shows each run had a fresh pool.
    pub fn connections(&self) -> u64 {
        self.counters.connections.load(Ordering::Relaxed)
    }

    /// CPU time used so far by the target's thread (its runtime runs nowhere else).
    pub async fn cpu(&self) -> Cpu {
        // A task spawned on a current-thread runtime runs on the thread driving it.
        let task = self.handle.spawn(async { thread_cpu() });
        match tokio::time::timeout(Duration::from_secs(5), task).await {
            Ok(Ok(cpu)) => cpu,
            _ => {
                eprintln!("cannot read the target thread's CPU time");
                std::process::exit(2);
            }
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

type Shared = Arc<Counters>;

fn router(counters: Shared) -> Router {
    Router::new()
        .route("/api/products", get(list_products))
        .route("/api/products/{id}", get(get_product))
        .route("/api/orders", post(create_order))
        .route("/api/orders/{id}", get(get_order).delete(delete_order))
        .route("/api/orders/{id}/confirm", post(confirm_order))
        .with_state(counters)
}

fn count(c: &Counters) {
    c.requests.fetch_add(1, Ordering::Relaxed);
}

async fn list_products(State(c): State<Shared>) -> Json<Value> {
    count(&c);
    Json(json!({
        "items": [
            { "id": "p-100", "name": "Green energy plan", "price_cents": 1299, "in_stock": true },
            { "id": "p-200", "name": "Fibre 1 Gbit/s", "price_cents": 3499, "in_stock": true },
            { "id": "p-300", "name": "Phone case", "price_cents": 899, "in_stock": false },
        ],
        "total": 3,
    }))
}

async fn get_product(State(c): State<Shared>, Path(id): Path<String>) -> Json<Value> {
    count(&c);
    Json(json!({ "id": id, "name": "Green energy plan", "price_cents": 1299, "currency": "EUR" }))
}

async fn create_order(State(c): State<Shared>, Json(body): Json<Value>) -> impl IntoResponse {
    count(&c);
    if body.get("product_id").and_then(Value::as_str).is_none() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            HeaderMap::new(),
            Json(json!({})),
        )
            .into_response();
    }
    let n = c.orders.fetch_add(1, Ordering::Relaxed) + 1;
    let mut headers = HeaderMap::new();
    if let Ok(v) = format!("r-{n}").parse() {
        headers.insert("x-request-id", v);
    }
    let order = json!({ "order_id": format!("o-{n}"), "status": "accepted" });
    (StatusCode::CREATED, headers, Json(order)).into_response()
}

async fn get_order(State(c): State<Shared>, Path(id): Path<String>) -> Json<Value> {
    count(&c);
    Json(json!({
        "order_id": id,
        "status": "accepted",
        "total_cents": 2598,
        "currency": "EUR",
        "items": [{ "product_id": "p-100", "quantity": 2 }],
    }))
}

async fn confirm_order(
    State(c): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    count(&c);
    Json(json!({ "order_id": id, "status": "confirmed", "request_id": body["request_id"] }))
}

async fn delete_order(State(c): State<Shared>, Path(_id): Path<String>) -> StatusCode {
    count(&c);
    StatusCode::NO_CONTENT
}
