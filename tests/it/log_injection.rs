//! Log injection (issue 12, defect 7): a target's body echoed in a failure
//! message must not forge a line in the daemon's plain log.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use crate::util::daemon::CONFIG;
use crate::util::wait::wait_until;

const FORGED: &str = "2026-11-30T20:00:00.000000Z ERROR journeyd: FORGED all journeys stopped";

#[tokio::test]
async fn a_body_with_a_newline_does_not_forge_a_plain_log_line() {
    let body = format!("oops\n{FORGED}\r\n{FORGED}");
    let app = Router::new().route(
        "/",
        get(move || {
            let body = body.clone();
            async move { (StatusCode::OK, body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journeys")).unwrap();
    std::fs::write(
        dir.path().join("journeys/echo.yaml"),
        format!("name: echo\ninterval: 1s\nsteps:\n  - name: home\n    request: {{ url: \"http://{addr}/\" }}\n    expect: {{ body: {{ contains: fine }} }}\n"),
    )
    .unwrap();
    let config = dir.path().join("journeyd.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_journeyd"))
        .current_dir(dir.path())
        .args(["run", "--config"])
        .arg(&config)
        .args(["--log-format", "plain"])
        .env("JOURNEYD_SECRET_ADMIN_TOKEN", "t0ken")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = logs.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let seen = wait_until(Duration::from_secs(30), async || {
        let text = logs.lock().unwrap().clone();
        if text.contains("Journey failed.") && text.contains("FORGED") {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.unwrap();
    for line in text.lines() {
        assert!(
            !line.contains("FORGED") || line.contains("Journey failed."),
            "forged line in the plain log: {line:?}\n--- log ---\n{text}"
        );
    }
    assert!(text.contains(&format!("\\n{FORGED}")), "{text}");
}
