//! Server tests: a real listener on `127.0.0.1:0`, a real store on a temporary
//! file, a real metrics registry, and a control channel the test answers.

mod admin;
mod api;
mod deploys;
mod health;
mod json_errors;
mod pages;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{ServerState, serve};
use crate::journey::Journey;
use crate::journey::parse::parse_journey;
use crate::journey::template::Engine;
use crate::metrics::Metrics;
use crate::runner::{
    Evidence, Failure, FailureClass, JourneyRun, Mismatch, PhaseTimings, RequestExcerpt,
    ResponseExcerpt, StepOutcome, StepVerdict, Verdict,
};
use crate::status::board::StatusBoard;
use crate::status::control::{Control, Health};
use crate::store::{Store, StoreOptions};

/// A journey whose description tries to inject markup.
const CHECKOUT: &str = r#"
name: checkout
description: "Buys a thing <script>alert('pwned')</script>"
interval: 30s
labels: { team: shop }
runbook: https://runbooks.example.com/checkout
steps:
  - name: open cart
    request: { method: POST, url: "http://127.0.0.1:9/api/carts" }
    expect: { status: 201 }
  - name: order ships
    backend: fulfillment
    request: { url: "http://127.0.0.1:9/api/orders/1" }
    eventually: { within: 20s, every: 500ms }
    expect: { status: 200, json: { "$.status": shipped } }
cleanup:
  - name: cancel order
    request: { method: DELETE, url: "http://127.0.0.1:9/api/orders/1" }
"#;

const BROWSE: &str = r#"
name: browse
interval: 1m
steps:
  - name: home
    request: { url: "http://127.0.0.1:9/" }
    expect: { status: 200 }
"#;

/// The message of the failing fixture run.
pub const FAILURE_MESSAGE: &str = "order never reached \"shipped\" within 20s";

/// A running server and everything around it.
pub struct Harness {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A client that ignores proxy settings from the environment.
    pub http: reqwest::Client,
    /// What the server shares.
    pub state: ServerState,
    /// The daemon's end of the control channel.
    pub control: mpsc::Receiver<Control>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Starts a server with the two fixture journeys on the board and no runs.
    pub async fn start(admin_token: Option<&str>) -> Harness {
        Self::start_with(admin_token, false).await
    }

    /// [`start`](Self::start), with an alert database (silences) when `alerts`.
    pub async fn start_with(admin_token: Option<&str>, alerts: bool) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let alert_db = alerts.then(|| {
            crate::alert::outbox::AlertDb::open(dir.path().join("alerts.db")).expect("alerts.db")
        });
        let store = Store::open(StoreOptions::new(dir.path().join("runs.db"))).expect("store");
        let metrics = Metrics::new(&BTreeMap::new()).expect("metrics");
        let journeys = vec![journey(CHECKOUT), journey(BROWSE)];
        metrics.set_journeys(&journeys);
        let board = Arc::new(StatusBoard::default());
        board.set_journeys(&journeys.into_iter().map(Arc::new).collect::<Vec<_>>());
        let (tx, control) = mpsc::channel(4);
        let state = ServerState {
            board,
            store,
            metrics: Arc::new(metrics),
            control: tx,
            admin_token: admin_token.map(str::to_string),
            health: Arc::new(Health::default()),
            alert_db,
            pending: None,
            deploy_window: crate::alert::config::DEFAULT_DEPLOY_WINDOW,
            fleet: None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            state.clone(),
            crate::server::limits::Limits::for_nofile(Some(1024)),
            async {
                let _ = stop.await;
            },
        ));
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        Harness {
            base,
            http,
            state,
            control,
            shutdown,
            server,
            _dir: dir,
        }
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    /// GET a path, expecting `status`, returning the body.
    pub async fn get_text(&self, path: &str, status: u16) -> String {
        let resp = self.get(path).await;
        assert_eq!(resp.status().as_u16(), status, "GET {path}");
        resp.text().await.expect("body")
    }

    /// GET a path, expecting `status` and JSON.
    pub async fn get_json(&self, path: &str, status: u16) -> serde_json::Value {
        let resp = self.get(path).await;
        assert_eq!(resp.status().as_u16(), status, "GET {path}");
        assert_eq!(content_type(&resp), "application/json", "GET {path}");
        resp.json().await.expect("json")
    }

    /// Records a run as the daemon does: history, then the board.
    pub async fn record(&self, run: &JourneyRun) {
        self.state.store.record(run).await;
        self.state.store.flush().await;
        let summary = run.summary();
        self.state
            .board
            .update(&run.journey, move |s| s.record(summary));
    }

    /// Shuts the server down and checks it stopped cleanly.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let result = self.server.await.expect("server task");
        assert!(result.is_ok(), "{result:?}");
    }
}

