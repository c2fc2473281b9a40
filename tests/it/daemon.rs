//! `journeyd run` end to end: the real binary watching the in-process demo
//! company through the shipped journeys (test-sized timings), observed only
//! through its HTTP API, `/metrics`, its logs and its SQLite file.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use journeyd::demo::DemoConfig;
use serde_json::Value;

use crate::util::daemon::{
    CONFIG, TestDaemon, daemon_env, quiet_config, sample_value, write_journeys,
};
use crate::util::demo::Demo;
use crate::util::wait::wait_until;

const ALL: [&str; 3] = ["app-request", "contract", "purchase"];
const DEMO_PASSWORD: &str = "demo-password";
const ADMIN_TOKEN: &str = "test-admin-token-4b1d";
/// Generous upper bounds: runs every 2 s, `within: 3s`, a debug build on 2 shared cores.
const SOON: Duration = Duration::from_secs(60);

fn state_of(j: &Value) -> String {
    format!(
        "{}: state={} running={} failing_step={} backend={} class={}",
        j["name"],
        j["state"],
        j["running"],
        j["failing_step"],
        j["failing_backend"],
        j["failure_class"]
    )
}

/// Waits until every journey in `names` has `state`; returns the journeys.
async fn wait_states(d: &TestDaemon, names: &[&str], state: &str) -> Vec<Value> {
    wait_until(SOON, async || {
        let all = d.get_json("/api/journeys").await?;
        let list = all.as_array().ok_or("not a list")?;
        let wanted: Vec<Value> = list
            .iter()
            .filter(|j| names.iter().any(|n| j["name"] == *n))
            .cloned()
            .collect();
        if wanted.len() == names.len() && wanted.iter().all(|j| j["state"] == state) {
            Ok(wanted)
        } else {
            Err(list.iter().map(state_of).collect::<Vec<_>>().join("; "))
        }
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "waiting for {names:?} to be {state}: {e}\n--- logs ---\n{}",
            d.logs()
        )
    })
}

/// Finished runs of a journey: the sum of `journeyd_journey_runs_total` over results.
fn runs_total(metrics: &str, journey: &str) -> f64 {
    ["pass", "fail"]
        .iter()
        .filter_map(|r| {
            sample_value(
                metrics,
                "journeyd_journey_runs_total",
                &[("journey", journey), ("location", "test"), ("result", r)],
            )
        })
        .sum()
}

/// Run ids stored for a journey, newest first.
async fn stored_runs(d: &TestDaemon, journey: &str) -> Result<Vec<Value>, String> {
    let runs = d
        .get_json(&format!("/api/journeys/{journey}/runs?limit=500"))
        .await?;
    runs.as_array()
        .cloned()
        .ok_or_else(|| format!("not a list: {runs}"))
}

/// Waits for a run of `journey` that starts after this call: running goes false, then true.
async fn wait_for_a_fresh_run(d: &TestDaemon, journey: &str) {
    for want in [false, true] {
        wait_until(SOON, async || {
            let j = d.journey(journey).await?;
            if j["running"] == want {
                Ok(())
            } else {
                Err(state_of(&j))
            }
        })
        .await
        .unwrap_or_else(|e| panic!("waiting for {journey} running={want}: {e}"));
    }
}

