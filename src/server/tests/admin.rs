//! Admin endpoints: token handling, run-now and reload over the control channel.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::error::TryRecvError;

use super::{Harness, failing_checkout};
use crate::server::auth::DISABLED_MESSAGE;
use crate::status::control::{Control, ReloadError, RunNowError};

const TOKEN: &str = "tok-3f9a1c-admin-secret";

impl Harness {
    /// POST a path with an optional raw Authorization header value.
    async fn post(&self, path: &str, authorization: Option<&str>) -> reqwest::Response {
        let mut req = self.http.post(format!("{}{path}", self.base));
        if let Some(a) = authorization {
            req = req.header(reqwest::header::AUTHORIZATION, a);
        }
        req.send().await.expect("POST")
    }

    /// POSTs with the right token in a task, so the test can answer the daemon's side.
    fn post_admin(&self, path: &str) -> tokio::task::JoinHandle<(u16, serde_json::Value)> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        tokio::spawn(async move {
            let resp = req.send().await.expect("POST");
            let status = resp.status().as_u16();
            (status, resp.json().await.expect("json"))
        })
    }
}

#[tokio::test]
async fn admin_endpoints_are_403_when_no_token_is_configured() {
    let mut h = Harness::start(None).await;
    for path in ["/api/journeys/checkout/run", "/-/reload"] {
        let resp = h.post(path, Some("Bearer anything")).await;
        assert_eq!(resp.status().as_u16(), 403, "{path}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["error"], DISABLED_MESSAGE);
    }
    assert!(matches!(h.control.try_recv(), Err(TryRecvError::Empty)));
    h.stop().await;
}

#[tokio::test]
async fn admin_endpoints_are_401_with_a_missing_or_wrong_token() {
    let mut h = Harness::start(Some(TOKEN)).await;
    let wrong = [
        None,
        Some("Bearer wrong".to_string()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_string()),
    ];
    for path in ["/api/journeys/checkout/run", "/-/reload"] {
        for auth in &wrong {
            let resp = h.post(path, auth.as_deref()).await;
            assert_eq!(resp.status().as_u16(), 401, "{path} {auth:?}");
            let challenge = resp.headers().get(reqwest::header::WWW_AUTHENTICATE);
            assert_eq!(challenge.and_then(|v| v.to_str().ok()), Some("Bearer"));
        }
    }
    assert!(matches!(h.control.try_recv(), Err(TryRecvError::Empty)));
    h.stop().await;
}

#[tokio::test]
async fn run_now_with_the_right_token_reaches_the_daemon() {
    let mut h = Harness::start(Some(TOKEN)).await;
    let req = h.post_admin("/api/journeys/checkout/run");
    match h.control.recv().await {
        Some(Control::RunNow { journey, reply }) => {
            assert_eq!(journey, "checkout");
            let _ = reply.send(Ok(()));
        }
        other => panic!("expected RunNow, got {other:?}"),
    }
    let (status, body) = req.await.expect("task");
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "started");
    h.stop().await;
}

#[tokio::test]
async fn run_now_refused_is_409_and_unknown_journey_is_404() {
    let mut h = Harness::start(Some(TOKEN)).await;
    let req = h.post_admin("/api/journeys/checkout/run");
    match h.control.recv().await {
        Some(Control::RunNow { reply, .. }) => {
            let _ = reply.send(Err(RunNowError::AlreadyRunning("checkout".into())));
        }
        other => panic!("expected RunNow, got {other:?}"),
    }
    let (status, body) = req.await.expect("task");
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "journey `checkout` is already running");

    let (status, body) = h.post_admin("/api/journeys/nope/run").await.expect("task");
    assert_eq!(status, 404, "{body}");
    assert!(matches!(h.control.try_recv(), Err(TryRecvError::Empty)));
    h.stop().await;
}

