//! History, states and the store across a restart and a `kill -9`.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn history_and_states_survive_a_restart() {
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &ALL, "2s");
    let env = daemon_env(&demo, DEMO_PASSWORD, ADMIN_TOKEN);
    let mut d = TestDaemon::start(dir.path(), CONFIG, &env).await;
    // Purchase fails from the start, so a restored state is not just "passing by default".
    demo.inject("fulfillment", "stuck").await;
    for name in ALL {
        wait_until(SOON, async || {
            let n = stored_runs(&d, name).await?.len();
            if n >= 2 {
                Ok(())
            } else {
                Err(format!("{name}: {n} runs stored"))
            }
        })
        .await
        .unwrap();
    }
    let before = d.get_json("/api/journeys").await.unwrap();
    let sigterm_at = Utc::now();
    d.signal("TERM");
    let status = d.wait_exit(Duration::from_secs(30)).await;
    let first_logs = d.logs();
    assert_eq!(status.code(), Some(0), "exit status {status}\n{first_logs}");
    drop(d);

    write_journeys(dir.path(), &ALL, "1h");
    let d = TestDaemon::start(dir.path(), &quiet_config(), &env).await;
    let after = d.get_json("/api/journeys").await.unwrap();
    for name in ALL {
        let find = |all: &Value| {
            all.as_array()
                .unwrap()
                .iter()
                .find(|j| j["name"] == name)
                .cloned()
                .unwrap()
        };
        let (b, a) = (find(&before), find(&after));
        let (b_run, a_run) = (&b["last_run"], &a["last_run"]);
        assert!(
            a_run.is_object(),
            "{name}: no last run after the restart: {a}"
        );
        assert_eq!(a["running"], false, "{name}: {a}");
        if a_run["run_id"] == b_run["run_id"] {
            assert_eq!(a["state"], b["state"], "{name}");
            for field in [
                "verdict",
                "failed_step",
                "failed_backend",
                "failure_class",
                "failure_message",
            ] {
                assert_eq!(a_run[field], b_run[field], "{name}: last_run.{field}");
            }
            // The store keeps milliseconds.
            let skew = (started_at(a_run) - started_at(b_run))
                .num_milliseconds()
                .abs();
            assert!(
                skew <= 1,
                "{name}: started_at {} vs {}",
                a_run["started_at"],
                b_run["started_at"]
            );
        } else {
            // A run that was going at SIGTERM finished during the grace period.
            assert!(
                started_at(a_run) > started_at(b_run) && started_at(a_run) < sigterm_at,
                "{name}: the last run after the restart is neither the last one before SIGTERM \
                 ({sigterm_at}) nor one in flight then (a run started during shutdown?):\n\
                 after: {a_run}\nbefore: {b_run}\n{}",
                key_lines(&first_logs)
            );
        }
        let expected_state = if a_run["verdict"] == "fail" {
            "failing"
        } else {
            "passing"
        };
        assert_eq!(a["state"], expected_state, "{name}: {a}");
        if !b["last_success"].is_null() {
            assert!(
                !a["last_success"].is_null(),
                "{name}: last_success lost: {a}"
            );
        }
    }
    assert_eq!(
        after
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["name"] == "purchase")
            .unwrap()["state"],
        "failing"
    );

    let runs = stored_runs(&d, "purchase").await.unwrap();
    assert!(runs.len() >= 2, "{runs:?}");
    let newest = &runs[0];
    let run = d
        .get_json(&format!("/api/runs/{}", newest["run_id"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(run["run_id"], newest["run_id"]);
    assert_eq!(run["journey"], "purchase");
    let steps: Vec<&str> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "list products",
            "open cart",
            "add to cart",
            "checkout",
            "payment captured",
            "order ships",
            "order complete"
        ]
    );
    let ships = &run["steps"][5];
    assert_eq!(ships["verdict"], "fail", "{ships}");
    assert_eq!(ships["failure"]["class"], "backend_timeout", "{ships}");
    assert_eq!(run["cleanup"][0]["name"], "cancel order");

    // Nothing ran after the restart: the newest stored run is still the last one shown.
    let again = stored_runs(&d, "purchase").await.unwrap();
    assert_eq!(again.len(), runs.len(), "a run happened after the restart");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_run_leaves_a_usable_store() {
    let demo = Demo::start().await;
    demo.inject("fulfillment", "stuck").await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &ALL, "2s");
    let env = daemon_env(&demo, DEMO_PASSWORD, ADMIN_TOKEN);
    let mut d = TestDaemon::start(dir.path(), CONFIG, &env).await;
    for name in ALL {
        wait_until(SOON, async || {
            let n = stored_runs(&d, name).await?.len();
            if n >= 1 {
                Ok(())
            } else {
                Err(format!("{name}: no run stored"))
            }
        })
        .await
        .unwrap();
    }
    // A purchase run that just started is polling the stuck shipment for 3 s.
    wait_for_a_fresh_run(&d, "purchase").await;
    let mut earlier = Vec::new();
    for name in ALL {
        earlier.extend(stored_runs(&d, name).await.unwrap());
    }
    let status = d.kill9();
    assert_eq!(
        status.code(),
        None,
        "SIGKILL must end it by signal: {status}"
    );
    drop(d);

    let db = dir.path().join("state/journeyd.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let stored: i64 = conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert!(
            stored as usize >= earlier.len(),
            "{stored} runs in the file, {} seen before",
            earlier.len()
        );
    }

    write_journeys(dir.path(), &ALL, "1h");
    let d = TestDaemon::start(dir.path(), &quiet_config(), &env).await;
    for summary in &earlier {
        let id = summary["run_id"].as_str().unwrap();
        let run = d.get_json(&format!("/api/runs/{id}")).await.unwrap();
        assert_eq!(run["run_id"], id);
        assert_eq!(run["journey"], summary["journey"]);
        assert_eq!(run["verdict"], summary["verdict"]);
    }
    let purchase = d.journey("purchase").await.unwrap();
    assert_eq!(purchase["state"], "failing", "{purchase}");
    for name in ["contract", "app-request"] {
        assert_eq!(d.journey(name).await.unwrap()["state"], "passing");
    }
}
