//! `eventually` with `backoff`: the pause between attempts grows by the factor
//! up to `max_every`, and a back-end that never finishes ends as
//! `backend_timeout` with every attempt counted.
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
