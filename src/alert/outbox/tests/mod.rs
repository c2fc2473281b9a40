//! Outbox tests on real SQLite files in temporary directories and on a real
//! PostgreSQL (a throw-away cluster per test), with a scripted [`Receiver`]
//! that reports what it accepted over a channel. The cases that do not
//! depend on the backend take a [`Fixture`] and run on both
//! ([`on_both_backends!`]); `pg` holds what only PostgreSQL has. Helpers
//! shared by the test modules live here.

/// Runs each `async fn name(fx: Fixture)` of the calling module twice, as
/// the tests `name::sqlite` and `name::pg`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(crate::alert::outbox::tests::Fixture::sqlite()).await;
            }

            // Several threads: the outbox drives PostgreSQL from a blocking
            // thread while the test's thread may wait on it.
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn pg() {
                super::$name(crate::alert::outbox::tests::Fixture::pg()).await;
            }
        }
    )*};
}

mod crash;
mod db;
mod delivery;
mod deploys;
mod pg;
mod spill;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tempfile::TempDir;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::alert::receivers::{DeliveryError, Notification, Receiver};
use crate::alert::state::Alert;
use crate::metrics::Metrics;
use crate::store::PgTarget;
use crate::store::postgres::testutil::TestPostgres;

/// A fixed instant, `minutes` later.
fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
}

/// The failing alert of `journey`, started at `at(started)`.
fn alert(journey: &str, started: i64) -> Alert {
    Alert {
        labels: BTreeMap::from([
            ("alertname".to_string(), "JourneyFailing".to_string()),
            ("journey".to_string(), journey.to_string()),
            ("severity".to_string(), "critical".to_string()),
        ]),
        annotations: BTreeMap::from([("summary".to_string(), format!("{journey}: broken"))]),
        starts_at: at(started),
    }
}

fn firing(journey: &str) -> AlertEvent {
    AlertEvent::Firing(alert(journey, 0))
}

fn resolved(journey: &str) -> AlertEvent {
    AlertEvent::Resolved(alert(journey, 0), at(10))
}

/// `(receiver, event)` pairs.
fn to(receiver: &str, events: &[AlertEvent]) -> Vec<(String, AlertEvent)> {
    events
        .iter()
        .map(|e| (receiver.to_string(), e.clone()))
        .collect()
}

fn open(dir: &TempDir) -> AlertDb {
    AlertDb::open(dir.path().join("alerts.db")).unwrap()
}

/// Where a case's alert database lives.
enum Fixture {
    Sqlite(TempDir),
    Pg(TestPostgres),
}

impl Fixture {
    fn sqlite() -> Fixture {
        Fixture::Sqlite(TempDir::new().unwrap())
    }

    fn pg() -> Fixture {
        Fixture::Pg(TestPostgres::start())
    }

    /// A new handle on the same database (a restart, or another replica).
    fn open(&self) -> AlertDb {
        match self {
            Fixture::Sqlite(dir) => open(dir),
            Fixture::Pg(pg) => AlertDb::open(Backend::Postgres(pg_target(pg))).unwrap(),
        }
    }
}

/// The alert tables of `pg`.
fn pg_target(pg: &TestPostgres) -> PgTarget {
    PgTarget {
        url: pg.url(),
        location: "unused".into(),
    }
}

fn metrics() -> Arc<Metrics> {
    Arc::new(Metrics::new(&BTreeMap::new()).unwrap())
}

fn retryable(message: &str, retry_after: Option<Duration>) -> DeliveryError {
    DeliveryError {
        retryable: true,
        retry_after,
        message: message.to_string(),
    }
}

fn permanent(message: &str) -> DeliveryError {
    DeliveryError {
        retryable: false,
        retry_after: None,
        message: message.to_string(),
    }
}

/// Retries in milliseconds, for tests on real time.
fn fast() -> DeliveryOptions {
    DeliveryOptions {
        base: Duration::from_millis(1),
        max: Duration::from_millis(4),
        ..DeliveryOptions::default()
    }
}

