//! `journeyd once` end to end: the binary against the demo company, exit
//! codes, output formats, and secrets never printed.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use journeyd::demo::DemoConfig;

use crate::util::demo::{Demo, demo_secrets, root};

fn once(demo: &Demo, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_journeyd"));
    c.current_dir(root())
        .arg("once")
        .arg("--var")
        .arg(format!("base={}", demo.base()))
        .args(args)
        .env_remove("JOURNEYD_SECRETS_DIR")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("RUST_LOG");
    c
}

/// Runs a blocking command off the async runtime (the demo serves on it).
async fn output(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

/// `journeys/NAME.yaml:LINE:COL` of the step named `step` in a shipped journey, found in
/// its text (the column is that of `name:` after `- `).
fn step_source(journey: &str, step: &str) -> String {
    let file = format!("journeys/{journey}.yaml");
    let text = std::fs::read_to_string(root().join(&file)).unwrap();
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim() == format!("- name: {step}"))
        .unwrap();
    let col = line.find("name:").unwrap() + 1;
    format!("{file}:{}:{col}", i + 1)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_journey_exits_0_with_progress_lines() {
    let demo = Demo::start().await;
    let secrets = demo_secrets();
    let mut c = once(&demo, &["purchase", "--secrets-dir"]);
    c.arg(&secrets);
    let out = output(c).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    for step in [
        "list products",
        "checkout",
        "payment captured",
        "order ships",
        "cancel order",
    ] {
        assert!(all.contains(step), "missing {step}: {all}");
    }
    assert!(all.contains("PASS purchase"), "{all}");
}

/// The issue's acceptance scenario, with the shipped journey unchanged (within: 20s).
#[tokio::test(flavor = "multi_thread")]
async fn stuck_fulfillment_fails_at_the_shipping_step_within_its_deadline() {
    let demo = Demo::start().await;
    demo.inject("fulfillment", "stuck").await;
    let mut c = once(&demo, &["purchase", "--secrets-dir"]);
    c.arg(demo_secrets());
    let started = Instant::now();
    let out = output(c).await;
    let took = started.elapsed();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(took < Duration::from_secs(25), "took {took:?}");
    assert!(
        all.contains(
            "FAIL purchase at step \"order ships\" (backend fulfillment): backend_timeout"
        ),
        "{all}"
    );
    // The failing step names where it is written, like a compiler error.
    let at = step_source("purchase", "order ships");
    assert!(all.contains(&format!("  --> {at}\n")), "{at}: {all}");
    assert!(all.contains("expected eq \"shipped\""), "{all}");
    assert!(all.contains("actual   \"preparing\""), "{all}");
    let order_id = all
        .split("order_id=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("order id printed");
    assert!(order_id.starts_with("o-"), "{order_id}");
    assert!(
        all.contains(&format!("/api/orders/{order_id}/shipment")),
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_and_junit_formats_describe_the_failure() {
    let demo = Demo::start().await;
    demo.inject("catalog", "error").await;
    let secrets = demo_secrets();
    let mut c = once(
        &demo,
        &[
            "journeys/purchase.yaml",
            "--format",
            "json",
            "--secrets-dir",
        ],
    );
    c.arg(&secrets);
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(1));
    let run: journeyd::runner::JourneyRun = serde_json::from_slice(&out.stdout).unwrap();
    let failed = run.failed_step().unwrap();
    assert_eq!(failed.name, "list products");
    assert_eq!(
        failed.failure.as_ref().unwrap().class.as_str(),
        "http_status"
    );
    assert_eq!(failed.http_status, Some(503));
    assert_eq!(
        failed.source.as_deref(),
        Some(step_source("purchase", "list products").as_str())
    );

    let mut c = once(&demo, &["purchase", "--format", "junit", "--secrets-dir"]);
    c.arg(&secrets);
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.contains("<testsuite name=\"purchase\""), "{xml}");
    assert!(
        xml.contains("<failure message=") && xml.contains("type=\"http_status\""),
        "{xml}"
    );
    assert!(xml.contains("<skipped"), "{xml}");
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_errors_exit_2() {
    let demo = Demo::start().await;
    let out = output(once(&demo, &["no-such-journey"])).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no journey named `no-such-journey`"));
    let out = output(once(&demo, &["tests/fixtures/invalid/unknown-key.yaml"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("unknown-key.yaml:4:5"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_secret_is_a_template_failure_naming_it() {
    let demo = Demo::start().await;
    let out = output(once(&demo, &["contract"])).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("secret `demo_password` is not set"), "{all}");
    assert!(all.contains("template"), "{all}");
}

/// A secret file that exists but cannot be read is reported as such, with its
/// path and the reason, never as "not set"; no request is sent.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_secret_file_is_named_with_its_reason_not_unset() {
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo_password");
    type Make = fn(&std::path::Path);
    let cases: [(&str, Make); 2] = [
        ("Is a directory", |p| std::fs::create_dir(p).unwrap()),
        ("the file is not UTF-8 text", |p| {
            std::fs::write(p, b"pw\xff\xfe\n").unwrap()
        }),
    ];
    for (reason, make) in cases {
        make(&path);
        let mut c = once(&demo, &["contract", "--secrets-dir"]);
        c.arg(dir.path());
        let out = output(c).await;
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{all}");
        let want = format!(
            "secret `demo_password`: could not read {}: ",
            path.display()
        );
        assert!(all.contains(&want), "{reason}: {all}");
        assert!(all.contains(reason), "{reason}: {all}");
        assert!(!all.contains("is not set"), "{reason}: {all}");
        if path.is_dir() {
            std::fs::remove_dir(&path).unwrap();
        }
    }
}

/// Secret values, secret captures and auth headers never reach any output:
/// text, JSON, JUnit or trace-level logs, on passing and failing runs.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_appear_in_any_output() {
    const PASSWORD: &str = "Zq9-unique-s3cret-pw";
    let demo = Demo::start_with(DemoConfig {
        password: PASSWORD.to_string(),
        ..DemoConfig::default()
    })
    .await;
    let token_like = regex::Regex::new(r"t-[0-9a-f]{16}").unwrap();
    let mut outputs = Vec::new();
    for fault in [
        None,
        Some(("auth", "error")),
        Some(("contracts", "error")),
        Some(("activation", "reject")),
    ] {
        if let Some((p, m)) = fault {
            demo.inject(p, m).await;
        }
        for journey in ["contract", "app-request"] {
            for format in ["text", "json", "junit"] {
                let mut c = once(&demo, &[journey, "--format", format]);
                c.env("JOURNEYD_SECRET_DEMO_PASSWORD", PASSWORD)
                    .env("RUST_LOG", "trace");
                outputs.push((format!("{journey} {format} {fault:?}"), output(c).await));
            }
        }
        if let Some((p, _)) = fault {
            demo.restore(p).await;
        }
    }
    let mut redacted_seen = false;
    for (case, out) in &outputs {
        let all = text(out);
        assert!(!all.contains(PASSWORD), "{case}: password leaked:\n{all}");
        assert!(
            !token_like.is_match(&all),
            "{case}: bearer token leaked:\n{all}"
        );
        redacted_seen |= all.contains("***");
    }
    assert!(redacted_seen, "no output showed a redacted value");
    // The failing login's evidence is shown, with its body redacted.
    let (_, login_fail) = outputs
        .iter()
        .find(|(c, _)| c.starts_with("contract text Some((\"auth\""))
        .unwrap();
    let t = text(login_fail);
    assert!(t.contains("FAIL contract at step \"log in\""), "{t}");
}
