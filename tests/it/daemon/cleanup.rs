//! Crash-safe cleanup: a run `kill -9`ed after it created an order leaves its
//! cleanup in the history file, and the next start runs it against the target.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::routing::{delete, get, post};

use super::*;

/// What the target saw: orders created, deleted, and requests parked at `/hang`.
#[derive(Default)]
struct Seen {
    created: usize,
    deleted: Vec<String>,
    hanging: usize,
    /// Answer DELETE with 500 (the cleanup request fails).
    refuse_deletes: bool,
    /// Session tokens handed out by `POST /login`.
    logins: usize,
    /// The `authorization` header of each DELETE.
    delete_auth: Vec<String>,
}

/// The session token of the `n`th log-in (secret, like the shipped journeys' tokens).
fn token(n: usize) -> String {
    format!("t-{n:016x}")
}

type Shared = Arc<Mutex<Seen>>;

/// A target on `127.0.0.1:0`: `POST /orders` creates `o-N`, `DELETE /orders/{id}`
/// deletes it, `GET /hang` never answers (the run is still going when killed).
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
                (
                    axum::http::StatusCode::CREATED,
                    axum::Json(serde_json::json!({ "id": format!("o-{}", s.created) })),
                )
            }),
        )
        .route(
            "/orders/{id}",
            delete(
                async |State(s): State<Shared>,
                       headers: axum::http::HeaderMap,
                       UrlPath(id): UrlPath<String>| {
                    let mut s = s.lock().unwrap();
                    s.deleted.push(id);
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                    s.delete_auth.push(auth.unwrap_or("").to_string());
                    if s.refuse_deletes {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::NO_CONTENT
                    }
                },
            ),
        )
        .route(
            "/hang",
            get(async |State(s): State<Shared>| {
                s.lock().unwrap().hanging += 1;
                std::future::pending::<()>().await;
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

const ORDERS: &str = r#"
name: orders
interval: 1h
timeout: 120s
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
  - name: wait
    request: { url: "{{ base }}/hang", timeout: 100s }
    expect: { status: 200 }
cleanup:
  - name: delete order
    request:
      method: DELETE
      url: "{{ base }}/orders/{{ order_id }}"
      headers: { authorization: "Bearer {{ token }}" }
    expect: { status: [200, 204] }
"#;

fn pending_rows(dir: &Path) -> i64 {
    let db = rusqlite::Connection::open(dir.join("state/journeyd.db")).unwrap();
    db.query_row("SELECT count(*) FROM pending_cleanup", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_of_a_killed_run_reaches_the_target_after_restart() {
    let (base, seen) = target().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journeys")).unwrap();
    std::fs::write(dir.path().join("journeys/orders.yaml"), ORDERS).unwrap();
    let env = [
        ("TARGET_URL", base.as_str()),
        ("JOURNEYD_SECRET_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    let mut d = TestDaemon::start(dir.path(), CONFIG, &env).await;
    // The run is parked at `/hang`: the order exists and its cleanup was recorded.
    wait_until(SOON, async || {
        let s = seen.lock().unwrap();
        if s.created == 1 && s.hanging == 1 {
            Ok(())
        } else {
            Err(format!("created {} hanging {}", s.created, s.hanging))
        }
    })
    .await
    .unwrap();
    d.kill9();
    assert!(seen.lock().unwrap().deleted.is_empty());
    assert_eq!(pending_rows(dir.path()), 1, "{}", d.logs());
    drop(d);

    // No new run soon: only the left-behind cleanup talks to the target.
    let d = TestDaemon::start(dir.path(), &quiet_config(), &env).await;
    wait_until(SOON, async || {
        let deleted = seen.lock().unwrap().deleted.clone();
        let rows = pending_rows(dir.path());
        if !deleted.is_empty() && rows == 0 {
            Ok(())
        } else {
            Err(format!("deleted {deleted:?}, {rows} rows pending"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.deleted, ["o-1"], "{}", d.logs());
        assert_eq!(s.created, 1);
        // The token was not stored: the retry logged in again and sent the new one.
        assert_eq!(s.logins, 2);
        assert_eq!(s.delete_auth, [format!("Bearer {}", token(2))]);
    }
    let db = std::fs::read(dir.path().join("state/journeyd.db")).unwrap();
    let wal = std::fs::read(dir.path().join("state/journeyd.db-wal")).unwrap_or_default();
    for t in [token(1), token(2)] {
        let stored = |b: &[u8]| b.windows(t.len()).any(|w| w == t.as_bytes());
        assert!(!stored(&db) && !stored(&wal), "token {t} stored");
    }
    let metrics = d.metrics().await.unwrap();
    wait_until(SOON, async || {
        let text = d.metrics().await?;
        match sample_value(&text, "journeyd_cleanup_pending", &[("location", "test")]) {
            Some(0.0) => Ok(()),
            other => Err(format!("journeyd_cleanup_pending {other:?}")),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{metrics}"));
}

/// The cleanup reads a secret capture (the session token): it is never stored,
/// and the API and the status page show the owed step, never a value.
const SECRET_ORDERS: &str = r#"
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
cleanup:
  - name: delete order
    request:
      method: DELETE
      url: "{{ base }}/orders/{{ order_id }}"
      headers: { authorization: "Bearer {{ token }}" }
    expect: { status: [200, 204] }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_cleanup_request_stays_owed_and_is_shown_without_its_values() {
    let (base, seen) = target().await;
    seen.lock().unwrap().refuse_deletes = true;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journeys")).unwrap();
    std::fs::write(dir.path().join("journeys/orders.yaml"), SECRET_ORDERS).unwrap();
    let env = [
        ("TARGET_URL", base.as_str()),
        ("JOURNEYD_SECRET_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    let d = TestDaemon::start(dir.path(), CONFIG, &env).await;
    let api = wait_until(SOON, async || {
        let v = d.get_json("/api/cleanups").await?;
        let n = v["pending"].as_array().map_or(0, Vec::len);
        if n == 1 && v["pending"][0]["live"] == false {
            Ok(v)
        } else {
            Err(v.to_string())
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
    assert_eq!(seen.lock().unwrap().deleted, ["o-1"]);
    assert_eq!(
        seen.lock().unwrap().delete_auth,
        [format!("Bearer {}", token(1))]
    );
    let owed = &api["pending"][0];
    assert_eq!(owed["journey"], "orders");
    assert_eq!(owed["steps"], serde_json::json!(["delete order"]));
    let (status, page) = d.get("/").await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("Cleanup owed"), "{page}");
    assert!(page.contains("1 pending"), "{page}");
    for (what, text) in [("API", api.to_string()), ("page", page), ("logs", d.logs())] {
        assert!(!text.contains(&token(1)), "{what} shows the token: {text}");
    }
    let text = d.metrics().await.unwrap();
    assert_eq!(
        sample_value(&text, "journeyd_cleanup_pending", &[("location", "test")]),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_of_a_run_cut_by_the_shutdown_grace_runs_at_the_next_start() {
    let (base, seen) = target().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journeys")).unwrap();
    std::fs::write(dir.path().join("journeys/orders.yaml"), ORDERS).unwrap();
    let env = [
        ("TARGET_URL", base.as_str()),
        ("JOURNEYD_SECRET_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    let short_grace = CONFIG.replace("shutdown_grace: 20s", "shutdown_grace: 1s");
    let mut d = TestDaemon::start(dir.path(), &short_grace, &env).await;
    wait_until(SOON, async || {
        let s = seen.lock().unwrap();
        if s.hanging == 1 {
            Ok(())
        } else {
            Err(format!("created {} hanging {}", s.created, s.hanging))
        }
    })
    .await
    .unwrap();
    // The run hangs longer than the grace: it is cut, and its cleanup never ran.
    d.signal("TERM");
    let status = d.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{}", d.logs());
    assert!(seen.lock().unwrap().deleted.is_empty(), "{}", d.logs());
    assert_eq!(pending_rows(dir.path()), 1, "{}", d.logs());
    drop(d);

    let d = TestDaemon::start(dir.path(), &quiet_config(), &env).await;
    wait_until(SOON, async || {
        let rows = pending_rows(dir.path());
        let deleted = seen.lock().unwrap().deleted.clone();
        if rows == 0 && deleted == ["o-1"] {
            Ok(())
        } else {
            Err(format!("deleted {deleted:?}, {rows} rows pending"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
}
