//! The daemon's alert database on PostgreSQL (issue 8): with `store:
//! postgres`, alert state and the notification outbox live in the shared
//! tables (every replica sees them), and no `alerts.db` is created.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;

use crate::util::alerting::{Capture, SOON, alerting_config};
use crate::util::daemon::TestDaemon;
use crate::util::postgres::TestPostgres;
use crate::util::wait::wait_until;

/// A target on `127.0.0.1:0` that answers 500 to everything.
async fn broken_target() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(|| async { StatusCode::INTERNAL_SERVER_ERROR });
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_postgres_store_alert_state_and_the_outbox_are_in_postgres() {
    let pg = TestPostgres::start();
    let mut hook = Capture::start(0).await;
    let target = broken_target().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journeys")).unwrap();
    std::fs::write(
        dir.path().join("journeys/checkout.yaml"),
        format!(
            "name: checkout\ninterval: 2s\nsteps:\n  - name: pay\n    request: {{ url: \"http://{target}/pay\" }}\n    expect: {{ status: 200 }}\n"
        ),
    )
    .unwrap();
    let receiver = format!(
        "{{name: hook, type: webhook, url: \"{}\"}}",
        hook.url("/hook")
    );
    let config = format!(
        "{}store: {{ backend: postgres, url_secret: pg_url }}\n",
        alerting_config(&[], &[receiver])
    );
    let url = pg.url();
    let env = [
        ("JOURNEYD_SECRET_ADMIN_TOKEN", "alert-store-pg-token"),
        ("JOURNEYD_SECRET_PG_URL", url.as_str()),
    ];
    let d = TestDaemon::start(dir.path(), &config, &env).await;

    let page = match hook.next(SOON).await {
        Ok(page) => page,
        Err(e) => panic!("{e}; daemon log:\n{}", d.logs()),
    };
    assert_eq!(
        page.webhook_status(),
        ("firing".to_string(), "checkout".to_string())
    );
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let state: String = client
        .query_one(
            "SELECT state_json FROM alert_states WHERE journey = 'checkout'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        state.contains("firing") || state.contains("Firing"),
        "{state}"
    );
    // Delivered, so deleted from the shared outbox.
    wait_until(Duration::from_secs(30), async || {
        let n: i64 = client
            .query_one("SELECT count(*) FROM notifications", &[])
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        if n == 0 {
            Ok(())
        } else {
            Err(format!("{n} rows"))
        }
    })
    .await
    .unwrap();
    assert!(
        !dir.path().join("state/alerts.db").exists(),
        "alerts.db created though the store is PostgreSQL"
    );
    drop(d);
}
