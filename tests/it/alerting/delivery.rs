//! A flaky receiver gets everything in order; pending notifications survive `kill -9`.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn flaky_receiver_gets_every_notification_in_order_without_loss() {
    const REJECTED: usize = 4;
    let mut hook = Capture::start(REJECTED).await;
    let demo = Demo::start().await;
    let config = alerting_config(&[], &[hook_receiver(&hook)]);
    let (d, _dir) = start_daemon(&demo, &config, &[]).await;

    // Fire, resolve, fire, resolve, driven by the alert state, while the
    // receiver still refuses the first notification.
    for _ in 0..2 {
        demo.inject("fulfillment", "stuck").await;
        wait_alert_state(&d, PURCHASE, 2.0).await;
        demo.restore("fulfillment").await;
        wait_alert_state(&d, PURCHASE, 0.0).await;
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        let r = hook.next(SOON).await.unwrap_or_else(|e| {
            panic!(
                "{e}; accepted so far: {:?}\n--- daemon logs ---\n{}",
                statuses(&got),
                d.logs()
            )
        });
        got.push(r);
    }
    let want: Vec<(String, String)> = ["firing", "resolved", "firing", "resolved"]
        .iter()
        .map(|s| (s.to_string(), PURCHASE.to_string()))
        .collect();
    assert_eq!(statuses(&got), want);
    let ids: Vec<String> = got
        .iter()
        .map(|r| r.header("x-journeyd-delivery"))
        .collect();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 4, "delivery ids {ids:?}");
    // One alert identity, fired twice: the second firing starts after the first resolve.
    let alerts: Vec<Value> = got.iter().map(|r| r.json()["alerts"][0].clone()).collect();
    assert!(
        alerts
            .iter()
            .all(|a| a["fingerprint"] == alerts[0]["fingerprint"])
    );
    assert!(time(&alerts[1]["endsAt"]) >= time(&alerts[0]["startsAt"]));
    assert!(time(&alerts[2]["startsAt"]) > time(&alerts[1]["endsAt"]));
    assert_eq!(alerts[2]["endsAt"], "0001-01-01T00:00:00Z");

    let m = wait_metrics(&d, "an empty queue and 4 deliveries", |m| {
        let depth = metric(
            m,
            "journeyd_notification_queue_depth",
            &[("receiver", "hook")],
        );
        let delivered = notifications(m, "hook", "delivered");
        if depth == Some(0.0) && delivered >= 4.0 {
            Ok(())
        } else {
            Err(format!("depth={depth:?} delivered={delivered}"))
        }
    })
    .await;
    assert_eq!(notifications(&m, "hook", "delivered"), 4.0, "{m}");
    assert!(notifications(&m, "hook", "retry") >= REJECTED as f64, "{m}");
    assert_eq!(notifications(&m, "hook", "dropped"), 0.0, "{m}");
    let extra = hook.nothing_within(Duration::from_secs(1)).await;
    assert!(extra.is_none(), "a fifth notification: {extra:?}");
    // The refused attempts were retries of the first firing, not other notifications.
    let attempts = hook.attempts();
    let refused: Vec<String> = attempts
        .iter()
        .filter(|a| a.answered == 503)
        .map(|a| a.header("x-journeyd-delivery"))
        .collect();
    assert_eq!(refused, vec![ids[0].clone(); REJECTED], "{attempts:?}");
    assert_eq!(attempts.len(), REJECTED + 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_notifications_survive_kill_9() {
    let mut hook = Capture::start(0).await;
    hook.set_down(true);
    let demo = Demo::start().await;
    let config = alerting_config(&[], &[hook_receiver(&hook)]);
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &[PURCHASE], "2s");
    let mut d = TestDaemon::start(dir.path(), &config, &env(&demo, &[])).await;

    demo.inject("fulfillment", "stuck").await;
    wait_metrics(&d, "a refused notification waiting in the queue", |m| {
        let depth = metric(
            m,
            "journeyd_notification_queue_depth",
            &[("receiver", "hook")],
        );
        let retries = notifications(m, "hook", "retry");
        if depth.is_some_and(|n| n >= 1.0) && retries >= 1.0 {
            Ok(())
        } else {
            Err(format!("depth={depth:?} retries={retries}"))
        }
    })
    .await;
    let refused = hook.attempts();
    let pending_id = refused[0].header("x-journeyd-delivery");
    assert!(
        refused
            .iter()
            .all(|a| a.webhook_status().0 == "firing"
                && a.header("x-journeyd-delivery") == pending_id),
        "{refused:?}"
    );
    d.kill9();

    // The fault stays in: the restarted daemon keeps seeing purchase fail, and
    // must know from its state that the alert already fired.
    hook.set_down(false);
    let d = TestDaemon::start(dir.path(), &config, &env(&demo, &[])).await;
    // Read before any run can finish (a stuck run takes `within: 3s`): the
    // state loaded from alerts.db, asserted at the end.
    let restarted = d.metrics().await.unwrap();
    let state_at_restart = metric(&restarted, "journeyd_alert_state", &[("journey", PURCHASE)]);
    assert_eq!(runs(&restarted, PURCHASE, "fail"), 0.0, "read too late");
    let first = hook
        .next(SOON)
        .await
        .unwrap_or_else(|e| panic!("the pending firing was lost: {e}\n{}", d.logs()));
    assert_eq!(
        first.webhook_status(),
        ("firing".to_string(), PURCHASE.to_string())
    );
    assert_eq!(first.header("x-journeyd-delivery"), pending_id);
    // Three failed runs after the restart: the second one would have fired a
    // fresh alert if the state were lost, and it was committed before the third ran.
    let m = wait_metrics(
        &d,
        "three failed runs after the restart, queue empty",
        |m| {
            let fails = runs(m, PURCHASE, "fail");
            let depth = metric(
                m,
                "journeyd_notification_queue_depth",
                &[("receiver", "hook")],
            );
            if fails >= 3.0 && depth == Some(0.0) {
                Ok(())
            } else {
                Err(format!("fails={fails} depth={depth:?}"))
            }
        },
    )
    .await;
    assert_eq!(notifications(&m, "hook", "delivered"), 1.0, "{m}");
    assert_eq!(
        metric(&m, "journeyd_alert_state", &[("journey", PURCHASE)]),
        Some(2.0)
    );
    let again = hook.nothing_within(Duration::from_secs(2)).await;
    assert!(
        again.is_none(),
        "paged again after the restart: {:?}",
        again.map(|r| r.webhook_status())
    );
    // The persisted state says firing, so the gauge must say so from the
    // start, not vanish until the journey's next run.
    assert_eq!(
        state_at_restart,
        Some(2.0),
        "journeyd_alert_state{{journey=\"purchase\"}} right after the restart"
    );
}