#[tokio::test]
async fn run_now_answers_each_refusal_with_its_own_status() {
    // The board still lists `checkout`: only the daemon's typed answer tells
    // a journey removed by a concurrent reload (404) from a stopping daemon (503).
    let mut h = Harness::start(Some(TOKEN)).await;
    for (refusal, want) in [
        (RunNowError::UnknownJourney("checkout".into()), 404),
        (RunNowError::SchedulerStopped, 503),
        (RunNowError::AlreadyRunning("checkout".into()), 409),
    ] {
        let req = h.post_admin("/api/journeys/checkout/run");
        match h.control.recv().await {
            Some(Control::RunNow { reply, .. }) => {
                let _ = reply.send(Err(refusal.clone()));
            }
            other => panic!("expected RunNow, got {other:?}"),
        }
        let (status, body) = req.await.expect("task");
        assert_eq!(status, want, "{refusal:?}: {body}");
        assert_eq!(body["error"], refusal.to_string());
    }
    h.stop().await;
}

#[tokio::test]
async fn reload_reports_errors_as_422_and_success_as_200() {
    let mut h = Harness::start(Some(TOKEN)).await;
    let errors = vec![
        "journeys/a.yaml:3:5: steps[0].expect.staus: unknown key, did you mean `status`?"
            .to_string(),
        "journeys/b.yaml:1:1: name: missing".to_string(),
    ];
    let req = h.post_admin("/-/reload");
    match h.control.recv().await {
        Some(Control::Reload { reply }) => {
            let _ = reply.send(Err(ReloadError::Invalid(errors.clone())));
        }
        other => panic!("expected Reload, got {other:?}"),
    }
    let (status, body) = req.await.expect("task");
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"status": "failed", "errors": errors})
    );

    let req = h.post_admin("/-/reload");
    match h.control.recv().await {
        Some(Control::Reload { reply }) => {
            let _ = reply.send(Ok("3 journeys (1 added)".into()));
        }
        other => panic!("expected Reload, got {other:?}"),
    }
    let (status, body) = req.await.expect("task");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"status": "reloaded", "summary": "3 journeys (1 added)"})
    );
    h.stop().await;
}

#[tokio::test]
async fn admin_requests_are_503_when_the_daemon_is_gone() {
    let mut h = Harness::start(Some(TOKEN)).await;
    // Replacing the receiver drops the daemon's end of the channel.
    h.control = tokio::sync::mpsc::channel(1).1;
    let (status, body) = h.post_admin("/-/reload").await.expect("task");
    assert_eq!(status, 503, "{body}");
    h.stop().await;
}

/// Collects log output for the test.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// A current-thread runtime, so the server task runs on this thread and logs
// through this thread's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn admin_token_never_appears_in_logs_or_pages() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("journeyd=trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut h = Harness::start(Some(TOKEN)).await;
    let run = failing_checkout();
    h.record(&run).await;
    let guess = format!("{}-guess", &TOKEN[..10]);
    let resp = h.post("/-/reload", Some(&format!("Bearer {guess}"))).await;
    assert_eq!(resp.status().as_u16(), 401);
    let req = h.post_admin("/api/journeys/checkout/run");
    if let Some(Control::RunNow { reply, .. }) = h.control.recv().await {
        let _ = reply.send(Ok(()));
    }
    assert_eq!(req.await.expect("task").0, 202);

    for path in [
        "/".to_string(),
        "/api/journeys".to_string(),
        format!("/runs/{}", run.run_id),
        format!("/api/runs/{}", run.run_id),
        "/metrics".to_string(),
    ] {
        let body = h.get_text(&path, 200).await;
        assert!(!body.contains(TOKEN), "{path} shows the admin token");
    }
    h.stop().await;

    let logged = String::from_utf8_lossy(&logs.0.lock().expect("lock")).to_string();
    // The log is really captured: both admin requests left a line.
    assert!(logged.contains("Rejected an admin request."), "{logged}");
    assert!(
        logged.contains("Run requested through the API."),
        "{logged}"
    );
    assert!(!logged.contains(TOKEN), "{logged}");
    assert!(!logged.contains(&guess), "{logged}");
    assert!(
        !logged.to_ascii_lowercase().contains("authorization"),
        "{logged}"
    );
}
