//! A real Alertmanager receives the failure, the re-sends and the resolution.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn real_alertmanager_receives_the_failure_and_its_resolution() {
    if !require_tool(ALERTMANAGER) {
        return;
    }
    let am_dir = tempfile::tempdir().unwrap();
    let mut am = Alertmanager::start(ALERTMANAGER, am_dir.path());
    am.ready().await;
    let demo = Demo::start().await;
    let receiver = format!(
        "{{name: am, type: alertmanager, urls: [\"{}\"], resend_interval: 2s}}",
        am.base
    );
    let (d, _dir) = start_daemon(&demo, &alerting_config(&[], &[receiver]), &[]).await;
    wait_passing(&d).await;
    let alerts = am.alerts().await.unwrap();
    assert!(purchase_alert(&alerts).is_none(), "{alerts:?}");

    demo.inject("fulfillment", "stuck").await;
    let alert = wait_active_alert(&am, &d).await;
    assert_says_what_broke(&alert, &d).await;
    wait_kept_alive_by_resends(&am, &alert, &d).await;

    demo.restore("fulfillment").await;
    wait_resolved(&am, &alert, &d).await;
    let m = d.metrics().await.unwrap();
    assert_eq!(
        metric(&m, "journeyd_alert_state", &[("journey", PURCHASE)]),
        Some(0.0)
    );
    assert_eq!(notifications(&m, "am", "dropped"), 0.0, "{m}");
}
