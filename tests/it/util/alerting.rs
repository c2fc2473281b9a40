//! Helpers for the alerting tests: a capture server that plays a (possibly
//! flaky) receiver and forwards every accepted request to the test over a
//! channel, a real Alertmanager on a loopback port, the daemon configuration
//! with an `alerting:` section, and `/metrics` look-ups by label subset.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::daemon::{CONFIG, TestDaemon, parse_metrics};
use super::wait::wait_until;

/// Upper bound for anything the daemon does on its own clock (runs every 2 s,
/// `within: 3s`, a debug build on shared cores).
pub const SOON: Duration = Duration::from_secs(60);

/// The daemon configuration of the alerting tests: [`CONFIG`] plus an
/// `alerting:` section with test-sized confirmation (`confirm_delay: 200ms`,
/// `success_threshold: 2`), `policy` (extra policy lines like
/// `failure_threshold: 3`) and `receivers` (one YAML flow mapping each).
pub fn alerting_config(policy: &[&str], receivers: &[String]) -> String {
    let mut yaml = format!(
        "{CONFIG}alerting:\n  policy:\n    confirm_delay: 200ms\n    success_threshold: 2\n"
    );
    for line in policy {
        yaml.push_str(&format!("    {line}\n"));
    }
    yaml.push_str("  receivers:\n");
    for r in receivers {
        yaml.push_str(&format!("    - {r}\n"));
    }
    yaml
}

/// The value of the first sample named `name` that carries every label in
/// `labels` (others, like the daemon's `location`, may be there too).
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    parse_metrics(text)
        .into_iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// `journeyd_notifications_total{receiver, result}`, 0 when absent.
pub fn notifications(text: &str, receiver: &str, result: &str) -> f64 {
    metric(
        text,
        "journeyd_notifications_total",
        &[("receiver", receiver), ("result", result)],
    )
    .unwrap_or(0.0)
}

/// `journeyd_journey_runs_total{journey, result}`, 0 when absent.
pub fn runs(text: &str, journey: &str, result: &str) -> f64 {
    metric(
        text,
        "journeyd_journey_runs_total",
        &[("journey", journey), ("result", result)],
    )
    .unwrap_or(0.0)
}

/// Waits until `check` holds on the daemon's `/metrics`; returns that text.
/// A timeout fails the test with what was seen last and the daemon's logs.
pub async fn wait_metrics(
    d: &TestDaemon,
    what: &str,
    check: impl Fn(&str) -> Result<(), String>,
) -> String {
    wait_until(SOON, async || {
        let m = d.metrics().await?;
        check(&m).map(|()| m)
    })
    .await
    .unwrap_or_else(|e| panic!("waiting for {what}: {e}\n--- daemon logs ---\n{}", d.logs()))
}

/// Waits until `journeyd_alert_state{journey}` equals `state` (0 ok, 1 pending, 2 firing).
pub async fn wait_alert_state(d: &TestDaemon, journey: &str, state: f64) -> String {
    wait_metrics(
        d,
        &format!("alert_state{{journey={journey}}} == {state}"),
        |m| match metric(m, "journeyd_alert_state", &[("journey", journey)]) {
            Some(v) if v == state => Ok(()),
            other => Err(format!("alert_state = {other:?}")),
        },
    )
    .await
}

/// A client that talks to loopback only (no proxy from the environment).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// One request the capture server got, and what it answered.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path and query.
    pub path: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Bytes,
    /// The status it was answered with.
    pub answered: u16,
}

impl Received {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: body is not JSON ({e}): {}",
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header's value, "" when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    /// For a webhook (Alertmanager v4 format) body: `(status, journey)`.
    pub fn webhook_status(&self) -> (String, String) {
        let b = self.json();
        (
            b["status"].as_str().unwrap_or("?").to_string(),
            b["alerts"][0]["labels"]["journey"]
                .as_str()
                .unwrap_or("?")
                .to_string(),
        )
    }
}

/// What the capture server shares with its handler.
struct Shared {
    /// Answer 503 to this many more requests.
    reject_next: AtomicUsize,
    /// Answer 503 to everything while set.
    down: AtomicBool,
    /// Every request, accepted or not, in arrival order.
    attempts: Mutex<Vec<Received>>,
    accepted: mpsc::UnboundedSender<Received>,
}