/// A receiver that answers its first calls from a script, then accepts (or, with
/// `then`, fails the same way forever). It records when each call came and sends
/// every accepted notification to the test.
#[derive(Debug)]
struct Scripted {
    name: String,
    script: Mutex<VecDeque<DeliveryError>>,
    then: Option<DeliveryError>,
    calls: Mutex<Vec<(i64, Instant)>>,
    /// How many calls came so far, for tests to wait on.
    count: watch::Sender<usize>,
    accepted: mpsc::UnboundedSender<Notification>,
}

impl Scripted {
    /// Fails with `script` in order, then accepts.
    fn new(
        name: &str,
        script: Vec<DeliveryError>,
    ) -> (Arc<Scripted>, mpsc::UnboundedReceiver<Notification>) {
        let (accepted, rx) = mpsc::unbounded_channel();
        let receiver = Scripted {
            name: name.to_string(),
            script: Mutex::new(script.into()),
            then: None,
            calls: Mutex::default(),
            count: watch::Sender::new(0),
            accepted,
        };
        (Arc::new(receiver), rx)
    }

    /// Never accepts.
    fn refusing(
        name: &str,
        error: DeliveryError,
    ) -> (Arc<Scripted>, mpsc::UnboundedReceiver<Notification>) {
        let (accepted, rx) = mpsc::unbounded_channel();
        let receiver = Scripted {
            name: name.to_string(),
            script: Mutex::default(),
            then: Some(error),
            calls: Mutex::default(),
            count: watch::Sender::new(0),
            accepted,
        };
        (Arc::new(receiver), rx)
    }

    fn calls(&self) -> Vec<(i64, Instant)> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits until at least `n` calls came (a minute at most).
    async fn wait_calls(&self, n: usize) {
        let mut count = self.count.subscribe();
        let reached = tokio::time::timeout(Duration::from_secs(60), count.wait_for(|c| *c >= n));
        assert!(
            matches!(reached.await, Ok(Ok(_))),
            "only {} of {n} calls came",
            *count.borrow()
        );
    }
}

#[async_trait::async_trait]
impl Receiver for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        self.calls.lock().unwrap().push((n.id, Instant::now()));
        self.count.send_modify(|c| *c += 1);
        if let Some(e) = self.script.lock().unwrap().pop_front() {
            return Err(e);
        }
        if let Some(e) = &self.then {
            return Err(e.clone());
        }
        let _ = self.accepted.send(n.clone());
        Ok(())
    }
}

/// The next `n` accepted notifications; fails if they do not come within a minute
/// (of tokio time: under a paused clock, only when nothing else is scheduled).
async fn take(rx: &mut mpsc::UnboundedReceiver<Notification>, n: usize) -> Vec<Notification> {
    let mut out = Vec::new();
    while out.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await;
        match next {
            Ok(Some(notification)) => out.push(notification),
            _ => panic!("only {} of {n} notifications delivered: {out:?}", out.len()),
        }
    }
    out
}

/// Running workers and what stops them.
struct Running {
    handle: DeliveryHandle,
    shutdown: CancellationToken,
}

impl Running {
    fn start(
        db: &AlertDb,
        receivers: Vec<Arc<dyn Receiver>>,
        metrics: &Arc<Metrics>,
        options: DeliveryOptions,
    ) -> Running {
        let shutdown = CancellationToken::new();
        let handle = spawn_delivery_with(
            db.clone(),
            receivers,
            Arc::clone(metrics),
            shutdown.clone(),
            options,
        );
        Running { handle, shutdown }
    }

    /// Stops the workers and waits until they have finished.
    async fn stop(self) {
        self.shutdown.cancel();
        self.handle.join().await;
    }
}

#[track_caller]
fn assert_lines(text: &str, expected: &[&str]) {
    for line in expected {
        assert!(
            text.lines().any(|l| l == *line),
            "missing `{line}` in:\n{text}"
        );
    }
}
