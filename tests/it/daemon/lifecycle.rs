//! A stuck back-end turns the demo red and green again; SIGTERM drains.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn demo_goes_red_on_a_stuck_backend_and_green_again() {
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &ALL, "2s");
    let d = TestDaemon::start(
        dir.path(),
        CONFIG,
        &daemon_env(&demo, DEMO_PASSWORD, ADMIN_TOKEN),
    )
    .await;

    for path in ["/healthz", "/readyz"] {
        wait_until(SOON, async || match d.get(path).await? {
            (200, _) => Ok(()),
            (status, body) => Err(format!("{status} {body}")),
        })
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    wait_states(&d, &ALL, "passing").await;

    demo.inject("fulfillment", "stuck").await;
    let order_ships = [
        ("class", "backend_timeout"),
        ("journey", "purchase"),
        ("location", "test"),
        ("step", "order ships"),
    ];
    wait_until(SOON, async || {
        let j = d.journey("purchase").await?;
        let m = d.metrics().await?;
        let success = sample_value(
            &m,
            "journeyd_journey_success",
            &[("journey", "purchase"), ("location", "test")],
        );
        let failures = sample_value(&m, "journeyd_step_failures_total", &order_ships);
        let api_ok = j["state"] == "failing"
            && j["failing_step"] == "order ships"
            && j["failing_backend"] == "fulfillment"
            && j["failure_class"] == "backend_timeout";
        if api_ok && success == Some(0.0) && failures.is_some_and(|f| f > 0.0) {
            Ok(())
        } else {
            Err(format!(
                "{}; success={success:?} failures={failures:?}",
                state_of(&j)
            ))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("purchase never went red on the stuck fulfillment: {e}"));
    // Only purchase depends on fulfillment.
    for name in ["contract", "app-request"] {
        assert_eq!(d.journey(name).await.unwrap()["state"], "passing", "{name}");
    }

    demo.restore("fulfillment").await;
    wait_states(&d, &["purchase"], "passing").await;
    let m = d.metrics().await.unwrap();
    assert_eq!(
        sample_value(
            &m,
            "journeyd_journey_success",
            &[("journey", "purchase"), ("location", "test")]
        ),
        Some(1.0)
    );
    assert!(
        d.logs().contains("Journey recovered."),
        "no recovery logged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_a_running_journey_finish_with_its_cleanup() {
    let demo = Demo::start().await;
    // Each run polls the stuck shipment for its full 3 s, then cancels the order.
    demo.inject("fulfillment", "stuck").await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &["purchase"], "2s");
    let env = daemon_env(&demo, DEMO_PASSWORD, ADMIN_TOKEN);
    let mut d = TestDaemon::start(dir.path(), CONFIG, &env).await;
    wait_for_a_fresh_run(&d, "purchase").await;
    let sigterm_at = Utc::now();
    let sent = Instant::now();
    d.signal("TERM");
    let status = d.wait_exit(Duration::from_secs(30)).await;
    let took = sent.elapsed();
    let logs = d.logs();
    assert_eq!(status.code(), Some(0), "exit status {status}\n{logs}");
    assert!(
        took < Duration::from_secs(20),
        "exit took {took:?}, more than the grace"
    );
    assert!(
        !logs.contains("Runs still going at the end of the grace period"),
        "{logs}"
    );
    assert!(logs.contains("journeyd stopped."), "{logs}");
    drop(d);

    write_journeys(dir.path(), &["purchase"], "1h");
    let d = TestDaemon::start(dir.path(), &quiet_config(), &env).await;
    let runs = stored_runs(&d, "purchase").await.unwrap();
    let span = |r: &Value| {
        let started = started_at(r);
        let ms = (r["duration_seconds"].as_f64().unwrap() * 1000.0) as i64;
        (started, started + chrono::Duration::milliseconds(ms))
    };
    let context = || {
        format!(
            "--- before the restart ---\n{}\n--- after ---\n{}",
            key_lines(&logs),
            key_lines(&d.logs())
        )
    };
    // The run going at SIGTERM finished, cleanup included.
    let in_flight = runs
        .iter()
        .find(|r| {
            let (started, ended) = span(r);
            started < sigterm_at && ended > sigterm_at
        })
        .unwrap_or_else(|| {
            panic!(
                "no stored run was in progress at SIGTERM ({sigterm_at}): {runs:?}\n{}",
                context()
            )
        });
    let run = d
        .get_json(&format!(
            "/api/runs/{}",
            in_flight["run_id"].as_str().unwrap()
        ))
        .await
        .unwrap();
    assert_eq!(run["steps"][5]["name"], "order ships");
    assert_eq!(
        run["steps"][5]["failure"]["class"], "backend_timeout",
        "the run was cut short: {run}"
    );
    assert_eq!(run["cleanup"][0]["name"], "cancel order", "{run}");
    assert_eq!(
        run["cleanup"][0]["verdict"], "pass",
        "cleanup did not run: {run}"
    );
    // Nothing new starts once SIGTERM has arrived (not even a confirmation re-run).
    let late: Vec<String> = runs
        .iter()
        .filter(|r| span(r).0 > sigterm_at)
        .map(|r| format!("{} started {}", r["run_id"], r["started_at"]))
        .collect();
    assert!(
        late.is_empty(),
        "runs started after SIGTERM ({sigterm_at}): {late:?}\n{}",
        context()
    );
}
