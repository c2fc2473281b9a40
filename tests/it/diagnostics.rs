//! On-failure diagnostics end to end against a target on `127.0.0.1:0`: they are
//! sent only when a step fails, their results reach `once` (text and JSON), the
//! stored run, the run page and the alert, a diagnostic that times out or fails
//! changes neither the verdict nor the failed step, and a secret a diagnostic
//! sends (from a secret, from a secret capture) and the target echoes back never
//! shows anywhere.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::util::alerting::{Capture, SOON, alerting_config};
use crate::util::daemon::TestDaemon;
use crate::util::demo::root;
use crate::util::wait::wait_until;

/// Sent by a diagnostic in two headers; holds `"` and `\` so JSON escaping changes it.
const ADMIN_KEY: &str = r#"Adm"7Kq2\secret"#;
/// What `login` returns and the journey captures as a secret; sent in a diagnostic's URL.
const TOKEN: &str = "tok-9Zx4Wq-capture";

/// The target: a shop whose order never ships (unless `pass`), a back office that
/// echoes what it was sent, a queue that never answers and a status page that fails.
struct Target {
    pass: AtomicBool,
    /// Requests to the diagnostics' endpoints.
    diagnostic_hits: AtomicUsize,
}

async fn start_target() -> (String, Arc<Target>) {
    let t = Arc::new(Target {
        pass: AtomicBool::new(false),
        diagnostic_hits: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route(
            "/login",
            post(|| async { axum::Json(json!({ "token": TOKEN })) }),
        )
        .route("/order", get(order))
        .route("/backoffice/{id}", get(backoffice))
        .route("/queue", get(queue))
        .route("/status", get(status))
        .with_state(t.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), t)
}

async fn order(State(t): State<Arc<Target>>) -> axum::Json<Value> {
    let status = if t.pass.load(Ordering::SeqCst) {
        "shipped"
    } else {
        "paid"
    };
    axum::Json(json!({ "id": "o-42", "status": status }))
}

/// Echoes every header and the query, raw and inside a JSON string (escaped twice).
async fn backoffice(
    State(t): State<Arc<Target>>,
    UrlPath(id): UrlPath<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> axum::Json<Value> {
    t.diagnostic_hits.fetch_add(1, Ordering::SeqCst);
    let seen: Vec<String> = headers
        .iter()
        .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    let seen = json!({ "headers": seen, "query": query });
    axum::Json(json!({
        "order_id": id,
        "status": "stuck in fulfillment",
        "seen": seen,
        "seen_text": seen.to_string(),
    }))
}

async fn queue(State(t): State<Arc<Target>>) -> StatusCode {
    t.diagnostic_hits.fetch_add(1, Ordering::SeqCst);
    // Never answers: the diagnostic's own 200ms timeout must end it.
    std::future::pending::<()>().await;
    StatusCode::OK
}

async fn status(State(t): State<Arc<Target>>) -> (StatusCode, &'static str) {
    t.diagnostic_hits.fetch_add(1, Ordering::SeqCst);
    (StatusCode::INTERNAL_SERVER_ERROR, "status page broken")
}

const JOURNEY: &str = r#"name: diag
interval: 2s
timeout: 20s
vars:
  base: "{{ env.TARGET }}"
diagnostics:
  - name: back office order
    request:
      url: "{{ base }}/backoffice/{{ order_id }}"
      query: { t: "{{ token }}" }
      headers:
        x-admin-key: "{{ secret.admin_key }}"
        authorization: "Bearer {{ secret.admin_key }}"
    excerpt: "$.status"
  - name: refund queue
    request: { url: "{{ base }}/backoffice/{{ refund_id }}" }
steps:
  - name: login
    request: { method: POST, url: "{{ base }}/login" }
    capture: { token: { json: "$.token", secret: true } }
  - name: checkout
    request: { url: "{{ base }}/order" }
    capture: { order_id: { json: "$.id" } }
  - name: order ships
    backend: fulfillment
    request: { url: "{{ base }}/order" }
    expect: { json: { "$.status": shipped } }
    diagnostics:
      - name: queue depth
        request: { url: "{{ base }}/queue" }
        timeout: 200ms
      - name: status page
        request: { url: "{{ base }}/status" }
  - name: refund
    request: { url: "{{ base }}/order" }
    capture: { refund_id: { json: "$.id" } }
"#;

/// Every form of the secrets a leak could take.
fn secret_forms() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut forms = Vec::new();
    for s in [ADMIN_KEY, TOKEN] {
        let once = serde_json::to_string(s).unwrap();
        let twice = serde_json::to_string(&once).unwrap();
        forms.extend([
            s.to_string(),
            once.trim_matches('"').to_string(),
            twice.trim_matches('"').to_string(),
            b64.encode(s),
            s.to_uppercase(),
        ]);
    }
    // Distinctive fragments, whatever encoding surrounds them.
    forms.extend(["7Kq2".to_string(), "9Zx4Wq".to_string()]);
    forms
}

fn assert_no_secret(what: &str, text: &str) {
    for form in secret_forms() {
        assert!(
            !text.contains(&form),
            "{what}: secret form {form:?} leaked:\n{text}"
        );
    }
}

fn write_journey(dir: &Path) -> std::path::PathBuf {
    let journeys = dir.join("journeys");
    std::fs::create_dir_all(&journeys).unwrap();
    let file = journeys.join("diag.yaml");
    std::fs::write(&file, JOURNEY).unwrap();
    file
}

/// `journeyd once FILE [--format json]`: exit code and stdout + stderr.
async fn once(file: &Path, base: &str, json: bool) -> (Option<i32>, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_journeyd"));
    c.current_dir(root()).arg("once").arg(file);
    if json {
        c.args(["--format", "json"]);
    }
    c.env("TARGET", base)
        .env("JOURNEYD_SECRET_ADMIN_KEY", ADMIN_KEY)
        .env_remove("JOURNEYD_SECRETS_DIR")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env("RUST_LOG", "trace");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), stdout, stderr)
}

