//! Suites: the shipped journeys against the demo company, exit codes 1 and 2,
//! directories searched recursively, tags, and retries reported as flaky.

use std::sync::atomic::Ordering;

use super::{all_text, closed_port_url, flapping, journeyd, junit_suites, one_step, output};
use crate::util::demo::{Demo, demo_secrets, root};

#[tokio::test(flavor = "multi_thread")]
async fn shipped_journeys_pass_with_a_junit_case_per_step() {
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    let mut c = journeyd(&["test", "journeys/", "--jobs", "3", "--format", "junit"]);
    c.arg("--report")
        .arg(&report)
        .arg("--secrets-dir")
        .arg(demo_secrets());
    c.arg("--var").arg(format!("base={}", demo.base()));
    let out = output(c).await;
    let text = all_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 journey run(s)"), "{stdout}");
    for name in ["purchase", "contract", "app-request"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(name) && l.contains(" pass ")),
            "{stdout}"
        );
    }

    let suites = junit_suites(&std::fs::read_to_string(&report).unwrap());
    let mut names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["app-request", "contract", "purchase"]);
    let engine = journeyd::journey::template::Engine::new();
    for s in &suites {
        let file = root().join(format!("journeys/{}.yaml", s.name));
        let j = journeyd::journey::parse::load_file(&file, &engine).unwrap();
        let expected: Vec<String> = j
            .steps
            .iter()
            .map(|st| st.name.clone())
            .chain(j.cleanup.iter().map(|st| format!("cleanup: {}", st.name)))
            .collect();
        assert_eq!(s.cases, expected, "{}", s.name);
        assert!(!s.inner.iter().any(|t| t == "failure"), "{s:?}");
        assert!(s.properties.contains(&("result".into(), "pass".into())));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_journey_exits_1_with_a_junit_failure() {
    let (base, _) = flapping(0).await;
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port_url().await;
    std::fs::write(
        dir.path().join("down.yaml"),
        one_step("down", &closed, "team: a"),
    )
    .unwrap();
    let sub = dir.path().join("more");
    std::fs::create_dir(&sub).unwrap();
    let up = one_step("up", &format!("{base}/health"), "team: b");
    std::fs::write(sub.join("up.yml"), up).unwrap();
    let report = dir.path().join("r.xml");
    let mut c = journeyd(&["test", "--format", "junit", "--report"]);
    c.arg(&report).arg(dir.path());
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let suites = junit_suites(&std::fs::read_to_string(&report).unwrap());
    // The sub-directory was searched too.
    assert_eq!(suites.len(), 2, "{suites:?}");
    let down = suites.iter().find(|s| s.name == "down").unwrap();
    assert!(down.inner.contains(&"failure".to_string()), "{down:?}");
    let up = suites.iter().find(|s| s.name == "up").unwrap();
    assert!(!up.inner.contains(&"failure".to_string()), "{up:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("probe (connect)"), "{stdout}");

    // A tag selector runs only the matching journey: the passing one.
    let mut c = journeyd(&["test", "--tag", "team=b"]);
    c.arg(dir.path());
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("down"));

    // Retried and still failing: the earlier attempt is a rerunFailure, exit 1.
    let mut c = journeyd(&[
        "test",
        "--tag",
        "team=a",
        "--retries",
        "1",
        "--format",
        "junit",
    ]);
    c.arg("--report").arg(&report).arg(dir.path());
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let suites = junit_suites(&std::fs::read_to_string(&report).unwrap());
    let failures: Vec<&String> = suites[0]
        .inner
        .iter()
        .filter(|t| t.contains("ailure"))
        .collect();
    assert_eq!(failures, ["failure", "rerunFailure"], "{suites:?}");
    assert!(
        suites[0]
            .properties
            .contains(&("attempts".into(), "2".into()))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_journey_exits_2_before_anything_runs() {
    let (base, count) = flapping(0).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.yaml"),
        one_step("good", &format!("{base}/health"), "team: a"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "name: bad\nsteps:\n  - name: probe\n    requst: { url: \"http://x\" }\n",
    )
    .unwrap();
    let mut c = journeyd(&["test"]);
    c.arg(dir.path());
    let out = output(c).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", all_text(&out));
    let bad = dir.path().join("bad.yaml");
    assert!(
        stderr.contains(&format!("{}:4:5: steps[0].requst", bad.display())),
        "{stderr}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 0, "a journey ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_that_passes_is_flaky_and_exits_0() {
    let (base, count) = flapping(1).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flap.yaml");
    std::fs::write(
        &file,
        one_step("flap", &format!("{base}/health"), "team: a"),
    )
    .unwrap();
    let report = dir.path().join("r.xml");
    let mut c = journeyd(&["test", "--retries", "2", "--format", "junit", "--report"]);
    c.arg(&report).arg(&file);
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "one failed attempt, one retry"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("flaky"));
    let suites = junit_suites(&std::fs::read_to_string(&report).unwrap());
    let failures: Vec<&String> = suites[0]
        .inner
        .iter()
        .filter(|t| t.contains("ailure"))
        .collect();
    assert_eq!(failures, ["flakyFailure"], "{suites:?}");
    assert!(
        suites[0]
            .properties
            .contains(&("result".into(), "flaky".into()))
    );
    assert!(
        suites[0]
            .properties
            .contains(&("attempts".into(), "2".into()))
    );

    // Without retries the same flap fails.
    let (base, _) = flapping(1).await;
    std::fs::write(
        &file,
        one_step("flap", &format!("{base}/health"), "team: a"),
    )
    .unwrap();
    let mut c = journeyd(&["test"]);
    c.arg(&file);
    assert_eq!(output(c).await.status.code(), Some(1));
}

/// A server whose `/health` answers `up` only once `n` requests wait at the same time
/// (a barrier, bounded by 5 s): it proves runs overlap, without timing anything.
async fn needs_concurrency(n: usize) -> String {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(move || {
            let barrier = barrier.clone();
            async move {
                let met = tokio::time::timeout(std::time::Duration::from_secs(5), barrier.wait())
                    .await
                    .is_ok();
                let status = if met { "up" } else { "down" };
                axum::Json(serde_json::json!({ "status": status }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_run_journeys_at_the_same_time() {
    let base = needs_concurrency(3).await;
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c"] {
        let j = one_step(name, "{{ env.TARGET }}/health", "team: x");
        std::fs::write(dir.path().join(format!("{name}.yaml")), j).unwrap();
    }
    // The URL comes from the env file, as `{{ env.TARGET }}`.
    let env = dir.path().join("ci.env");
    std::fs::write(&env, format!("# target\nexport TARGET=\"{base}\"\n")).unwrap();
    let mut c = journeyd(&["test", "--jobs", "3", "--env-file"]);
    c.arg(&env).arg(dir.path()).env_remove("TARGET");
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn repeat_runs_each_journey_n_times() {
    let (base, count) = flapping(0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.yaml");
    std::fs::write(&file, one_step("r", &format!("{base}/health"), "team: a")).unwrap();
    let mut c = journeyd(&["test", "--repeat", "3", "--format", "json"]);
    c.arg(&file);
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let iterations: Vec<u64> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(iterations, [1, 2, 3]);
    assert_eq!(v["totals"]["passed"], 3);
    assert_eq!(count.load(Ordering::SeqCst), 3);
}