/// The lifecycle and run lines of a daemon's log, for failure messages.
fn key_lines(logs: &str) -> String {
    logs.lines()
        .filter(|l| {
            [
                "journeyd st",
                "Shutting",
                "Journey",
                "Run ",
                "Runs ",
                "Re-running",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn started_at(run: &Value) -> DateTime<Utc> {
    run["started_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no started_at in {run}"))
}

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

/// Everything a secret could leak into, as text.
async fn everything_exposed(d: &TestDaemon, names: &[&str]) -> Vec<(String, String)> {
    let mut out = vec![("logs".to_string(), d.logs())];
    for path in ["/metrics", "/api/journeys", "/"] {
        out.push((path.to_string(), d.get(path).await.unwrap().1));
    }
    for name in names {
        for path in [
            format!("/api/journeys/{name}"),
            format!("/api/journeys/{name}/runs?limit=500"),
        ] {
            out.push((path.clone(), d.get(&path).await.unwrap().1));
        }
        for run in stored_runs(d, name).await.unwrap() {
            let id = run["run_id"].as_str().unwrap();
            for path in [format!("/api/runs/{id}"), format!("/runs/{id}")] {
                let (status, body) = d.get(&path).await.unwrap();
                assert_eq!(status, 200, "{path}: {body}");
                out.push((path, body));
            }
        }
    }
    out
}

/// The SQLite file and its WAL, byte for byte.
fn store_bytes(state: &Path) -> Vec<(String, Vec<u8>)> {
    ["journeyd.db", "journeyd.db-wal"]
        .iter()
        .filter_map(|f| {
            std::fs::read(state.join(f))
                .ok()
                .map(|b| (f.to_string(), b))
        })
        .collect()
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_logs_api_metrics_or_history() {
    let password = format!("Pw-{}", uuid::Uuid::new_v4().simple());
    let admin_token = format!("Adm-{}", uuid::Uuid::new_v4().simple());
    let demo = Demo::start_with(DemoConfig {
        password: password.clone(),
        ..DemoConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &ALL, "2s");
    let d = TestDaemon::start(
        dir.path(),
        CONFIG,
        &daemon_env(&demo, &password, &admin_token),
    )
    .await;
    wait_states(&d, &ALL, "passing").await;
    // The admin token passes through the server, right and wrong.
    assert_eq!(
        d.post("/-/reload", Some(&admin_token)).await.unwrap().0,
        200
    );
    assert_eq!(
        d.post("/-/reload", Some(&format!("{admin_token}x")))
            .await
            .unwrap()
            .0,
        401
    );

    // A failure after log-in: its evidence carries the bearer token header.
    demo.inject("contracts", "error").await;
    let failing_at = async |step: &str| {
        wait_until(SOON, async || {
            let j = d.journey("contract").await?;
            if j["state"] == "failing" && j["failing_step"] == step {
                Ok(())
            } else {
                Err(state_of(&j))
            }
        })
        .await
        .unwrap_or_else(|e| panic!("contract never failed at {step}: {e}"));
    };
    failing_at("get a quote").await;
    demo.restore("contracts").await;
    // A failing log-in: its evidence carries the password in the request body.
    demo.inject("auth", "error").await;
    failing_at("log in").await;
    wait_states(&d, &["app-request"], "failing").await;

    let exposed = everything_exposed(&d, &ALL).await;
    let state = dir.path().join("state");
    let raw = store_bytes(&state);
    assert!(
        raw.iter().any(|(f, _)| f == "journeyd.db"),
        "no store file in {}",
        state.display()
    );

    let token_like = regex::Regex::new(r"t-[0-9a-f]{16}").unwrap();
    let bytes_token_like = regex::bytes::Regex::new(r"t-[0-9a-f]{16}").unwrap();
    for (what, text) in &exposed {
        assert!(
            !text.contains(&password),
            "{what}: password leaked:\n{text}"
        );
        assert!(
            !text.contains(&admin_token),
            "{what}: admin token leaked:\n{text}"
        );
        assert!(
            !token_like.is_match(text),
            "{what}: bearer token leaked: {:?}",
            token_like.find(text)
        );
    }
    for (file, bytes) in &raw {
        assert!(
            !contains_bytes(bytes, password.as_bytes()),
            "{file}: password stored"
        );
        assert!(
            !contains_bytes(bytes, admin_token.as_bytes()),
            "{file}: admin token stored"
        );
        assert!(
            !bytes_token_like.is_match(bytes),
            "{file}: bearer token stored"
        );
    }

    // The searches covered real evidence: the failing requests, redacted.
    let runs: Vec<Value> = exposed
        .iter()
        .filter(|(what, _)| what.starts_with("/api/runs/"))
        .map(|(_, text)| serde_json::from_str(text).unwrap())
        .collect();
    let failed_at = |step: usize| {
        runs.iter()
            .find(|r| r["journey"] == "contract" && r["steps"][step]["verdict"] == "fail")
            .unwrap_or_else(|| panic!("no stored contract run failing at step {step}"))
    };
    let login = &failed_at(0)["steps"][0]["evidence"]["request"];
    let body = login["body"].as_str().unwrap_or_default();
    assert!(
        body.contains("\"password\"") && body.contains("***"),
        "log-in body not redacted: {login}"
    );
    let quote = &failed_at(1)["steps"][1]["evidence"]["request"];
    let auth = quote["headers"]
        .as_array()
        .and_then(|h| {
            h.iter().find(|kv| {
                kv[0]
                    .as_str()
                    .is_some_and(|k| k.eq_ignore_ascii_case("authorization"))
            })
        })
        .unwrap_or_else(|| panic!("no authorization header in the evidence: {quote}"));
    assert_eq!(auth[1], "***", "{auth}");
}