/// The response's content type without parameters.
pub fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string()
}

fn journey(src: &str) -> Journey {
    parse_journey(Path::new("t.yaml"), src, &Engine::new()).unwrap_or_else(|d| panic!("{d:?}"))
}

/// Now, to the millisecond (what the store keeps).
fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("time")
}

fn step(name: &str, verdict: StepVerdict, duration: f64) -> StepOutcome {
    let mut s = StepOutcome::skipped(name, None, "");
    s.verdict = verdict;
    s.skip_reason = None;
    s.http_status = Some(200);
    s.duration_seconds = duration;
    s.attempts = 1;
    s.timings = PhaseTimings {
        resolve: 0.001,
        connect: 0.002,
        processing: duration * 0.8,
        transfer: duration * 0.1,
    };
    s
}

/// A passing run of `journey` with one step.
pub fn passing_run(journey: &str, step_name: &str) -> JourneyRun {
    JourneyRun {
        run_id: uuid::Uuid::new_v4(),
        journey: journey.to_string(),
        started_at: now_ms(),
        duration_seconds: 0.05,
        verdict: Verdict::Pass,
        degraded: false,
        captures: BTreeMap::new(),
        steps: vec![step(step_name, StepVerdict::Pass, 0.05)],
        cleanup: Vec::new(),
        trace_id: None,
    }
}

/// A failing `checkout` run: the fulfillment back-end never ships; the evidence
/// carries markup and a redacted Authorization header.
pub fn failing_checkout() -> JourneyRun {
    let mut ships = step("order ships", StepVerdict::Fail, 20.1);
    ships.backend = Some("fulfillment".into());
    ships.attempts = 40;
    ships.timings = PhaseTimings {
        resolve: 0.0,
        connect: 0.0,
        processing: 0.03,
        transfer: 0.001,
    };
    ships.failure = Some(Failure {
        class: FailureClass::BackendTimeout,
        message: FAILURE_MESSAGE.into(),
        mismatches: vec![Mismatch {
            subject: "$.status".into(),
            expected: "eq \"shipped\"".into(),
            actual: "\"<b>paid</b>\"".into(),
        }],
    });
    ships.evidence = Some(Evidence {
        request: RequestExcerpt {
            method: "GET".into(),
            url: "http://127.0.0.1:9/api/orders/1".into(),
            headers: vec![
                ("authorization".into(), "***".into()),
                ("accept".into(), "application/json".into()),
            ],
            body: None,
        },
        response: Some(ResponseExcerpt {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: r#"{"status":"<b>paid</b>"}"#.into(),
            truncated: false,
        }),
    });
    let mut cancel = step("cancel order", StepVerdict::Pass, 0.02);
    cancel.http_status = Some(204);
    JourneyRun {
        run_id: uuid::Uuid::new_v4(),
        journey: "checkout".into(),
        started_at: now_ms(),
        duration_seconds: 20.3,
        verdict: Verdict::Fail,
        degraded: false,
        captures: BTreeMap::from([("order_id".to_string(), "ord-<42>".to_string())]),
        steps: vec![step("open cart", StepVerdict::Pass, 0.2), ships],
        cleanup: vec![cancel],
        trace_id: None,
    }
}
