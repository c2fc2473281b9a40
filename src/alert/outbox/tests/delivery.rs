//! Delivery workers: retries, order, Retry-After, permanent errors, restarts,
//! metrics; backoff arithmetic.

use super::*;

on_both_backends!(
    flaky_receiver_gets_every_notification_once_in_order,
    failed_attempts_are_stored_with_their_error,
    permanent_error_drops_the_row_and_the_next_proceeds,
    pending_notifications_are_delivered_after_a_restart,
    each_receiver_has_its_own_queue,
);
use crate::alert::outbox::delivery::{eval_backoff, eval_retry_delay};

fn ids(notifications: &[Notification]) -> Vec<i64> {
    notifications.iter().map(|n| n.id).collect()
}

fn events(notifications: &[Notification]) -> Vec<AlertEvent> {
    notifications.iter().map(|n| n.event.clone()).collect()
}

async fn flaky_receiver_gets_every_notification_once_in_order(fx: Fixture) {
    let db = fx.open();
    let m = metrics();
    let failures = vec![
        retryable("connection refused", None),
        retryable("HTTP 503", None),
        retryable("HTTP 429", None),
    ];
    let (pager, mut accepted) = Scripted::new("pager", failures);
    // Started first: the workers must pick up what is committed later (wake).
    let running = Running::start(&db, vec![pager.clone()], &m, fast());
    let events_sent = [firing("purchase"), firing("signup"), resolved("purchase")];
    db.commit("purchase", "firing", &to("pager", &events_sent[..1]))
        .await
        .unwrap();
    running.handle.wake();
    db.commit("signup", "firing", &to("pager", &events_sent[1..2]))
        .await
        .unwrap();
    db.commit("purchase", "ok", &to("pager", &events_sent[2..]))
        .await
        .unwrap();
    running.handle.wake();

    let got = take(&mut accepted, 3).await;
    running.stop().await;
    assert_eq!(events(&got), events_sent, "order: the resolve came last");
    let got_ids = ids(&got);
    assert!(got_ids.windows(2).all(|w| w[0] < w[1]), "{got_ids:?}");
    assert!(accepted.try_recv().is_err(), "a notification came twice");
    assert!(db.pending().await.unwrap().is_empty());
    // The first row was tried four times before anything else was tried.
    let calls: Vec<i64> = pager.calls().iter().map(|(id, _)| *id).collect();
    let first = got_ids[0];
    assert_eq!(calls, [first, first, first, first, got_ids[1], got_ids[2]]);
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_notifications_total{receiver="pager",result="delivered"} 3"#,
            r#"journeyd_notifications_total{receiver="pager",result="retry"} 3"#,
            r#"journeyd_notifications_total{receiver="pager",result="dropped"} 0"#,
            r#"journeyd_notification_queue_depth{receiver="pager"} 0"#,
            r#"journeyd_notification_delivery_seconds_count{receiver="pager"} 3"#,
        ],
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let dir = TempDir::new().unwrap();
    let db = open(&dir);
    let m = metrics();
    let busy = retryable("HTTP 429", Some(Duration::from_secs(30)));
    let (pager, mut accepted) = Scripted::new("pager", vec![busy]);
    db.enqueue(&to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    let running = Running::start(&db, vec![pager.clone()], &m, DeliveryOptions::default());
    take(&mut accepted, 1).await;
    running.stop().await;
    let calls = pager.calls();
    assert_eq!(calls.len(), 2);
    let waited = calls[1].1 - calls[0].1;
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(31),
        "retried after {waited:?}, not after Retry-After"
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_doubles_between_attempts_and_is_stored() {
    let dir = TempDir::new().unwrap();
    let db = open(&dir);
    let m = metrics();
    let script = (0..4).map(|i| retryable(&format!("HTTP 50{i}"), None));
    let (pager, mut accepted) = Scripted::new("pager", script.collect());
    db.enqueue(&to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    let running = Running::start(&db, vec![pager.clone()], &m, DeliveryOptions::default());
    take(&mut accepted, 1).await;
    running.stop().await;
    let calls = pager.calls();
    let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1].1 - w[0].1).collect();
    assert_eq!(gaps.len(), 4);
    for (i, gap) in gaps.iter().enumerate() {
        let nominal = Duration::from_secs(1 << i);
        assert!(
            *gap >= nominal.mul_f64(0.8) && *gap <= nominal.mul_f64(1.2) + Duration::from_millis(2),
            "gap {i} was {gap:?}, expected {nominal:?} ± 20%"
        );
    }
}

