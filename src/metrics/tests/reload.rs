//! Declaring journeys: series deletion, backend_up across journeys, journey_info keys.

use super::*;

#[test]
fn removing_a_journey_deletes_every_series_mentioning_it() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    let old = single(
        "old",
        "check stock",
        "inventory",
        "{ team: ops, channel: web }",
    );
    m.set_journeys(&[purchase.clone(), old.clone()]);
    let mut stock = failed("check stock", Some("inventory"), FailureClass::Timeout);
    stock.backend_completion_seconds = Some(1.0);
    m.observe_run(&old, &run("old", Verdict::Fail, vec![stock]));
    m.observe_run(
        &old,
        &run(
            "old",
            Verdict::Pass,
            vec![passed("check stock", Some("inventory"))],
        ),
    );
    m.run_skipped("old", "overlap");
    m.run_skipped("old", "shutdown");
    m.observe_run(&purchase, &passing_purchase());
    let before = m.render();
    assert!(before.contains(r#"journey="old""#) && before.contains(r#"reason="shutdown""#));
    assert!(before.contains(r#"backend="inventory""#) && before.contains(r#"channel="web""#));

    m.set_journeys(std::slice::from_ref(&purchase));
    let after = m.render();
    assert!(
        !after.contains(r#"journey="old""#),
        "series of `old` left:\n{after}"
    );
    assert!(
        !after.contains(r#"backend="inventory""#),
        "backend of `old` left:\n{after}"
    );
    assert!(
        !after.contains("channel"),
        "label keys of `old` left:\n{after}"
    );
    assert_lines(
        &after,
        &[
            r#"journeyd_journey_runs_total{journey="purchase",location="lab",result="pass"} 1"#,
            r#"journeyd_journeys{location="lab"} 1"#,
        ],
    );
}

#[test]
fn removing_a_step_deletes_its_series() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    m.set_journeys(std::slice::from_ref(&purchase));
    m.observe_run(&purchase, &passing_purchase());
    m.observe_run(&purchase, &failing_purchase());
    assert!(m.render().contains(r#"step="order shipped""#));

    let mut shorter = purchase.clone();
    shorter.steps.truncate(1);
    m.set_journeys(std::slice::from_ref(&shorter));
    let text = m.render();
    assert!(
        !text.contains(r#"step="order shipped""#),
        "removed step left:\n{text}"
    );
    assert!(
        !text.contains("journeyd_backend_up{"),
        "backend proved by nobody:\n{text}"
    );
    assert_lines(
        &text,
        &[r#"journeyd_step_success{journey="purchase",location="lab",step="place order"} 1"#],
    );
    // A late run of the old shape cannot bring the step back.
    m.observe_run(&purchase, &failing_purchase());
    assert!(!m.render().contains(r#"step="order shipped""#));
}

#[test]
fn changing_a_steps_backend_deletes_the_old_completion_series() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    m.set_journeys(std::slice::from_ref(&purchase));
    m.observe_run(&purchase, &passing_purchase());
    let mut moved = purchase.clone();
    moved.steps[1].backend = Some("shipping".into());
    m.set_journeys(&[moved]);
    let text = m.render();
    assert!(
        !text.contains(r#"backend="fulfillment""#),
        "old backend left:\n{text}"
    );
    assert_lines(
        &text,
        &[r#"journeyd_step_success{journey="purchase",location="lab",step="order shipped"} 1"#],
    );
}

#[test]
fn backend_up_needs_every_journey_proving_it_to_pass() {
    let m = metrics();
    let a = single("a", "shipped", "fulfillment", "{}");
    let b = single("b", "delivered", "fulfillment", "{}");
    m.set_journeys(&[a.clone(), b.clone()]);
    let up = |v| format!(r#"journeyd_backend_up{{backend="fulfillment",location="lab"}} {v}"#);
    let ok = |j: &str, s: &str| run(j, Verdict::Pass, vec![passed(s, Some("fulfillment"))]);
    m.observe_run(&a, &ok("a", "shipped"));
    m.observe_run(&b, &ok("b", "delivered"));
    assert_lines(&m.render(), &[&up(1)]);
    let broken = failed(
        "delivered",
        Some("fulfillment"),
        FailureClass::BackendTimeout,
    );
    m.observe_run(&b, &run("b", Verdict::Fail, vec![broken]));
    assert_lines(&m.render(), &[&up(0)]);
    m.observe_run(&a, &ok("a", "shipped"));
    assert_lines(&m.render(), &[&up(0)]);
    m.observe_run(&b, &ok("b", "delivered"));
    assert_lines(&m.render(), &[&up(1)]);
}

#[test]
fn journey_info_carries_the_union_of_label_keys() {
    let m = metrics();
    let a = single("a", "s", "x", "{ team: shop }");
    let b = single("b", "s", "x", "{ channel: app, location: paris }");
    m.set_journeys(&[a.clone(), b]);
    assert_lines(
        &m.render(),
        &[
            r#"journeyd_journey_info{channel="",journey="a",location="lab",team="shop"} 1"#,
            r#"journeyd_journey_info{channel="app",journey="b",location="lab",team=""} 1"#,
        ],
    );
    m.set_journeys(&[a]);
    let text = m.render();
    assert_lines(
        &text,
        &[r#"journeyd_journey_info{journey="a",location="lab",team="shop"} 1"#],
    );
    assert!(!text.contains("channel"), "stale label key:\n{text}");
}

#[test]
fn runs_and_skips_of_undeclared_journeys_are_ignored() {
    let m = metrics();
    let purchase = journey(PURCHASE);
    m.observe_run(&purchase, &failing_purchase());
    m.run_skipped("purchase", "overlap");
    let text = m.render();
    assert!(
        !text.contains(r#"journey="purchase""#),
        "undeclared journey exported:\n{text}"
    );
}
