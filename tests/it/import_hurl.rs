//! `journeyd import hurl` (issue 11 part 2): every file of the corpus in
//! `tests/data/hurl/` converts into a journey that passes `check`; those meant
//! to run pass `journeyd once` against a real server on 127.0.0.1:0 that
//! answers what the Hurl files expect; what is not converted is reported at
//! its position.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hurl")
}

fn journeyd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_journeyd"));
    c.args(args).env_remove("RUST_LOG");
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Imports `name.hurl` into `dir`, returning the command's output.
fn import(name: &str, dir: &Path) -> Output {
    let file = format!("tests/data/hurl/{name}.hurl");
    journeyd(&["import", "hurl", &file, "-o", &dir.display().to_string()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// What the corpus' `shop.hurl` and `forms.hurl` talk to. The order is
/// `pending` for its first two reads, so `retry` (as `eventually`) is needed.
async fn serve() -> String {
    let reads = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/api/products",
            get(|| async {
                axum::Json(serde_json::json!({ "items": [{ "id": 7, "name": "Green tea", "price": 4.5 }] }))
            }),
        )
        .route(
            "/api/orders",
            post(|body: axum::Json<serde_json::Value>| async move {
                let ok = body["product_id"] == 7 && body["note"] == "for bob";
                let status = if ok { StatusCode::CREATED } else { StatusCode::BAD_REQUEST };
                (status, [(header::LOCATION, "/api/orders/o-1")],
                 axum::Json(serde_json::json!({ "order_id": "o-1", "status": "pending" })))
            }),
        )
        .route(
            "/api/orders/o-1",
            get(|State(reads): State<Arc<AtomicUsize>>| async move {
                let status = if reads.fetch_add(1, Ordering::SeqCst) < 2 { "pending" } else { "paid" };
                axum::Json(serde_json::json!({ "order_id": "o-1", "status": status }))
            }),
        )
        .route(
            "/login",
            post(|headers: axum::http::HeaderMap, body: String| async move {
                let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
                if auth != Some("Basic bW9uaXRvcjpzM2NyZXQ=") || !body.contains("user=monitor") {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                (StatusCode::FOUND, [(header::LOCATION, "/home"), (header::SET_COOKIE, "session=abc")]).into_response()
            }),
        )
        .route("/home", get(|| async { "welcome user=42" }))
        .route(
            "/notes",
            post(|body: String| async move {
                let status = if body == "note for 42\nsecond line\n" { StatusCode::CREATED } else { StatusCode::BAD_REQUEST };
                (status, [(header::HeaderName::from_static("x-length"), body.len().to_string())], "saved")
            }),
        )
        .with_state(reads);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[test]
fn every_corpus_file_converts_into_a_journey_that_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "hurl") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let out = import(&name, dir.path());
            assert_ne!(out.status.code(), Some(2), "{name}: {}", text(&out));
            names.push(name);
        }
    }
    assert!(names.len() >= 3, "{names:?}");
    let out = journeyd(&["check", &dir.path().display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

async fn run(name: &str, vars: &[&str]) -> Output {
    let base = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let out = import(name, dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name} converts fully: {}",
        text(&out)
    );
    let file = dir.path().join(format!("{name}.yaml"));
    let mut c = journeyd(&[
        "once",
        &file.display().to_string(),
        "--var",
        &format!("base={base}"),
    ]);
    for v in vars {
        c.args(["--var", v]);
    }
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    drop(dir);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imported_journey_with_captures_json_and_retry_runs() {
    let out = run("shop", &["customer=bob"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imported_journey_with_forms_basic_auth_and_raw_bodies_runs() {
    let out = run("forms", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn unsupported_constructs_are_reported_at_their_position_and_kept_as_comments() {
    let dir = tempfile::tempdir().unwrap();
    let out = import("unsupported", dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let reported: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("wrote "))
        .collect();
    let f = "tests/data/hurl/unsupported.hurl";
    let want = [
        format!("{f}:3:1: section [Cookies] is not converted"),
        format!("{f}:4:1: inside a section that is not converted"),
        format!("{f}:6:1: option `insecure` is not converted"),
        format!(
            "{f}:7:1: only a positive `retry` count becomes `eventually` (an unbounded retry has no deadline)"
        ),
        format!("{f}:10:1: the `xpath` query is not converted"),
        format!("{f}:11:1: capture filters are not converted"),
        format!("{f}:13:1: `header ... !=` has no journey equivalent"),
        format!("{f}:14:1: the `xpath` query is not converted"),
        format!("{f}:15:1: this query and predicate have no journey equivalent"),
    ];
    assert_eq!(reported, want);
    let yaml = std::fs::read_to_string(dir.path().join("unsupported.yaml")).unwrap();
    for line in [
        "[Cookies]",
        "theme: dark",
        "insecure: true",
        "retry: -1",
        "xpath \"string(//title)\"",
        "nth 0",
        "!= \"nginx\"",
        "xpath \"//h1\" exists",
        "status >= 200",
    ] {
        assert!(
            yaml.lines()
                .any(|l| l.trim_start().starts_with("# not converted") && l.contains(line)),
            "{line} not kept:\n{yaml}"
        );
    }
}

/// The first fenced block with info string `info` in `markdown`.
fn block(markdown: &str, info: &str) -> String {
    let mut lines = markdown.lines().skip_while(|l| l.trim() != info).skip(1);
    let mut out = String::new();
    for line in lines.by_ref() {
        if line.trim() == "```" {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn the_example_in_docs_import_md_is_the_importer_output() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/import.md"))
        .unwrap();
    let hurl = block(&doc, "```hurl");
    let journey = block(&doc, "```yaml journey");
    assert!(
        hurl.contains("[Captures]") && hurl.contains("[Asserts]"),
        "{hurl}"
    );
    let imported = journeyd::import::hurl::import(Path::new("orders.hurl"), &hurl);
    assert!(
        imported.unconverted.is_empty(),
        "{:?}",
        imported.unconverted
    );
    assert_eq!(imported.yaml, journey, "docs/import.md is out of date");
}
