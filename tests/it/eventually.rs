//! `eventually` with `backoff`: the pause between attempts grows by the factor
//! up to `max_every`, and a back-end that never finishes ends as
//! `backend_timeout` with every attempt counted. A `durable` step run without a
//! daemon polls once and passes as pending, unwatched.
//!
//! The target is a real server on `127.0.0.1:0` that records when each poll
//! arrives. Timing assertions are lower bounds only (a sleep never ends
//! early), plus an attempt count that a fixed interval could not meet.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use journeyd::journey::parse::parse_journey;
use journeyd::journey::secrets::SecretSource;
use journeyd::journey::template::Engine;
use journeyd::runner::{FailureClass, RunOptions, Verdict, run_journey};

/// Starts a server whose `/order` always answers `pending`; returns its base
/// URL and the arrival time of every request.
async fn pending_backend() -> (String, Arc<Mutex<Vec<Instant>>>) {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let app = Router::new().route(
        "/order",
        get(move || {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(Instant::now());
                axum::Json(serde_json::json!({ "status": "pending" }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), arrivals)
}

#[tokio::test]
async fn backoff_grows_the_pause_up_to_max_every_then_times_out() {
    let (base, arrivals) = pending_backend().await;
    let source = format!(
        r#"
name: backoff
steps:
  - name: order ships
    backend: fulfillment
    request: {{ url: "{base}/order" }}
    eventually: {{ within: 2500ms, every: 100ms, backoff: 2, max_every: 400ms }}
    expect: {{ json: {{ "$.status": shipped }} }}
"#
    );
    let journey = parse_journey(Path::new("backoff.yaml"), &source, &Engine::new())
        .unwrap_or_else(|d| panic!("{d:?}"));
    let opts = RunOptions::from_process(SecretSource { dirs: vec![] });
    let run = run_journey(&journey, &Engine::new(), &opts, &mut |_| {}).await;

    assert_eq!(run.verdict, Verdict::Fail);
    let step = &run.steps[0];
    let failure = step.failure.as_ref().expect("the step failed");
    assert_eq!(
        failure.class,
        FailureClass::BackendTimeout,
        "{}",
        failure.message
    );

    // The completion histogram sees the timed-out wait at the time watched.
    let watched = step
        .backend_completion_seconds
        .expect("a timed-out wait is observed");
    assert!((2.0..10.0).contains(&watched), "{watched}");
    let at = arrivals.lock().unwrap().clone();
    assert_eq!(step.attempts as usize, at.len(), "every attempt is counted");
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    // Pauses 100, 200, 400, 400, ... ms: each gap is at least its pause.
    let pauses = [100u64, 200, 400, 400, 400, 400, 400, 400];
    for (i, gap) in gaps.iter().enumerate() {
        let floor = Duration::from_millis(pauses[i.min(pauses.len() - 1)]);
        assert!(
            *gap >= floor,
            "gap {i} was {gap:?}, below the pause {floor:?}: {gaps:?}"
        );
    }
    // A fixed 100 ms interval would poll about 25 times in 2.5 s; the backoff about 8.
    assert!(
        (4..=9).contains(&at.len()),
        "{} attempts in 2.5 s: {gaps:?}",
        at.len()
    );
}

#[tokio::test]
async fn a_durable_step_without_a_daemon_polls_once_and_passes_pending_unwatched() {
    let (base, arrivals) = pending_backend().await;
    let source = format!(
        r#"
name: durable
steps:
  - name: order ships
    backend: fulfillment
    request: {{ url: "{base}/order" }}
    eventually: {{ within: 10m, every: 100ms, durable: true }}
    expect: {{ json: {{ "$.status": shipped }} }}
cleanup:
  - name: cancel
    request: {{ url: "{base}/order" }}
"#
    );
    let journey = parse_journey(Path::new("durable.yaml"), &source, &Engine::new())
        .unwrap_or_else(|d| panic!("{d:?}"));
    let opts = RunOptions::from_process(SecretSource { dirs: vec![] });
    let started = chrono::Utc::now();
    let run = run_journey(&journey, &Engine::new(), &opts, &mut |_| {}).await;

    assert_eq!(run.verdict, Verdict::Pass);
    let step = &run.steps[0];
    assert_eq!(step.attempts, 1);
    let pending = step.obligation.as_ref().expect("the step is pending");
    assert_eq!(pending.state, "pending");
    assert!(!pending.watched, "nobody watches it without a daemon");
    let left = pending.deadline - started;
    assert!((590..=600).contains(&left.num_seconds()), "{left}");
    assert!(
        pending.reason.as_deref().unwrap_or("").contains("shipped"),
        "{pending:?}"
    );
    let line = journeyd::report::text::step_line(step);
    assert!(
        line.contains("PEND") && line.contains("not watched"),
        "{line}"
    );
    // One poll, then the cleanup (nothing holds it without a daemon).
    assert_eq!(arrivals.lock().unwrap().len(), 2);
    assert_eq!(run.cleanup[0].verdict, journeyd::runner::StepVerdict::Pass);
}
