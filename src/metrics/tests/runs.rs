//! What one run exports: exact samples, skipped and degraded runs, bounded labels.

use super::*;

#[test]
fn passing_then_failing_run_exports_expected_samples() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    m.set_journeys(std::slice::from_ref(&purchase));
    m.observe_run(&purchase, &passing_purchase());
    let mut second = failing_purchase();
    second.started_at = DateTime::from_timestamp(1_700_000_060, 0).unwrap();
    m.observe_run(&purchase, &second);
    let text = m.render();
    assert_lines(
        &text,
        &[
            r#"journeyd_journey_runs_total{journey="purchase",location="lab",result="pass"} 1"#,
            r#"journeyd_journey_runs_total{journey="purchase",location="lab",result="fail"} 1"#,
            r#"journeyd_journey_duration_seconds_count{journey="purchase",location="lab"} 2"#,
            r#"journeyd_journey_duration_seconds_sum{journey="purchase",location="lab"} 5"#,
            r#"journeyd_journey_success{journey="purchase",location="lab"} 0"#,
            r#"journeyd_journey_degraded{journey="purchase",location="lab"} 0"#,
            r#"journeyd_journey_last_run_timestamp_seconds{journey="purchase",location="lab"} 1700000062.5"#,
            r#"journeyd_journey_last_success_timestamp_seconds{journey="purchase",location="lab"} 1700000002.5"#,
            r#"journeyd_step_success{journey="purchase",location="lab",step="place order"} 1"#,
            r#"journeyd_step_success{journey="purchase",location="lab",step="order shipped"} 0"#,
            r#"journeyd_step_duration_seconds_count{journey="purchase",location="lab",step="order shipped"} 2"#,
            r#"journeyd_step_duration_seconds_bucket{journey="purchase",location="lab",step="order shipped",le="0.25"} 0"#,
            r#"journeyd_step_duration_seconds_bucket{journey="purchase",location="lab",step="order shipped",le="0.5"} 2"#,
            r#"journeyd_step_failures_total{class="backend_timeout",journey="purchase",location="lab",step="order shipped"} 1"#,
            r#"journeyd_step_http_duration_seconds{journey="purchase",location="lab",phase="connect",step="order shipped"} 0.02"#,
            r#"journeyd_step_http_duration_seconds{journey="purchase",location="lab",phase="processing",step="place order"} 0.25"#,
            r#"journeyd_step_attempts{journey="purchase",location="lab",step="order shipped"} 7"#,
            r#"journeyd_backend_completion_seconds_count{backend="fulfillment",journey="purchase",location="lab",step="order shipped"} 1"#,
            r#"journeyd_backend_completion_seconds_sum{backend="fulfillment",journey="purchase",location="lab",step="order shipped"} 3.2"#,
            r#"journeyd_backend_completion_seconds_bucket{backend="fulfillment",journey="purchase",location="lab",step="order shipped",le="5"} 1"#,
            r#"journeyd_backend_up{backend="fulfillment",location="lab"} 0"#,
            r#"journeyd_tls_cert_not_after_timestamp_seconds{journey="purchase",location="lab"} 1800000000"#,
        ],
    );
    assert!(
        !text.contains("cancel order"),
        "cleanup steps are not exported:\n{text}"
    );
    assert!(
        !text.contains(r#"class="assertion""#),
        "only classes that happened:\n{text}"
    );
}

#[test]
fn degraded_is_set_only_for_slow_passing_runs() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    m.set_journeys(std::slice::from_ref(&purchase));
    let mut slow = passing_purchase();
    slow.degraded = true;
    m.observe_run(&purchase, &slow);
    let line = |v| format!(r#"journeyd_journey_degraded{{journey="purchase",location="lab"}} {v}"#);
    assert_lines(&m.render(), &[&line(1)]);
    let mut slow_failure = failing_purchase();
    slow_failure.degraded = true;
    m.observe_run(&purchase, &slow_failure);
    assert_lines(&m.render(), &[&line(0)]);
}

#[test]
fn skipped_steps_keep_their_previous_values() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    m.set_journeys(std::slice::from_ref(&purchase));
    m.observe_run(&purchase, &passing_purchase());
    let first = failed("place order", None, FailureClass::HttpStatus);
    let skipped = StepOutcome::skipped(
        "order shipped",
        Some("fulfillment"),
        "an earlier step failed",
    );
    m.observe_run(
        &purchase,
        &run("purchase", Verdict::Fail, vec![first, skipped]),
    );
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_step_success{journey="purchase",location="lab",step="place order"} 0"#,
            r#"journeyd_step_success{journey="purchase",location="lab",step="order shipped"} 1"#,
            r#"journeyd_step_attempts{journey="purchase",location="lab",step="order shipped"} 4"#,
            r#"journeyd_step_duration_seconds_count{journey="purchase",location="lab",step="order shipped"} 1"#,
            r#"journeyd_backend_up{backend="fulfillment",location="lab"} 1"#,
        ],
    );
}

#[test]
fn static_labels_are_on_every_series_and_values_stay_bounded() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    m.set_journeys(std::slice::from_ref(&purchase));
    m.observe_run(&purchase, &failing_purchase());
    m.run_skipped("purchase", "overlap");
    m.observe_scheduling_lag(0.2);
    m.config_reloaded(true);
    m.observe_store(&crate::store::StoreStatus {
        queue_depth: 3,
        dropped_queue_full: 1,
        write_failed: 0,
        up: true,
    });
    let text = m.render();
    let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(
        samples.len() > 60,
        "expected every family populated:\n{text}"
    );
    for line in samples {
        assert!(
            line.contains(r#"location="lab""#),
            "no static label: {line}"
        );
    }
    for leak in ["https://", "shop.example", "paid", "ord-4711", "order_id"] {
        assert!(!text.contains(leak), "`{leak}` leaked into labels:\n{text}");
    }
}

#[test]
fn new_journeys_start_with_zero_run_counters() {
    let m = metrics();
    assert!(!m.render().contains("journeyd_journey_runs_total{"));
    m.set_journeys(&[journey(PURCHASE)]);
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_journey_runs_total{journey="purchase",location="lab",result="pass"} 0"#,
            r#"journeyd_journey_runs_total{journey="purchase",location="lab",result="fail"} 0"#,
            r#"journeyd_journeys{location="lab"} 1"#,
        ],
    );
}

#[test]
fn retries_are_counted_by_reason_and_deleted_with_the_step() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    m.set_journeys(std::slice::from_ref(&purchase));
    let mut run = passing_purchase();
    run.steps[0].retries = vec![FailureClass::Connect, FailureClass::HttpStatus];
    m.observe_run(&purchase, &run);
    m.observe_run(&purchase, &run);
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_step_retries_total{journey="purchase",location="lab",reason="connect",step="place order"} 2"#,
            r#"journeyd_step_retries_total{journey="purchase",location="lab",reason="http_status",step="place order"} 2"#,
        ],
    );
    m.set_journeys::<crate::journey::Journey>(&[]);
    assert!(!m.render().contains("journeyd_step_retries_total{"));
}