/// A receiver stand-in on `127.0.0.1:0`. Rejected requests get 503 with
/// `Retry-After: 1` and a body quoting the request's path and any
/// `routing_key` (like a careless proxy would), so a test can check the
/// daemon does not log what it quotes. Accepted ones get 200 and go to the
/// test over a channel. Stops when dropped.
pub struct Capture {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accepted: mpsc::UnboundedReceiver<Received>,
    _stop: oneshot::Sender<()>,
}

impl Capture {
    /// Starts it; the first `reject_first` requests are answered 503.
    pub async fn start(reject_first: usize) -> Capture {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            reject_next: AtomicUsize::new(reject_first),
            down: AtomicBool::new(false),
            attempts: Mutex::new(Vec::new()),
            accepted: tx,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Capture {
            addr,
            shared,
            accepted: rx,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT{path}`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// While `down`, every request is answered 503.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Every request so far, accepted or not.
    pub fn attempts(&self) -> Vec<Received> {
        self.shared
            .attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The next accepted request, waiting at most `within`.
    pub async fn next(&mut self, within: Duration) -> Result<Received, String> {
        match tokio::time::timeout(within, self.accepted.recv()).await {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err("the capture server stopped".into()),
            Err(_) => Err(format!(
                "nothing accepted within {within:?}; {} attempts so far",
                self.attempts().len()
            )),
        }
    }

    /// Whatever is accepted within `within` (bounded): `None` when nothing is.
    pub async fn nothing_within(&mut self, within: Duration) -> Option<Received> {
        tokio::time::timeout(within, self.accepted.recv())
            .await
            .ok()
            .flatten()
    }
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.to_string());
    let reject = shared.down.load(Ordering::SeqCst)
        || shared
            .reject_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    let answered = if reject { 503 } else { 200 };
    let got = Received {
        path: path.clone(),
        headers,
        body: body.clone(),
        answered,
    };
    shared
        .attempts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(got.clone());
    if !reject {
        let _ = shared.accepted.send(got);
        return StatusCode::OK.into_response();
    }
    let key = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["routing_key"].as_str().map(str::to_string))
        .unwrap_or_default();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [("retry-after", "1")],
        format!("overloaded; not taking {path} (routing_key {key})"),
    )
        .into_response()
}

/// Debian's Alertmanager on a loopback port, gossip off; killed when dropped.
pub struct Alertmanager {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    log: PathBuf,
    http: reqwest::Client,
}

impl Alertmanager {
    /// Starts `binary` with one `null` receiver (group_wait 1s), its data and
    /// output in `dir`.
    pub fn start(binary: &str, dir: &Path) -> Alertmanager {
        // Alertmanager cannot be handed a listener, so a free port is picked and
        // released for it to bind: the one unavoidable gap where another process
        // could take the port first (start-up then fails loudly, it does not hang).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("am.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: \"null\"\n  group_wait: 1s\nreceivers:\n  - name: \"null\"\n",
        )
        .unwrap();
        let log = dir.join("alertmanager.log");
        let out = File::create(&log).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Empty: no cluster, so no gossip port and no peers to wait for.
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start alertmanager");
        Alertmanager {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            http: http(),
        }
    }

    /// Everything it printed.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) for `/-/ready`.
    pub async fn ready(&mut self) {
        let (http, url) = (&self.http, format!("{}/-/ready", self.base));
        let child = &mut self.child;
        let ready = wait_until(SOON, async || {
            if let Ok(Some(status)) = child.try_wait() {
                return Ok(Err(format!("alertmanager exited: {status}")));
            }
            match http.get(&url).send().await {
                Ok(r) if r.status().is_success() => Ok(Ok(())),
                Ok(r) => Err(format!("{}", r.status())),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
        if let Err(e) | Ok(Err(e)) = ready {
            panic!(
                "alertmanager not ready: {e}\n--- its output ---\n{}",
                self.output()
            );
        }
    }

    /// `GET /api/v2/alerts`: the alerts it holds that have not ended.
    pub async fn alerts(&self) -> Result<Vec<Value>, String> {
        let url = format!("{}/api/v2/alerts", self.base);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| format!("GET {url}: {e}"))?;
        if !status.is_success() {
            return Err(format!("GET {url}: {status}: {body}"));
        }
        body.as_array()
            .cloned()
            .ok_or_else(|| format!("GET {url}: not a list: {body}"))
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
