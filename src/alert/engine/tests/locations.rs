//! The engine in a fleet: runs arrive with their location, and a journey
//! pages only when enough locations confirm (`consensus`); a location without
//! network raises its own probe alert and does not vote.

use super::*;

async fn fleet_fixture(journeys: &[Journey]) -> Fixture {
    let mut c = AlertingConfig::default();
    c.backends.enabled = false;
    let f = fixture(c, journeys, None).await;
    f.engine.enable_locations().await;
    f
}

async fn seen(f: &Fixture, journey: &str, at: &str, class: Option<FailureClass>, s: i64) {
    let when = t0() + Span::seconds(s);
    f.engine
        .observe_in(&run(journey, class, when), Some(at), when)
        .await;
}

#[tokio::test]
async fn one_location_alone_does_not_page_two_do_once_and_naming_them() {
    let f = fleet_fixture(&[journey("purchase", "checkout")]).await;
    // Both locations report; then only eu fails, twice (its own tracker fires).
    seen(&f, "purchase", "us", None, 0).await;
    seen(&f, "purchase", "eu", FAIL, 1).await;
    seen(&f, "purchase", "eu", FAIL, 2).await;
    assert_eq!(outbox(&f.db).await, Vec::<String>::new(), "eu alone paged");
    // us confirms: one page.
    seen(&f, "purchase", "us", FAIL, 3).await;
    seen(&f, "purchase", "us", FAIL, 4).await;
    seen(&f, "purchase", "eu", FAIL, 5).await;
    assert_eq!(outbox(&f.db).await, ["log:+JourneyFailing/purchase"]);
    let page = f.db.pending().await.unwrap().remove(0);
    let AlertEvent::Firing(a) = page.event else {
        panic!("{page:?}")
    };
    assert_eq!(a.annotations["locations"], "eu, us");
    // us recovers: fewer than two locations fail, the page resolves once.
    seen(&f, "purchase", "us", None, 6).await;
    seen(&f, "purchase", "us", None, 7).await;
    seen(&f, "purchase", "eu", FAIL, 8).await;
    assert_eq!(
        outbox(&f.db).await,
        [
            "log:+JourneyFailing/purchase",
            "log:-JourneyFailing/purchase"
        ]
    );
}

#[tokio::test]
async fn a_location_without_network_raises_its_probe_alert_and_does_not_vote() {
    let journeys = [
        journey("purchase", "checkout"),
        journey("contract", "contracts"),
    ];
    let f = fleet_fixture(&journeys).await;
    let connect = Some(FailureClass::Connect);
    for (i, name) in ["purchase", "contract", "purchase", "contract"]
        .into_iter()
        .enumerate()
    {
        seen(&f, name, "eu", None, i as i64).await;
        seen(&f, name, "us", connect, i as i64).await;
    }
    let pending = f.db.pending().await.unwrap();
    let names: Vec<(String, Option<String>)> = pending
        .iter()
        .map(|p| match &p.event {
            AlertEvent::Firing(a) | AlertEvent::Resolved(a, _) => (
                a.labels["alertname"].clone(),
                a.labels.get("location").cloned(),
            ),
        })
        .collect();
    assert_eq!(
        names,
        [("JourneydProbeUnhealthy".to_string(), Some("us".to_string()))],
        "one probe alert for us, no journey page"
    );
    let locations = f.engine.locations().await;
    let us = locations.iter().find(|l| l.location == "us").unwrap();
    assert!(us.unknown);
    // Its network back: the probe alert resolves.
    seen(&f, "purchase", "us", None, 10).await;
    assert!(
        outbox(&f.db)
            .await
            .contains(&"log:-JourneydProbeUnhealthy/".to_string()),
        "{:?}",
        outbox(&f.db).await
    );
}

#[tokio::test]
async fn without_a_fleet_the_location_is_ignored_and_one_failing_view_pages() {
    let f = fixture(
        AlertingConfig::default(),
        &[journey("purchase", "checkout")],
        None,
    )
    .await;
    for s in 0..2 {
        let when = t0() + Span::seconds(s);
        f.engine
            .observe_in(&run("purchase", FAIL, when), Some("eu"), when)
            .await;
    }
    assert_eq!(outbox(&f.db).await, ["log:+JourneyFailing/purchase"]);
}
