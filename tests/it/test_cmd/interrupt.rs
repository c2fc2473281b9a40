//! An interrupted suite (SIGTERM, as a cancelled CI job gets) starts nothing
//! new, lets the running journey finish with its cleanup, and exits 1.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::journeyd;
use crate::util::wait::wait_until;

/// Counts of what the server saw.
#[derive(Default)]
struct Seen {
    holds: AtomicUsize,
    cleanups: AtomicUsize,
}

/// `/hold` answers once the test releases it (bounded by 20 s); `/cleanup` counts.
async fn holding_server() -> (String, Arc<Seen>, tokio::sync::watch::Sender<bool>) {
    let seen = Arc::new(Seen::default());
    let (release, released) = tokio::sync::watch::channel(false);
    let (s1, s2) = (seen.clone(), seen.clone());
    let app = axum::Router::new()
        .route(
            "/hold",
            axum::routing::get(move || {
                s1.holds.fetch_add(1, Ordering::SeqCst);
                let mut released = released.clone();
                async move {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(20), released.wait_for(|r| *r))
                            .await;
                    axum::Json(serde_json::json!({ "status": "up" }))
                }
            }),
        )
        .route(
            "/cleanup",
            axum::routing::delete(move || {
                s2.cleanups.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen, release)
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_the_running_journey_clean_up_and_starts_no_other() {
    let (base, seen, release) = holding_server().await;
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b"] {
        let j = format!(
            "name: {name}\nsteps:\n  - name: hold\n    request: {{ url: \"{base}/hold\", timeout: 30s }}\n    expect: {{ status: 200 }}\ncleanup:\n  - name: undo\n    request: {{ method: DELETE, url: \"{base}/cleanup\" }}\n    expect: {{ status: 200 }}\n"
        );
        std::fs::write(dir.path().join(format!("{name}.yaml")), j).unwrap();
    }
    let mut c = journeyd(&["test", "--jobs", "1"]);
    c.arg(dir.path())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });

    wait_until(Duration::from_secs(10), async || {
        match seen.holds.load(Ordering::SeqCst) {
            1 => Ok(()),
            n => Err(format!("{n} hold requests")),
        }
    })
    .await
    .unwrap();
    let pid = child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    // Release the running journey only once journeyd has taken the signal.
    let noticed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.recv().await {
            if line.contains("interrupted: letting running journeys finish") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(noticed, Ok(true), "no interruption notice");
    release.send(true).unwrap();

    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    reader.join().unwrap();
    let mut rest = String::new();
    while let Ok(l) = lines.try_recv() {
        rest.push_str(&l);
        rest.push('\n');
    }
    assert_eq!(out.status.code(), Some(1), "{stdout}{rest}");
    assert_eq!(
        seen.holds.load(Ordering::SeqCst),
        1,
        "a second journey started"
    );
    assert_eq!(
        seen.cleanups.load(Ordering::SeqCst),
        1,
        "the cleanup did not run"
    );
    assert!(stdout.contains("1 journey run(s)"), "{stdout}");
    assert!(rest.contains("1 journey run(s) not started"), "{rest}");
}
