//! A secret the target echoes back in another form (escaped twice inside a
//! JSON string, base64, upper case) is still redacted from `once` output.

use std::process::Command;

use axum::Router;
use axum::routing::post;
use base64::Engine as _;

use crate::util::demo::root;

/// Contains `"` and `\` so each JSON escaping level changes it.
const SECRET: &str = r#"Qx7"quoted\back-Zz"#;

/// Answers `{"echo": "<request body as a JSON string>"}`: the body's JSON
/// string values arrive escaped twice.
async fn echo_server() -> String {
    let app = Router::new().route(
        "/echo",
        post(|body: String| async move { axum::Json(serde_json::json!({ "echo": body })) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

const JOURNEY: &str = r#"name: secret-forms
description: Sends a secret in several forms to an echo server and fails to show evidence.
interval: 60s
timeout: 20s
vars:
  base: "{{ env.ECHO_URL }}"
steps:
  - name: echo
    request:
      method: POST
      url: "{{ base }}/echo"
      json: { pw: "{{ secret.x }}", b64: "{{ secret.x | base64 }}", up: "{{ secret.x | upper }}" }
    expect: { status: 299 }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn echoed_secret_forms_never_appear_in_once_output() {
    let base = echo_server().await;
    let dir = tempfile::tempdir().unwrap();
    let journey = dir.path().join("secret-forms.yaml");
    std::fs::write(&journey, JOURNEY).unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    std::fs::write(secrets.join("x"), SECRET).unwrap();

    let mut c = Command::new(env!("CARGO_BIN_EXE_journeyd"));
    c.current_dir(root())
        .arg("once")
        .arg(&journey)
        .args(["--format", "json", "--secrets-dir"])
        .arg(&secrets)
        .env("ECHO_URL", &base)
        .env_remove("JOURNEYD_SECRETS_DIR")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env("RUST_LOG", "trace");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    // The response evidence is shown (redacted), so a leak would be visible.
    assert!(all.contains("echo"), "{all}");
    assert!(all.contains("***"), "{all}");
    let once = serde_json::to_string(SECRET).unwrap();
    let twice = serde_json::to_string(&once).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    for form in [
        SECRET.to_string(),
        once.trim_matches('"').to_string(),
        twice.trim_matches('"').to_string(),
        b64,
        SECRET.to_uppercase(),
    ] {
        assert!(!all.contains(&form), "secret form {form:?} leaked:\n{all}");
    }
    // Distinctive fragments of the secret are gone too.
    assert!(!all.contains("Qx7"), "{all}");
    assert!(!all.contains("QX7"), "{all}");
}
