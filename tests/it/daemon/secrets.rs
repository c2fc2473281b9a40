//! Secrets never reach logs, the API, metrics, pages or the stored history.

use super::*;

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