async fn failed_attempts_are_stored_with_their_error(fx: Fixture) {
    let db = fx.open();
    let m = metrics();
    let (pager, _accepted) = Scripted::refusing("pager", retryable("HTTP 502", None));
    db.enqueue(&to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    let options = DeliveryOptions {
        base: Duration::from_secs(3600),
        max: Duration::from_secs(3600),
        ..DeliveryOptions::default()
    };
    let before = Utc::now();
    let running = Running::start(&db, vec![pager.clone()], &m, options);
    pager.wait_calls(1).await;
    // Stopping lets the attempt in flight finish, storing its outcome.
    running.stop().await;
    let stored = db.pending().await.unwrap();
    assert_eq!(stored[0].attempts, 1);
    assert_eq!(stored[0].last_error.as_deref(), Some("HTTP 502"));
    let wait = stored[0].next_attempt_at - before;
    assert!(
        wait >= TimeDelta::minutes(47) && wait <= TimeDelta::minutes(73),
        "next attempt in {wait}, expected 1 h ± 20%"
    );
    assert_eq!(pager.calls().len(), 1, "retried before the backoff");
}

async fn permanent_error_drops_the_row_and_the_next_proceeds(fx: Fixture) {
    let db = fx.open();
    let m = metrics();
    let (pager, mut accepted) =
        Scripted::new("pager", vec![permanent("HTTP 400: bad routing key")]);
    let sent = [firing("purchase"), firing("signup"), firing("contract")];
    db.enqueue(&to("pager", &sent)).await.unwrap();
    let running = Running::start(&db, vec![pager.clone()], &m, fast());
    let got = take(&mut accepted, 2).await;
    running.stop().await;
    assert_eq!(events(&got), sent[1..]);
    assert_eq!(pager.calls().len(), 3, "the dropped row was retried");
    assert!(db.pending().await.unwrap().is_empty());
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_notifications_total{receiver="pager",result="delivered"} 2"#,
            r#"journeyd_notifications_total{receiver="pager",result="dropped"} 1"#,
            r#"journeyd_notifications_total{receiver="pager",result="retry"} 0"#,
        ],
    );
}

async fn pending_notifications_are_delivered_after_a_restart(fx: Fixture) {
    let sent = [firing("purchase"), firing("signup"), resolved("purchase")];
    {
        let db = fx.open();
        db.commit("purchase", "firing", &to("pager", &sent[..2]))
            .await
            .unwrap();
        db.commit("purchase", "ok", &to("pager", &sent[2..]))
            .await
            .unwrap();
        db.enqueue(&to("gone", &[firing("purchase")]))
            .await
            .unwrap();
        // A first life in which the receiver is down.
        let (down, _) = Scripted::refusing("pager", retryable("connection refused", None));
        let running = Running::start(&db, vec![down.clone()], &metrics(), fast());
        down.wait_calls(2).await;
        running.stop().await;
        assert_eq!(db.pending().await.unwrap()[0].attempts, 2);
    }

    let db = fx.open();
    let m = metrics();
    let (pager, mut accepted) = Scripted::new("pager", Vec::new());
    let running = Running::start(&db, vec![pager], &m, fast());
    let got = take(&mut accepted, 3).await;
    running.stop().await;
    assert_eq!(events(&got), sent);
    assert!(accepted.try_recv().is_err(), "a notification came twice");
    // Rows of a receiver that is not configured any more are kept.
    let left = db.pending().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].receiver, "gone");
    let text = m.render();
    assert!(!text.contains(r#"receiver="gone""#), "{text}");
}

async fn each_receiver_has_its_own_queue(fx: Fixture) {
    let db = fx.open();
    let m = metrics();
    let (down, _) = Scripted::refusing("pager", retryable("HTTP 503", None));
    let (chat, mut accepted) = Scripted::new("chat", Vec::new());
    let mut batch = to("pager", &[firing("purchase")]);
    batch.extend(to("chat", &[firing("purchase"), resolved("purchase")]));
    db.commit("purchase", "ok", &batch).await.unwrap();
    let receivers: Vec<Arc<dyn Receiver>> = vec![down, chat];
    let running = Running::start(&db, receivers, &m, fast());
    let got = take(&mut accepted, 2).await;
    assert_eq!(events(&got), [firing("purchase"), resolved("purchase")]);
    running.stop().await;
    let left = db.pending().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].receiver, "pager");
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_notification_queue_depth{receiver="pager"} 1"#,
            r#"journeyd_notification_queue_depth{receiver="chat"} 0"#,
        ],
    );
}

#[test]
fn backoff_doubles_from_base_up_to_max_with_jitter() {
    let o = DeliveryOptions::default();
    let s = Duration::from_secs;
    let cases = [
        (1, 1.0, s(1)),
        (2, 1.0, s(2)),
        (3, 1.0, s(4)),
        (9, 1.0, s(256)),
        (10, 1.0, s(300)),
        (1000, 1.0, s(300)),
        (1, 0.8, Duration::from_millis(800)),
        (10, 1.2, s(360)),
        (1, 5.0, Duration::from_millis(1200)),
    ];
    for (failures, jitter, want) in cases {
        assert_eq!(
            eval_backoff(failures, &o, jitter),
            want,
            "failures {failures}, jitter {jitter}"
        );
    }
    let retry = |after| eval_retry_delay(1, after, &o, 1.0);
    assert_eq!(retry(None), s(1));
    assert_eq!(retry(Some(s(30))), s(30));
    assert_eq!(
        retry(Some(Duration::from_millis(10))),
        s(1),
        "the backoff is the floor"
    );
    assert_eq!(retry(Some(s(86_400))), s(3600), "Retry-After is capped");
}
