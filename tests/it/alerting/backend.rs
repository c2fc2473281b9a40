//! One page per broken back-end on the demo: breaking `auth` (the login of both
//! app-request and contract) gives one `BackendFailing` naming both journeys,
//! no `JourneyFailing`, and one resolve when it is repaired.

use super::*;

/// `(alertname, status)` of a webhook notification.
fn what(r: &Received) -> (String, String) {
    let b = r.json();
    (
        b["alerts"][0]["labels"]["alertname"]
            .as_str()
            .unwrap_or("?")
            .to_string(),
        b["status"].as_str().unwrap_or("?").to_string(),
    )
}

/// The next critical notification (a page) within `within`; warnings (the
/// `JourneyFlaky` the demo's 503s also raise) are not pages and are skipped.
async fn next_page(capture: &mut Capture, within: Duration) -> Option<Received> {
    let until = tokio::time::Instant::now() + within;
    loop {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        let r = capture.nothing_within(left).await?;
        if r.json()["alerts"][0]["labels"]["severity"] == "critical" {
            return Some(r);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_auth_pages_once_naming_both_journeys_then_resolves() {
    let mut capture = Capture::start(0).await;
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &["app-request", "contract"], "2s");
    let config = alerting_config(&[], &[hook_receiver(&capture)]);
    let d = TestDaemon::start(dir.path(), &config, &env(&demo, &[])).await;
    for journey in ["app-request", "contract"] {
        wait_metrics(&d, "a passing run of each journey", |m| {
            match runs(m, journey, "pass") {
                n if n >= 1.0 => Ok(()),
                n => Err(format!("{journey} passes = {n}")),
            }
        })
        .await;
    }

    demo.inject("auth", "error").await;
    let page = next_page(&mut capture, SOON)
        .await
        .unwrap_or_else(|| panic!("no page\n{}", d.logs()));
    assert_eq!(what(&page), ("BackendFailing".into(), "firing".into()));
    let alert = &page.json()["alerts"][0];
    assert_eq!(alert["labels"]["backend"], "auth", "{alert:#}");
    assert_eq!(alert["labels"]["severity"], "critical", "{alert:#}");
    assert_eq!(
        alert["annotations"]["journeys"], "app-request, contract",
        "{alert:#}"
    );
    assert_eq!(alert["annotations"]["channels"], "app, web", "{alert:#}");
    // Both journeys fire (the state says so) while nothing else is sent.
    wait_alert_state(&d, "app-request", 2.0).await;
    wait_alert_state(&d, "contract", 2.0).await;
    if let Some(extra) = next_page(&mut capture, Duration::from_secs(3)).await {
        panic!("a second page: {:#}", extra.json());
    }

    demo.restore("auth").await;
    let resolve = next_page(&mut capture, SOON)
        .await
        .unwrap_or_else(|| panic!("no resolve\n{}", d.logs()));
    assert_eq!(what(&resolve), ("BackendFailing".into(), "resolved".into()));
    wait_alert_state(&d, "app-request", 0.0).await;
    wait_alert_state(&d, "contract", 0.0).await;
    if let Some(extra) = next_page(&mut capture, Duration::from_secs(3)).await {
        panic!("a page on the way out: {:#}", extra.json());
    }
}
