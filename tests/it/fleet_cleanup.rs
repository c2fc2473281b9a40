//! Owed cleanup in a fleet (issue 8): a replica `kill -9`ed while its run is
//! parked after creating an order leaves the cleanup in PostgreSQL, and the
//! replica that takes the journey over runs it against the target. Two real
//! `journeyd run` processes, one location, one real PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post};

use crate::util::daemon::TestDaemon;
use crate::util::postgres::TestPostgres;
use crate::util::wait::wait_until;

/// What the target saw.
#[derive(Default)]
struct Seen {
    created: usize,
    /// `(order, replica whose journey definition sent the DELETE)`.
    deleted: Vec<(String, String)>,
    /// Replicas whose run is parked at `/hang`.
    hanging: Vec<String>,
}

type Shared = Arc<Mutex<Seen>>;

async fn target() -> (String, Shared) {
    let seen = Shared::default();
    let app = Router::new()
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
            "/orders/{id}/{replica}",
            delete(
                async |State(s): State<Shared>, Path((id, r)): Path<(String, String)>| {
                    s.lock().unwrap().deleted.push((id, r));
                    axum::http::StatusCode::NO_CONTENT
                },
            ),
        )
        .route(
            "/hang/{replica}",
            get(async |State(s): State<Shared>, Path(r): Path<String>| {
                s.lock().unwrap().hanging.push(r);
                std::future::pending::<()>().await;
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

async fn replica(root: &std::path::Path, id: &str, base: &str, url: &str) -> TestDaemon {
    let dir = root.join(id);
    std::fs::create_dir_all(dir.join("journeys")).unwrap();
    let journey = format!(
        r#"
name: orders
interval: 2s
timeout: 120s
steps:
  - name: create order
    request: {{ method: POST, url: "{base}/orders" }}
    expect: {{ status: 201 }}
    capture: {{ order_id: {{ json: "$.id" }} }}
  - name: wait
    request: {{ url: "{base}/hang/{id}", timeout: 100s }}
    expect: {{ status: 200 }}
cleanup:
  - name: delete order
    request: {{ method: DELETE, url: "{base}/orders/{{{{ order_id }}}}/{id}" }}
    expect: {{ status: [200, 204] }}
"#
    );
    std::fs::write(dir.join("journeys/orders.yaml"), journey).unwrap();
    let config = "listen: 127.0.0.1:0\njourneys: [journeys]\nstate_dir: state\n\
         shutdown_grace: 1s\nstore: { backend: postgres, url_secret: pg_url }\n"
        .to_string()
        + &format!("fleet: {{ location: eu, replica: {id}, lease_ttl: 2s }}\n");
    TestDaemon::start(&dir, &config, &[("JOURNEYD_SECRET_PG_URL", url)]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_replicas_owed_cleanup_is_run_by_the_new_owner() {
    let pg = TestPostgres::start();
    let (base, seen) = target().await;
    let root = tempfile::tempdir().unwrap();
    let mut daemons = [
        replica(root.path(), "r1", &base, &pg.url()).await,
        replica(root.path(), "r2", &base, &pg.url()).await,
    ];
    // One run is parked at `/hang`: order o-1 exists, its cleanup is owed.
    let owner = wait_until(Duration::from_secs(30), async || {
        let s = seen.lock().unwrap();
        match (s.created, s.hanging.first()) {
            (1, Some(r)) => Ok(r.clone()),
            _ => Err(format!("created {} hanging {:?}", s.created, s.hanging)),
        }
    })
    .await
    .unwrap();
    let (killed, survivor) = if owner == "r1" { (0, "r2") } else { (1, "r1") };
    daemons[killed].kill9();
    assert!(seen.lock().unwrap().deleted.is_empty());
    // The survivor takes the journey (lease TTL), sees r1's heartbeat age past
    // the TTL, and its next cleanup pass deletes the order.
    let deleted = wait_until(Duration::from_secs(60), async || {
        let s = seen.lock().unwrap();
        match s.deleted.iter().find(|(id, _)| id == "o-1") {
            Some(d) => Ok(d.clone()),
            None => Err(format!("deleted {:?}", s.deleted)),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", daemons[1 - killed].logs()));
    assert_eq!(deleted, ("o-1".to_string(), survivor.to_string()));
    // Deleted once: the killed run never came back to it.
    let twice = seen
        .lock()
        .unwrap()
        .deleted
        .iter()
        .filter(|(id, _)| id == "o-1")
        .count();
    assert_eq!(twice, 1);
}
