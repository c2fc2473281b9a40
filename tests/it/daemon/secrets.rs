//! Secrets never reach logs, the API, metrics, pages, the stored history,
//! `alerts.db` or what a receiver gets.

use base64::Engine as _;

use super::*;
use crate::util::alerting::{Capture, alerting_config};

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

/// The SQLite files (history and alert state/outbox) and their WALs, byte for byte.
fn store_bytes(state: &Path) -> Vec<(String, Vec<u8>)> {
    [
        "journeyd.db",
        "journeyd.db-wal",
        "alerts.db",
        "alerts.db-wal",
    ]
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

/// The forms a secret could leak in: raw, JSON-escaped once and twice,
/// URL-encoded (form and path style), base64.
fn forms(secret: &str) -> Vec<String> {
    let once = serde_json::to_string(secret).unwrap();
    let twice = serde_json::to_string(&once).unwrap();
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut all = vec![
        secret.to_string(),
        once.trim_matches('"').to_string(),
        twice.trim_matches('"').to_string(),
        form.clone(),
        form.replace('+', "%20"),
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    ];
    all.sort();
    all.dedup();
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_logs_api_metrics_or_history() {
    // Quotes, a backslash, `/`, `+`, a space and `&`: every escaped form differs.
    let password = format!("Pw\"q\\/+ &={}", uuid::Uuid::new_v4().simple());
    let admin_token = format!("Adm-{}", uuid::Uuid::new_v4().simple());
    let demo = Demo::start_with(DemoConfig {
        password: password.clone(),
        ..DemoConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &ALL, "2s");
    // A real receiver: the failing journeys below page it, with their evidence.
    let mut capture = Capture::start(0).await;
    let hook = format!(
        "{{name: hook, type: webhook, url: \"{}\"}}",
        capture.url("/hook")
    );
    let d = TestDaemon::start(
        dir.path(),
        &alerting_config(&[], &[hook]),
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

    // The receiver got the contract journey's page (a failing run's evidence),
    // not only a JourneyFlaky warning: its own, or the `auth` back-end's page that
    // names it (app-request fails at log-in too).
    let paged = async {
        loop {
            let r = capture.next(SOON).await?;
            let alert = &r.json()["alerts"][0];
            let failing = alert["labels"]["alertname"] == "JourneyFailing";
            let backend = alert["labels"]["alertname"] == "BackendFailing"
                && alert["annotations"]["journeys"]
                    .as_str()
                    .is_some_and(|j| j.contains("contract"));
            let firing = r.json()["status"] == "firing";
            let contract = r.webhook_status().1 == "contract";
            if firing && ((failing && contract) || backend) {
                return Ok::<_, String>(r);
            }
        }
    };
    let page = paged
        .await
        .unwrap_or_else(|e| panic!("contract was never paged: {e}\n{}", d.logs()));
    assert!(
        String::from_utf8_lossy(&page.body).contains("log in")
            || String::from_utf8_lossy(&page.body).contains("get a quote"),
        "the page names no failing step: {}",
        String::from_utf8_lossy(&page.body)
    );

    let mut exposed = everything_exposed(&d, &ALL).await;
    for r in capture.attempts() {
        let headers: Vec<String> = r
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        let body = String::from_utf8_lossy(&r.body);
        let text = format!("{}\n{}\n{body}", r.path, headers.join("\n"));
        exposed.push((format!("receiver {}", r.path), text));
    }
    let state = dir.path().join("state");
    let raw = store_bytes(&state);
    for file in ["journeyd.db", "alerts.db"] {
        assert!(
            raw.iter().any(|(f, _)| f == file),
            "no {file} in {}",
            state.display()
        );
    }
    let secret_forms: Vec<String> = forms(&password)
        .into_iter()
        .chain(forms(&admin_token))
        .collect();

    let token_like = regex::Regex::new(r"t-[0-9a-f]{16}").unwrap();
    let bytes_token_like = regex::bytes::Regex::new(r"t-[0-9a-f]{16}").unwrap();
    for (what, text) in &exposed {
        for form in &secret_forms {
            assert!(
                !text.contains(form),
                "{what}: secret form {form:?} leaked:\n{text}"
            );
        }
        assert!(
            !token_like.is_match(text),
            "{what}: bearer token leaked: {:?}",
            token_like.find(text)
        );
    }
    for (file, bytes) in &raw {
        for form in &secret_forms {
            assert!(
                !contains_bytes(bytes, form.as_bytes()),
                "{file}: secret form {form:?} stored"
            );
        }
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
