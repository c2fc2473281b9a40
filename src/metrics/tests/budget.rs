//! The series budget (docs/metrics.md): a 5-step journey that has passed and failed,
//! over HTTPS, with a back-end proof, exports at most 40 series by default; the
//! per-step detail is opt-in; every series goes when the journey does.

use super::*;

const FIVE_STEPS: &str = r#"
name: five
labels: { team: shop, channel: web }
steps:
  - name: home
    request: { url: "https://shop.example/" }
  - name: log in
    request: { method: POST, url: "https://shop.example/login" }
  - name: add to cart
    request: { method: POST, url: "https://shop.example/cart" }
  - name: place order
    request: { method: POST, url: "https://shop.example/orders" }
  - name: order shipped
    backend: fulfillment
    request: { url: "https://shop.example/orders/1" }
    eventually: { within: 30s, every: 1s }
"#;

const STEPS: [&str; 5] = [
    "home",
    "log in",
    "add to cart",
    "place order",
    "order shipped",
];

fn outcomes(failing: Option<FailureClass>) -> Vec<StepOutcome> {
    STEPS
        .iter()
        .map(|name| {
            let backend = (*name == "order shipped").then_some("fulfillment");
            match failing.filter(|_| *name == "order shipped") {
                Some(class) => failed(name, backend, class),
                None => {
                    let mut s = passed(name, backend);
                    s.backend_completion_seconds = backend.map(|_| 2.0);
                    s
                }
            }
        })
        .collect()
}

/// Sample lines of `journey`, after a passing and a failing run.
fn series_of(m: &Metrics, journey: &Journey) -> Vec<String> {
    m.set_journeys(std::slice::from_ref(journey));
    m.set_alert_state("five", crate::metrics::AlertLevel::Ok);
    m.observe_run(journey, &run("five", Verdict::Pass, outcomes(None)));
    let failing = outcomes(Some(FailureClass::BackendTimeout));
    m.observe_run(journey, &run("five", Verdict::Fail, failing));
    m.render()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(r#"journey="five""#))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_five_step_journey_fits_in_forty_series_by_default() {
    let five = journey(FIVE_STEPS);
    let series = series_of(&default_metrics(), &five);
    println!(
        "a 5-step journey exports {} series by default",
        series.len()
    );
    assert!(
        series.len() <= 40,
        "{} series by default:\n{}",
        series.len(),
        series.join("\n")
    );
    // The budget still answers the on-call questions: did it pass, which step, why, how
    // long the back-end took, when the certificate expires.
    for needle in [
        "journeyd_journey_runs_total{",
        "journeyd_journey_duration_seconds_bucket{",
        "journeyd_step_success{",
        "journeyd_step_failures_total{",
        "journeyd_backend_completion_seconds_bucket{",
        "journeyd_tls_cert_not_after_timestamp_seconds{",
        "journeyd_journey_info{",
        "journeyd_alert_state{",
    ] {
        assert!(
            series.iter().any(|s| s.starts_with(needle)),
            "no {needle} in:\n{}",
            series.join("\n")
        );
    }
    for detail in [
        "journeyd_step_duration_seconds",
        "journeyd_step_http_duration_seconds",
        "journeyd_step_attempts",
    ] {
        assert!(
            !series.iter().any(|s| s.starts_with(detail)),
            "{detail} is step detail, off by default"
        );
    }
}

#[test]
fn step_detail_adds_per_step_histograms_and_phases() {
    let five = journey(FIVE_STEPS);
    let series = series_of(&metrics(), &five);
    let count = |prefix: &str| series.iter().filter(|s| s.starts_with(prefix)).count();
    assert_eq!(count("journeyd_step_http_duration_seconds{"), 5 * 4);
    assert_eq!(count("journeyd_step_attempts{"), 5);
    assert_eq!(count("journeyd_step_duration_seconds_count{"), 5);
    assert!(series.len() > 100, "{} series with detail", series.len());
}

#[test]
fn every_series_of_a_removed_journey_goes_in_both_modes() {
    for m in [default_metrics(), metrics()] {
        let five = journey(FIVE_STEPS);
        assert!(!series_of(&m, &five).is_empty());
        m.set_journeys::<crate::journey::Journey>(&[]);
        let left: Vec<String> = m
            .render()
            .lines()
            .filter(|l| l.contains(r#"journey="five""#))
            .map(str::to_string)
            .collect();
        assert!(left.is_empty(), "left behind:\n{}", left.join("\n"));
    }
}

#[test]
fn a_step_keeps_its_series_in_a_small_entry() {
    // Five per five-step journey, for as long as it is configured (docs/benchmarks.md, "Lean").
    assert!(std::mem::size_of::<crate::metrics::series::StepSeries>() <= 88);
}
