//! Retry of a single request after a transient fault (detection issue, part 1): each
//! test runs a one-step journey against a real scripted server on `127.0.0.1:0`
//! that answers each connection as told, and counts the requests it got.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use journeyd::journey::parse::parse_journey;
use journeyd::journey::secrets::SecretSource;
use journeyd::journey::template::Engine;
use journeyd::runner::{FailureClass, RunOptions, StepOutcome, run_journey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server does with one connection.
#[derive(Clone)]
enum Answer {
    /// A response with this status and extra header lines.
    Status(u16, &'static str),
    /// Read the request, then close without answering.
    HangUp,
}

/// A server answering connection `i` with `script[i]` (the last entry repeats).
/// Returns its base URL, the request count, and the arrival times.
async fn scripted(
    script: Vec<Answer>,
) -> (
    String,
    Arc<AtomicUsize>,
    Arc<std::sync::Mutex<Vec<Instant>>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let times = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, t) = (count.clone(), times.clone());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let i = c.fetch_add(1, Ordering::SeqCst);
            t.lock().unwrap().push(Instant::now());
            let answer = script[i.min(script.len() - 1)].clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                if let Answer::Status(code, extra) = answer {
                    let body = r#"{"status":"ok"}"#;
                    let head = format!(
                        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(body.as_bytes()).await;
                }
            });
        }
    });
    (base, count, times)
}

/// Runs a one-step journey whose step is `step_yaml` (indented under `- name: s`).
async fn run_step(step_yaml: &str) -> StepOutcome {
    let source = format!("name: retry\nsteps:\n  - name: s\n{step_yaml}");
    let journey = parse_journey(Path::new("retry.yaml"), &source, &Engine::new())
        .unwrap_or_else(|d| panic!("{d:?}\n{source}"));
    let opts = RunOptions::from_process(SecretSource { dirs: vec![] });
    let run = run_journey(&journey, &Engine::new(), &opts, &mut |_| {}).await;
    run.steps.into_iter().next().unwrap()
}

fn passed(s: &StepOutcome) -> bool {
    s.failure.is_none()
}

#[tokio::test]
async fn a_get_answered_503_then_200_passes_after_one_retry() {
    let (base, count, _) = scripted(vec![Answer::Status(503, ""), Answer::Status(200, "")]).await;
    let s = run_step(&format!(
        "    request: {{ url: \"{base}/\" }}\n    expect: {{ status: 200 }}\n"
    ))
    .await;
    assert!(passed(&s), "{:?}", s.failure);
    assert_eq!(s.retries, vec![FailureClass::HttpStatus]);
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_get_whose_connection_is_dropped_is_retried() {
    let (base, count, _) = scripted(vec![Answer::HangUp, Answer::Status(200, "")]).await;
    let s = run_step(&format!("    request: {{ url: \"{base}/\" }}\n")).await;
    assert!(passed(&s), "{:?}", s.failure);
    assert_eq!(s.retries, vec![FailureClass::ConnectionReset]);
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_post_is_not_retried_unless_declared_or_idempotent() {
    let script = || vec![Answer::Status(503, ""), Answer::Status(201, "")];
    let (base, count, _) = scripted(script()).await;
    let s = run_step(&format!(
        "    request: {{ method: POST, url: \"{base}/orders\", json: {{ a: 1 }} }}\n    expect: {{ status: 201 }}\n"
    ))
    .await;
    assert_eq!(
        s.failure.as_ref().map(|f| f.class),
        Some(FailureClass::HttpStatus)
    );
    assert!(s.retries.is_empty());
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "an unsafe method is sent once"
    );

    let (base, count, _) = scripted(script()).await;
    let s = run_step(&format!(
        "    request:\n      method: POST\n      url: \"{base}/orders\"\n      headers: {{ Idempotency-Key: \"k-1\" }}\n    expect: {{ status: 201 }}\n"
    ))
    .await;
    assert!(
        passed(&s),
        "Idempotency-Key allows the retry: {:?}",
        s.failure
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);

    let (base, count, _) = scripted(script()).await;
    let s = run_step(&format!(
        "    request: {{ method: POST, url: \"{base}/orders\" }}\n    retry: {{ max: 1 }}\n    expect: {{ status: 201 }}\n"
    ))
    .await;
    assert!(passed(&s), "a declared retry allows it: {:?}", s.failure);
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_answer_that_fails_its_expectations_is_not_retried() {
    let (base, count, _) = scripted(vec![Answer::Status(200, "")]).await;
    let s = run_step(&format!(
        "    request: {{ url: \"{base}/\" }}\n    expect: {{ json: {{ \"$.status\": shipped }} }}\n"
    ))
    .await;
    assert_eq!(
        s.failure.as_ref().map(|f| f.class),
        Some(FailureClass::Assertion)
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_status_the_step_expects_is_an_answer_not_a_blip() {
    let (base, count, _) = scripted(vec![Answer::Status(503, "")]).await;
    let s = run_step(&format!(
        "    request: {{ url: \"{base}/\" }}\n    expect: {{ status: 503 }}\n"
    ))
    .await;
    assert!(passed(&s), "{:?}", s.failure);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let (base, count, times) = scripted(vec![
        Answer::Status(429, "retry-after: 1\r\n"),
        Answer::Status(200, ""),
    ])
    .await;
    let s = run_step(&format!("    request: {{ url: \"{base}/\" }}\n")).await;
    assert!(passed(&s), "{:?}", s.failure);
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let t = times.lock().unwrap().clone();
    assert!(
        t[1] - t[0] >= Duration::from_secs(1),
        "waited {:?}",
        t[1] - t[0]
    );
}

#[tokio::test]
async fn retries_stop_at_max_and_the_last_answer_is_judged() {
    let (base, count, _) = scripted(vec![Answer::Status(502, "")]).await;
    let s = run_step(&format!(
        "    request: {{ url: \"{base}/\" }}\n    expect: {{ status: 200 }}\n"
    ))
    .await;
    assert_eq!(
        s.failure.as_ref().map(|f| f.class),
        Some(FailureClass::HttpStatus)
    );
    assert_eq!(s.retries.len(), 2, "the default is two retries");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_classified() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = run_step(&format!(
        "    request: {{ url: \"http://127.0.0.1:{port}/\" }}\n    retry: {{ max: 3, delay: 10ms }}\n"
    ))
    .await;
    assert_eq!(
        s.failure.as_ref().map(|f| f.class),
        Some(FailureClass::Connect)
    );
    assert_eq!(s.retries, vec![FailureClass::Connect; 3]);
}

#[tokio::test]
async fn max_zero_turns_retries_off() {
    let (base, count, _) = scripted(vec![Answer::Status(503, ""), Answer::Status(200, "")]).await;
    let s = run_step(&format!("    request: {{ url: \"{base}/\" }}\n    retry: {{ max: 0 }}\n    expect: {{ status: 200 }}\n")).await;
    assert_eq!(
        s.failure.as_ref().map(|f| f.class),
        Some(FailureClass::HttpStatus)
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
}
