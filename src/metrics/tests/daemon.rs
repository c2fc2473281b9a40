//! Daemon-level series, the constructor, and `promtool check metrics`.

use super::*;
use crate::store::StoreStatus;

#[test]
fn skips_are_counted_by_reason() {
    let m = metrics();
    m.set_journeys(&[journey(PURCHASE)]);
    m.run_skipped("purchase", "overlap");
    m.run_skipped("purchase", "overlap");
    m.run_skipped("purchase", "shutdown");
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_runs_skipped_total{journey="purchase",location="lab",reason="overlap"} 2"#,
            r#"journeyd_runs_skipped_total{journey="purchase",location="lab",reason="shutdown"} 1"#,
        ],
    );
}

/// What the store reports, for `observe_store`.
fn status(queue_depth: usize, queue_full: u64, write_failed: u64, up: bool) -> StoreStatus {
    StoreStatus {
        queue_depth,
        dropped_queue_full: queue_full,
        write_failed,
        up,
    }
}

#[test]
fn store_dropped_counter_follows_the_running_total_per_reason() {
    let m = metrics();
    // Every series exists at 0 (or up at 1) before anything happens, so `increase()`
    // sees the first loss.
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_store_dropped_runs_total{location="lab",reason="queue_full"} 0"#,
            r#"journeyd_store_dropped_runs_total{location="lab",reason="write_failed"} 0"#,
            r#"journeyd_store_up{database="alerts",location="lab"} 1"#,
            r#"journeyd_store_up{database="run_history",location="lab"} 1"#,
            r#"journeyd_alert_commit_failures_total{location="lab"} 0"#,
            r#"journeyd_alert_notifications_in_memory{location="lab"} 0"#,
        ],
    );
    m.observe_store(&status(5, 2, 0, true));
    m.observe_store(&status(7, 2, 4, false));
    m.observe_store(&status(1, 5, 4, false));
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_store_queue_depth{location="lab"} 1"#,
            r#"journeyd_store_dropped_runs_total{location="lab",reason="queue_full"} 5"#,
            r#"journeyd_store_dropped_runs_total{location="lab",reason="write_failed"} 4"#,
            r#"journeyd_store_up{database="run_history",location="lab"} 0"#,
        ],
    );
    m.observe_store(&status(0, 1, 0, true)); // the store restarted its count
    m.observe_store(&status(0, 3, 1, true));
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_store_dropped_runs_total{location="lab",reason="queue_full"} 7"#,
            r#"journeyd_store_dropped_runs_total{location="lab",reason="write_failed"} 5"#,
            r#"journeyd_store_up{database="run_history",location="lab"} 1"#,
        ],
    );
}

#[test]
fn config_reload_gauges_start_at_zero_and_keep_the_last_success() {
    let m = metrics();
    let ts = |m: &Metrics| {
        let text = m.render();
        let prefix = r#"journeyd_config_last_reload_success_timestamp_seconds{location="lab"} "#;
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap()
            .to_string();
        line.parse::<f64>().unwrap()
    };
    let ok = |v| format!(r#"journeyd_config_last_reload_successful{{location="lab"}} {v}"#);
    assert_lines(&m.render(), &[&ok(0)]);
    assert_eq!(ts(&m), 0.0);
    m.config_reloaded(true);
    assert_lines(&m.render(), &[&ok(1)]);
    let first = ts(&m);
    assert!(first > 1.7e9, "{first}");
    m.config_reloaded(false);
    assert_lines(&m.render(), &[&ok(0)]);
    assert_eq!(ts(&m), first);
}

#[test]
fn build_info_and_scheduling_lag() {
    let m = metrics();
    m.observe_scheduling_lag(-0.5);
    m.observe_scheduling_lag(0.03);
    let version = env!("CARGO_PKG_VERSION");
    assert_lines(
        &m.render(),
        &[
            &format!(r#"journeyd_build_info{{location="lab",version="{version}"}} 1"#),
            r#"journeyd_scheduling_lag_seconds_count{location="lab"} 2"#,
            r#"journeyd_scheduling_lag_seconds_sum{location="lab"} 0.03"#,
            r#"journeyd_scheduling_lag_seconds_bucket{location="lab",le="0.001"} 1"#,
        ],
    );
}

#[test]
fn content_type_is_the_encoders_format_type() {
    use prometheus::Encoder;
    assert_eq!(CONTENT_TYPE, prometheus::TextEncoder::new().format_type());
}

#[test]
fn new_rejects_invalid_or_reserved_static_labels() {
    for name in ["journey", "le", "9lives", "__name", "a-b", ""] {
        let labels = BTreeMap::from([(name.to_string(), "x".to_string())]);
        assert!(Metrics::new(&labels).is_err(), "accepted `{name}`");
    }
    assert!(Metrics::new(&BTreeMap::new()).is_ok());
}

/// Why `journeyd_journey_info` is not a registry family: once a name was registered with some
/// label names, this registry refuses it with others, even after `unregister`.
#[test]
fn registry_refuses_new_label_names_after_unregister() {
    let r = Registry::new();
    let opts = || prometheus::Opts::new("x_info", "help");
    let first = prometheus::IntGaugeVec::new(opts(), &["a"]).unwrap();
    r.register(Box::new(first.clone())).unwrap();
    r.unregister(Box::new(first)).unwrap();
    let second = prometheus::IntGaugeVec::new(opts(), &["a", "b"]).unwrap();
    assert!(r.register(Box::new(second)).is_err());
}

/// Needs `promtool` (Debian package `prometheus`); `scripts/test.sh` installs it.
#[test]
fn promtool_accepts_the_output() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    let other = single("other", "s", "fulfillment", "{ channel: app }");
    m.set_journeys(&[purchase.clone(), other]);
    m.observe_run(&purchase, &passing_purchase());
    m.observe_run(&purchase, &failing_purchase());
    m.run_skipped("purchase", "overlap");
    m.observe_scheduling_lag(0.2);
    m.config_reloaded(true);
    m.observe_store(&status(3, 1, 1, true));
    let text = m.render();
    assert_promtool_accepts(&text);
}
