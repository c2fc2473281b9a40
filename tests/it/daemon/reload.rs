//! Reload: a bad configuration keeps the old set, a good one applies.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_reload_keeps_the_old_set_and_a_good_one_applies() {
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &ALL, "2s");
    let d = TestDaemon::start(
        dir.path(),
        CONFIG,
        &daemon_env(&demo, DEMO_PASSWORD, ADMIN_TOKEN),
    )
    .await;
    wait_states(&d, &ALL, "passing").await;
    let reload_ok = |m: &str| {
        sample_value(
            m,
            "journeyd_config_last_reload_successful",
            &[("location", "test")],
        )
    };
    assert_eq!(reload_ok(&d.metrics().await.unwrap()), Some(1.0));

    let broken = dir.path().join("journeys/broken.yaml");
    std::fs::write(
        &broken,
        "name: typo\nsteps:\n  - name: home page\n    requst: { url: \"http://127.0.0.1:9/\" }\n",
    )
    .unwrap();
    d.signal("HUP");
    let at = "broken.yaml:4:5";
    let m = wait_until(SOON, async || {
        let m = d.metrics().await?;
        let logged = d.logs().contains(at);
        match reload_ok(&m) {
            Some(v) if v == 0.0 && logged => Ok(m),
            v => Err(format!("reload gauge {v:?}, {at} logged: {logged}")),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("bad reload not reported: {e}\n--- logs ---\n{}", d.logs()));
    // The old set keeps running.
    let names: BTreeSet<String> = d
        .get_json("/api/journeys")
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ALL.iter().map(|s| s.to_string()).collect());
    let counts: Vec<f64> = ALL.iter().map(|j| runs_total(&m, j)).collect();
    wait_until(SOON, async || {
        let m = d.metrics().await?;
        let now: Vec<f64> = ALL.iter().map(|j| runs_total(&m, j)).collect();
        if now.iter().zip(&counts).all(|(n, c)| n > c) {
            Ok(())
        } else {
            Err(format!("runs {now:?}, at the bad reload {counts:?}"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("journeys stopped after the bad reload: {e}"));
    // The API reload reports the same errors, with 422.
    let (status, body) = d.post("/-/reload", Some(ADMIN_TOKEN)).await.unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body.contains(at), "{body}");

    std::fs::remove_file(&broken).unwrap();
    std::fs::remove_file(dir.path().join("journeys/app-request.yaml")).unwrap();
    let (status, body) = d.post("/-/reload", None).await.unwrap();
    assert_eq!(status, 401, "no token: {body}");
    let (status, body) = d.post("/-/reload", Some("wrong-token")).await.unwrap();
    assert_eq!(status, 401, "wrong token: {body}");
    assert_eq!(
        reload_ok(&d.metrics().await.unwrap()),
        Some(0.0),
        "a refused request reloaded"
    );
    let (status, body) = d.post("/-/reload", Some(ADMIN_TOKEN)).await.unwrap();
    assert_eq!(status, 200, "{body}");

    let listed: Vec<String> = d
        .get_json("/api/journeys")
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ["contract", "purchase"]);
    let m = d.metrics().await.unwrap();
    assert!(
        !m.contains("journey=\"app-request\""),
        "app-request series left:\n{m}"
    );
    assert_eq!(reload_ok(&m), Some(1.0));
    // A run of app-request in flight at the reload must not bring its series back.
    let purchases = runs_total(&m, "purchase");
    let m = wait_until(SOON, async || {
        let m = d.metrics().await?;
        let n = runs_total(&m, "purchase");
        if n >= purchases + 2.0 {
            Ok(m)
        } else {
            Err(format!("{n} purchase runs"))
        }
    })
    .await
    .unwrap();
    assert!(
        !m.contains("journey=\"app-request\""),
        "app-request series came back:\n{m}"
    );
}