/// The failed step's diagnostics of a run, by name.
fn diagnostics(run: &Value) -> Vec<Value> {
    let failed = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["verdict"] == "fail")
        .unwrap_or_else(|| panic!("no failed step: {run:#}"));
    failed["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn by_name<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no diagnostic {name:?} in {list:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn diagnostics_run_only_on_failure_and_never_change_the_verdict() {
    let (base, target) = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_journey(dir.path());

    target.pass.store(true, Ordering::SeqCst);
    let (code, out, err) = once(&file, &base, true).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        target.diagnostic_hits.load(Ordering::SeqCst),
        0,
        "sent on a passing run"
    );
    assert!(!out.contains("diagnostics"), "{out}");

    target.pass.store(false, Ordering::SeqCst);
    let (code, out, err) = once(&file, &base, true).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert_no_secret("once --format json", &format!("{out}{err}"));
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["verdict"], "fail");
    let failed: Vec<&Value> = (run["steps"].as_array().unwrap().iter())
        .filter(|s| s["verdict"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{run:#}");
    assert_eq!(failed[0]["name"], "order ships");
    assert_eq!(failed[0]["failure"]["class"], "assertion", "{run:#}");
    let list = diagnostics(&run);
    // The step's own first, then the journey's, each once.
    let names: Vec<&str> = list.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "queue depth",
            "status page",
            "back office order",
            "refund queue"
        ]
    );
    let queue = by_name(&list, "queue depth");
    assert!(
        queue["error"].as_str().unwrap().starts_with("timeout"),
        "{queue:#}"
    );
    assert!(
        queue["duration_seconds"].as_f64().unwrap() < 5.0,
        "{queue:#}"
    );
    let status = by_name(&list, "status page");
    assert_eq!(status["status"], 500, "{status:#}");
    assert_eq!(status["excerpt"], "status page broken", "{status:#}");
    let office = by_name(&list, "back office order");
    assert_eq!(office["status"], 200, "{office:#}");
    assert_eq!(office["excerpt"], "\"stuck in fulfillment\"", "{office:#}");
    assert!(
        office["url"]
            .as_str()
            .unwrap()
            .contains("/backoffice/o-42?t=***"),
        "{office:#}"
    );
    assert!(
        office["body"].as_str().unwrap().contains("***"),
        "{office:#}"
    );
    let refund = by_name(&list, "refund queue");
    assert!(
        refund["skip_reason"]
            .as_str()
            .unwrap()
            .contains("`refund_id`"),
        "{refund:#}"
    );
    assert!(refund.get("status").is_none(), "{refund:#}");
    // Three were sent (the skipped one was not).
    assert_eq!(target.diagnostic_hits.load(Ordering::SeqCst), 3);

    let (code, text, err) = once(&file, &base, false).await;
    assert_eq!(code, Some(1), "{text}{err}");
    assert_no_secret("once text", &format!("{text}{err}"));
    for want in [
        "diagnostics (evidence only, not judged):",
        "back office order: 200 \"stuck in fulfillment\"",
        "queue depth: timeout",
        "status page: 500 status page broken",
        "refund queue: skipped (the run did not capture `refund_id`)",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    assert!(text.contains("FAIL diag at step \"order ships\""), "{text}");

    // `journeyd test` reports: the failed step's JUnit case lists them in its
    // system-out, the HTML report next to its evidence.
    let xml = test_report(dir.path(), &file, &base, "junit").await;
    assert!(
        xml.contains("diagnostic back office order: 200 &quot;stuck in fulfillment&quot;"),
        "{xml}"
    );
    let html = test_report(dir.path(), &file, &base, "html").await;
    assert!(html.contains("queue depth: timeout"), "{html}");
}

/// `journeyd test --format FORMAT --report FILE`, which must fail: the report, checked
/// for secrets.
async fn test_report(dir: &Path, file: &Path, base: &str, format: &str) -> String {
    let report = dir.join(format!("report.{format}"));
    let mut c = Command::new(env!("CARGO_BIN_EXE_journeyd"));
    c.current_dir(root())
        .args(["test", "--format", format, "--report"])
        .arg(&report)
        .arg(file)
        .env("TARGET", base)
        .env("JOURNEYD_SECRET_ADMIN_KEY", ADMIN_KEY)
        .env_remove("JOURNEYD_SECRETS_DIR")
        .env_remove("CREDENTIALS_DIRECTORY");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert_no_secret(format, &text);
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn diagnostics_reach_history_run_page_and_alert_without_secrets() {
    let (base, _target) = start_target().await;
    let mut hook = Capture::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    write_journey(dir.path());
    let receiver = format!(
        "{{name: hook, type: webhook, url: \"{}\"}}",
        hook.url("/hook")
    );
    let config = alerting_config(&[], &[receiver]);
    let env = [
        ("TARGET", base.as_str()),
        ("JOURNEYD_SECRET_ADMIN_KEY", ADMIN_KEY),
        ("JOURNEYD_SECRET_ADMIN_TOKEN", "diag-admin-token"),
    ];
    let d = TestDaemon::start(dir.path(), &config, &env).await;
    let firing = loop {
        let r = hook
            .next(SOON)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", d.logs()));
        if r.webhook_status().0 == "firing" {
            break r;
        }
    };
    let body = String::from_utf8_lossy(&firing.body).into_owned();
    assert_no_secret("webhook", &body);
    let alert = &firing.json()["alerts"][0];
    let note = alert["annotations"]["diagnostics"]
        .as_str()
        .unwrap_or_else(|| panic!("no diagnostics annotation: {alert:#}"));
    assert!(
        note.contains("back office order: 200 \"stuck in fulfillment\""),
        "{note}"
    );
    assert!(note.contains("queue depth: timeout"), "{note}");
    assert_eq!(alert["labels"]["step"], "order ships", "{alert:#}");

    let runs = wait_until(SOON, async || {
        let runs = d.get_json("/api/journeys/diag/runs?limit=1").await?;
        match runs.as_array().and_then(|a| a.first()) {
            Some(r) => Ok(r.clone()),
            None => Err(format!("no run yet: {runs}")),
        }
    })
    .await
    .unwrap();
    let id = runs["run_id"].as_str().unwrap();
    let (status, stored) = d.get(&format!("/api/runs/{id}")).await.unwrap();
    assert_eq!(status, 200, "{stored}");
    assert_no_secret("/api/runs", &stored);
    let run: Value = serde_json::from_str(&stored).unwrap();
    let list = diagnostics(&run);
    assert_eq!(
        by_name(&list, "back office order")["excerpt"],
        "\"stuck in fulfillment\""
    );

    let (status, page) = d.get(&format!("/runs/{id}")).await.unwrap();
    assert_eq!(status, 200);
    assert_no_secret("run page", &page);
    for want in [
        "back office order",
        "stuck in fulfillment",
        "queue depth",
        "timeout",
    ] {
        assert!(page.contains(want), "run page lacks {want:?}");
    }
    assert_no_secret("daemon logs", &d.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn shipped_purchase_journey_shows_the_back_office_view_of_a_stuck_order() {
    use crate::util::demo::{Demo, run_against, shipped_journey};
    let demo = Demo::start().await;
    let journey = shipped_journey("purchase");
    let run = run_against(&journey, &demo).await;
    assert_eq!(run.failed_step(), None, "{run:#?}");
    assert!(run.steps.iter().all(|s| s.diagnostics.is_empty()));

    demo.inject("fulfillment", "stuck").await;
    let run = run_against(&journey, &demo).await;
    let failed = run.failed_step().unwrap_or_else(|| panic!("{run:#?}"));
    assert_eq!(failed.name, "order ships");
    let office = &failed.diagnostics[0];
    assert_eq!(office.name, "back office order");
    assert_eq!(office.status, Some(200), "{office:#?}");
    let excerpt: Value = serde_json::from_str(office.excerpt.as_deref().unwrap()).unwrap();
    assert_eq!(excerpt["payment"], "done", "{excerpt}");
    assert_eq!(
        excerpt["fulfillment"], "in progress, worker stuck (injected fault)",
        "{excerpt}"
    );
    demo.restore("fulfillment").await;

    // A failure before checkout has no order to look at: the diagnostic says so.
    demo.inject("catalog", "error").await;
    let run = run_against(&journey, &demo).await;
    let failed = run.failed_step().unwrap_or_else(|| panic!("{run:#?}"));
    assert_eq!(failed.name, "list products");
    let skipped = &failed.diagnostics[0];
    assert_eq!(
        skipped.skip_reason.as_deref(),
        Some("the run did not capture `order_id`"),
        "{skipped:#?}"
    );
}
