//! Durable obligations end to end: a `durable` step whose back-end has not
//! finished ends its run as pending; the daemon polls it after the run, across
//! `kill -9`, and reports it exactly once (fulfilled at the target, breached at
//! a real webhook receiver); its cleanup waits for it; no secret reaches
//! `journeyd.db`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::routing::{get, post};

use super::*;
use crate::util::alerting::{Capture, alerting_config, metric};

/// What the target saw.
#[derive(Default)]
struct Seen {
    created: usize,
    logins: usize,
    /// The back-end finished: orders answer `shipped` from now on.
    shipped: bool,
    /// GETs answered `shipped` (a fulfilment is reported once: polling stops).
    shipped_answers: usize,
    /// GETs of an order, answered either way.
    polls: usize,
    /// Deleted orders, and whether each was deleted before the order shipped.
    deleted: Vec<(String, bool)>,
}

type Shared = Arc<Mutex<Seen>>;

/// The session token of the `n`th log-in (a secret capture).
fn token(n: usize) -> String {
    format!("t-{n:016x}")
}

async fn target() -> (String, Shared) {
    let seen = Shared::default();
    let app = Router::new()
        .route(
            "/login",
            post(async |State(s): State<Shared>| {
                let mut s = s.lock().unwrap();
                s.logins += 1;
                axum::Json(serde_json::json!({ "token": token(s.logins) }))
            }),
        )
        .route(
            "/orders",
            post(async |State(s): State<Shared>| {
                let mut s = s.lock().unwrap();
                s.created += 1;
                let id = format!("o-{}", s.created);
                (
                    axum::http::StatusCode::CREATED,
                    axum::Json(serde_json::json!({ "id": id })),
                )
            }),
        )
        .route(
            "/orders/{id}",
            get(
                async |State(s): State<Shared>, UrlPath(_id): UrlPath<String>| {
                    let mut s = s.lock().unwrap();
                    s.polls += 1;
                    let status = if s.shipped { "shipped" } else { "paid" };
                    if s.shipped {
                        s.shipped_answers += 1;
                    }
                    axum::Json(serde_json::json!({ "status": status }))
                },
            )
            .delete(
                async |State(s): State<Shared>, UrlPath(id): UrlPath<String>| {
                    let mut s = s.lock().unwrap();
                    let early = !s.shipped;
                    s.deleted.push((id, early));
                    axum::http::StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

/// The order must ship within `WITHIN`; the poll reads the secret session token.
const ORDERS: &str = r#"
name: orders
interval: 1h
timeout: 30s
vars:
  base: "{{ env.TARGET_URL }}"
steps:
  - name: log in
    request: { method: POST, url: "{{ base }}/login" }
    expect: { status: 200 }
    capture: { token: { json: "$.token", secret: true } }
  - name: create order
    request: { method: POST, url: "{{ base }}/orders" }
    expect: { status: 201 }
    capture: { order_id: { json: "$.id" } }
  - name: order shipped
    backend: fulfillment
    request:
      url: "{{ base }}/orders/{{ order_id }}"
      headers: { authorization: "Bearer {{ token }}" }
    expect: { json: { "$.status": "shipped" } }
    eventually: { within: WITHIN, every: 200ms, durable: true }
cleanup:
  - name: delete order
    request:
      method: DELETE
      url: "{{ base }}/orders/{{ order_id }}"
      headers: { authorization: "Bearer {{ token }}" }
    expect: { status: 204 }
"#;

fn setup(within: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journeys")).unwrap();
    let journey = ORDERS.replace("WITHIN", within);
    std::fs::write(dir.path().join("journeys/orders.yaml"), journey).unwrap();
    dir
}

fn obligation_state(dir: &Path) -> String {
    let db = rusqlite::Connection::open(dir.join("state/journeyd.db")).unwrap();
    db.query_row("SELECT state FROM obligations", [], |r| r.get(0))
        .unwrap()
}

/// Waits until the only obligation in `GET /api/obligations` satisfies `check`.
async fn wait_obligation(d: &TestDaemon, check: impl Fn(&Value) -> bool) -> Value {
    wait_until(SOON, async || {
        let v = d.get_json("/api/obligations").await?;
        let list = v["obligations"].as_array().cloned().unwrap_or_default();
        match list.as_slice() {
            [one] if check(one) => Ok(one.clone()),
            _ => Err(v.to_string()),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n--- logs ---\n{}", d.logs()))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_obligation_survives_kill_9_and_is_fulfilled_once_after_restart() {
    let (base, seen) = target().await;
    let dir = setup("10m");
    let env = [
        ("TARGET_URL", base.as_str()),
        ("JOURNEYD_SECRET_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    let mut d = TestDaemon::start(dir.path(), CONFIG, &env).await;
    // The run ended with the step pending, and the daemon polled it since.
    let ob = wait_obligation(&d, |o| {
        o["state"] == "pending" && o["polls"].as_u64() >= Some(2)
    })
    .await;
    assert_eq!(ob["journey"], "orders");
    assert_eq!(ob["step"], "order shipped");
    assert_eq!(ob["backend"], "fulfillment");
    // No captured value while it is pending either (the values are in the database only).
    let api = d.get("/api/obligations").await.unwrap().1;
    assert!(!api.contains("o-1") && !api.contains(&token(1)), "{api}");
    // The run passed, with the step pending (runs are stored through a queue).
    let run = wait_until(SOON, async || {
        let runs = d.get_json("/api/journeys/orders/runs").await?;
        let first = runs.as_array().and_then(|r| r.first()).cloned();
        first.ok_or_else(|| runs.to_string())
    })
    .await
    .unwrap();
    assert_eq!(run["verdict"], "pass", "{run}");
    let full = d
        .get_json(&format!("/api/runs/{}", run["run_id"].as_str().unwrap()))
        .await
        .unwrap();
    let step = &full["steps"][2];
    assert_eq!(step["obligation"]["state"], "pending", "{full}");
    assert_eq!(step["obligation"]["watched"], true, "{full}");
    assert_eq!(full["cleanup"][0]["verdict"], "skipped", "{full}");
    let (status, page) = d.get("/").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("Obligations") && page.contains("1 pending"),
        "{page}"
    );
    let text = d.metrics().await.unwrap();
    assert_eq!(
        metric(&text, "journeyd_obligations", &[("state", "pending")]),
        Some(1.0),
        "{text}"
    );
    assert!(
        metric(
            &text,
            "journeyd_obligation_oldest_pending_seconds",
            &[("backend", "fulfillment")]
        )
        .is_some(),
        "{text}"
    );
    d.kill9();
    drop(d);
    assert_eq!(obligation_state(dir.path()), "pending");
    // Cleanup waited for the obligation: the order is still there.
    assert!(seen.lock().unwrap().deleted.is_empty());

    // The back-end finishes while journeyd is down; no new run starts soon.
    seen.lock().unwrap().shipped = true;
    let d = TestDaemon::start(dir.path(), &quiet_config(), &env).await;
    let ob = wait_obligation(&d, |o| o["state"] == "fulfilled").await;
    assert!(ob["finished_at"].is_string(), "{ob}");
    // The held cleanup runs once the obligation ended, never before.
    wait_until(SOON, async || {
        let deleted = seen.lock().unwrap().deleted.clone();
        if deleted.is_empty() {
            Err("not deleted yet".to_string())
        } else {
            Ok(())
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    let text = wait_until(SOON, async || {
        let m = d.metrics().await?;
        match metric(&m, "journeyd_obligations", &[("state", "fulfilled")]) {
            Some(1.0) => Ok(m),
            other => Err(format!("fulfilled {other:?}")),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.deleted, [("o-1".to_string(), false)], "{}", d.logs());
        assert_eq!(s.created, 1);
        // Reported once: polling stopped at the first `shipped` answer.
        assert_eq!(s.shipped_answers, 1, "{}", d.logs());
    }
    assert_eq!(
        d.logs().matches("Obligation fulfilled.").count(),
        1,
        "{}",
        d.logs()
    );
    assert_eq!(
        metric(
            &text,
            "journeyd_obligations_finished_total",
            &[("state", "fulfilled")]
        ),
        Some(1.0),
        "{text}"
    );
    let completions = metric(
        &text,
        "journeyd_backend_completion_seconds_count",
        &[("journey", "orders"), ("step", "order shipped")],
    );
    assert_eq!(completions, Some(1.0), "{text}");
    // No session token was ever stored (polls logged in again for a fresh one).
    let logins = seen.lock().unwrap().logins;
    assert!(
        logins >= 2,
        "the poll after restart logs in again: {logins}"
    );
    let db = std::fs::read(dir.path().join("state/journeyd.db")).unwrap();
    let wal = std::fs::read(dir.path().join("state/journeyd.db-wal")).unwrap_or_default();
    for t in (1..=logins).map(token) {
        let stored = |b: &[u8]| b.windows(t.len()).any(|w| w == t.as_bytes());
        assert!(!stored(&db) && !stored(&wal), "token {t} stored");
    }
    let api = d.get("/api/obligations").await.unwrap().1;
    assert!(!api.contains("o-1") && !api.contains(&token(1)), "{api}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_breached_obligation_pages_once_with_journey_step_and_backend() {
    let (base, seen) = target().await;
    let dir = setup("2s");
    let mut capture = Capture::start(0).await;
    let hook = format!(
        "{{name: hook, type: webhook, url: \"{}\"}}",
        capture.url("/hook")
    );
    let env = [
        ("TARGET_URL", base.as_str()),
        ("JOURNEYD_SECRET_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    let d = TestDaemon::start(dir.path(), &alerting_config(&[], &[hook]), &env).await;
    let page = capture
        .next(SOON)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    let body = page.json();
    assert_eq!(body["status"], "firing", "{body}");
    let labels = &body["alerts"][0]["labels"];
    assert_eq!(labels["journey"], "orders", "{body}");
    assert_eq!(labels["step"], "order shipped", "{body}");
    assert_eq!(labels["backend"], "fulfillment", "{body}");
    assert_eq!(labels["class"], "backend_timeout", "{body}");
    let ob = wait_obligation(&d, |o| o["state"] == "breached").await;
    // The breach is a failed run in the history with both polls as evidence.
    let run = d
        .get_json(&format!("/api/runs/{}", ob["id"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(run["verdict"], "fail", "{run}");
    let message = run["steps"][0]["failure"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(message.contains("obligation breached"), "{message}");
    assert!(
        message.contains("first poll") && message.contains("last poll"),
        "{message}"
    );
    // Exactly one page: nothing more while the journey stays as it is.
    assert!(
        capture
            .nothing_within(Duration::from_secs(3))
            .await
            .is_none(),
        "{}",
        d.logs()
    );
    assert!(seen.lock().unwrap().polls >= 2);
    // The cleanup held for the obligation ran after the breach.
    wait_until(SOON, async || {
        let n = seen.lock().unwrap().deleted.len();
        if n == 1 {
            Ok(())
        } else {
            Err(format!("{n} deleted"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    let text = d.metrics().await.unwrap();
    assert_eq!(
        metric(
            &text,
            "journeyd_obligations_finished_total",
            &[("state", "breached")]
        ),
        Some(1.0),
        "{text}"
    );
}
