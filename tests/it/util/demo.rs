//! Starts the demo company on `127.0.0.1:0` for a test, and runs shipped
//! journeys against it with test-sized timeouts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use journeyd::demo::{DemoConfig, serve};
use journeyd::journey::Journey;
use journeyd::journey::model::Expectation;
use journeyd::journey::parse::load_file;
use journeyd::journey::secrets::SecretSource;
use journeyd::journey::template::Engine;
use journeyd::runner::{JourneyRun, RunOptions, run_journey};
use tokio::sync::oneshot;

/// A running demo company; stops when dropped.
pub struct Demo {
    /// Where it listens.
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl Demo {
    /// Starts the demo with fast workers. The listener is bound before this returns,
    /// so the server is reachable at once.
    pub async fn start() -> Demo {
        Self::start_with(DemoConfig::default()).await
    }

    /// Starts the demo with fast workers and the given password (other fields of
    /// `base` other than the password are replaced by test-sized values).
    pub async fn start_with(base: DemoConfig) -> Demo {
        let config = DemoConfig {
            payment_delay: Duration::from_millis(50),
            fulfillment_delay: Duration::from_millis(100),
            activation_delay: Duration::from_millis(80),
            backoffice_delay: Duration::from_millis(70),
            worker_tick: Duration::from_millis(10),
            ..base
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, config, async move {
            let _ = rx.await;
        }));
        Demo { addr, _stop: tx }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Injects a fault through the admin API, like an operator would.
    pub async fn inject(&self, process: &str, mode: &str) {
        let resp = reqwest::Client::new()
            .put(format!("{}/admin/faults/{process}", self.base()))
            .json(&serde_json::json!({ "mode": mode }))
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "inject {process} {mode}: {}",
            resp.status()
        );
    }

    /// Removes a fault.
    pub async fn restore(&self, process: &str) {
        let resp = reqwest::Client::new()
            .delete(format!("{}/admin/faults/{process}", self.base()))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }
}

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The secrets the shipped journeys use against the demo.
pub fn demo_secrets() -> PathBuf {
    root().join("deploy/demo/secrets")
}

/// Loads `journeys/NAME.yaml` with timeouts shrunk for tests: 2 s per request,
/// 2 s `within` polled every 100 ms.
pub fn shipped_journey(name: &str) -> Journey {
    let engine = Engine::new();
    let mut j = load_file(&root().join(format!("journeys/{name}.yaml")), &engine)
        .unwrap_or_else(|d| panic!("{d:?}"));
    for step in j.steps.iter_mut().chain(j.cleanup.iter_mut()) {
        step.timeout = Duration::from_secs(2);
        // A loaded test machine (many demo servers at once) can take a second for a
        // healthy step; only the step timeout (which the `slow` fault exceeds) counts here.
        for e in &mut step.expect {
            if let Expectation::MaxDuration(d) = e {
                *d = (*d).max(Duration::from_millis(1900));
            }
        }
        if let Some(ev) = step.extras.as_mut().and_then(|x| x.eventually.as_mut()) {
            ev.within = Duration::from_secs(2);
            ev.every = Duration::from_millis(100);
            ev.backoff = 1.0;
            ev.max_every = Duration::from_millis(100);
        }
    }
    j
}

/// Runs a journey against `demo` (its `base` var pointed at the demo).
pub async fn run_against(journey: &Journey, demo: &Demo) -> JourneyRun {
    let mut opts = RunOptions::from_process(SecretSource {
        dirs: vec![demo_secrets()],
    });
    opts.overrides.insert("base".into(), demo.base());
    run_journey(journey, &Engine::new(), &opts, &mut |_| {}).await
}
