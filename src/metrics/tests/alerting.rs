//! Alerting series: notifications by result, queue depth, delivery latency per
//! receiver; alert state per journey; deletion on reload; promtool.

use super::*;
use crate::metrics::AlertLevel;

fn receivers(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn notifications(receiver: &str, result: &str, v: u64) -> String {
    format!(
        r#"journeyd_notifications_total{{location="lab",receiver="{receiver}",result="{result}"}} {v}"#
    )
}

#[test]
fn notifications_are_counted_by_result_from_zero() {
    let m = metrics();
    m.set_receivers(&receivers(&["pager", "chat"]));
    assert_lines(
        &m.render(),
        &[
            &notifications("pager", "delivered", 0),
            &notifications("pager", "retry", 0),
            &notifications("pager", "dropped", 0),
            &notifications("chat", "delivered", 0),
            r#"journeyd_notification_queue_depth{location="lab",receiver="chat"} 0"#,
        ],
    );
    m.notification("pager", "retry");
    m.notification("pager", "retry");
    m.notification("pager", "delivered");
    m.notification("chat", "dropped");
    m.notification("chat", "exploded"); // not a result: ignored
    let text = m.render();
    assert_lines(
        &text,
        &[
            &notifications("pager", "retry", 2),
            &notifications("pager", "delivered", 1),
            &notifications("pager", "dropped", 0),
            &notifications("chat", "dropped", 1),
        ],
    );
    assert!(!text.contains("exploded"), "{text}");
}

#[test]
fn queue_depth_and_delivery_latency_per_receiver() {
    let m = metrics();
    m.set_receivers(&receivers(&["pager"]));
    m.set_notification_queue("pager", 7);
    m.set_notification_queue("pager", 3);
    m.observe_delivery("pager", 0.02);
    m.observe_delivery("pager", 45.0);
    m.observe_delivery("pager", -1.0); // clock skew counts as instant
    m.observe_delivery("pager", f64::NAN);
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_notification_queue_depth{location="lab",receiver="pager"} 3"#,
            r#"journeyd_notification_delivery_seconds_count{location="lab",receiver="pager"} 3"#,
            r#"journeyd_notification_delivery_seconds_sum{location="lab",receiver="pager"} 45.02"#,
            r#"journeyd_notification_delivery_seconds_bucket{location="lab",receiver="pager",le="0.01"} 1"#,
            r#"journeyd_notification_delivery_seconds_bucket{location="lab",receiver="pager",le="0.05"} 2"#,
            r#"journeyd_notification_delivery_seconds_bucket{location="lab",receiver="pager",le="30"} 2"#,
            r#"journeyd_notification_delivery_seconds_bucket{location="lab",receiver="pager",le="60"} 3"#,
            r#"journeyd_notification_delivery_seconds_bucket{location="lab",receiver="pager",le="3600"} 3"#,
        ],
    );
}

#[test]
fn removed_receivers_lose_their_series_and_late_updates_are_ignored() {
    let m = metrics();
    m.set_receivers(&receivers(&["pager", "old"]));
    m.notification("old", "delivered");
    m.set_notification_queue("old", 2);
    m.observe_delivery("old", 1.0);
    assert!(m.render().contains(r#"receiver="old""#));

    m.set_receivers(&receivers(&["pager"]));
    m.notification("old", "retry");
    m.set_notification_queue("old", 5);
    m.observe_delivery("old", 1.0);
    m.notification("never", "delivered");
    let text = m.render();
    assert!(
        !text.contains(r#"receiver="old""#),
        "series of `old` left:\n{text}"
    );
    assert!(!text.contains(r#"receiver="never""#), "{text}");
    assert_lines(&text, &[&notifications("pager", "delivered", 0)]);

    // Declaring a receiver again keeps its counts.
    m.notification("pager", "delivered");
    m.set_receivers(&receivers(&["pager"]));
    assert_lines(&m.render(), &[&notifications("pager", "delivered", 1)]);
}

#[test]
fn alert_state_is_0_1_2_and_deleted_with_its_journey() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    let other = single("other", "s", "fulfillment", "{}");
    m.set_journeys(&[purchase.clone(), other.clone()]);
    let state =
        |j: &str, v: i64| format!(r#"journeyd_alert_state{{journey="{j}",location="lab"}} {v}"#);
    m.set_alert_state("purchase", AlertLevel::Pending);
    m.set_alert_state("other", AlertLevel::Firing);
    assert_lines(&m.render(), &[&state("purchase", 1), &state("other", 2)]);
    m.set_alert_state("purchase", AlertLevel::Ok);
    assert_lines(&m.render(), &[&state("purchase", 0)]);

    m.set_journeys(std::slice::from_ref(&purchase));
    m.set_alert_state("other", AlertLevel::Firing); // late update after the reload
    m.set_alert_state("unknown", AlertLevel::Firing);
    let text = m.render();
    assert!(
        !text.contains(r#"journeyd_alert_state{journey="other""#),
        "{text}"
    );
    assert!(!text.contains("unknown"), "{text}");
    assert_lines(&text, &[&state("purchase", 0)]);
}

#[test]
fn receiver_is_reserved_for_journeyd() {
    let labels = BTreeMap::from([("receiver".to_string(), "x".to_string())]);
    assert!(Metrics::new(&labels).is_err());
}

/// Needs `promtool` (Debian package `prometheus`); `scripts/test.sh` installs it.
#[test]
fn promtool_accepts_the_alerting_series() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    m.set_journeys(std::slice::from_ref(&purchase));
    m.set_receivers(&receivers(&["pager", "chat"]));
    m.notification("pager", "delivered");
    m.notification("chat", "retry");
    m.set_notification_queue("chat", 1);
    m.observe_delivery("pager", 0.3);
    m.set_alert_state("purchase", AlertLevel::Firing);
    let text = m.render();
    assert!(
        text.contains("journeyd_alert_state{")
            && text.contains("journeyd_notification_delivery_seconds_bucket{")
    );
    assert_promtool_accepts(&text);
}
