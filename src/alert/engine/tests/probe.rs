//! The probe alert: journeyd's own faults (network, descriptors, secrets it cannot
//! read) raise `JourneydProbeUnhealthy` and hold the journey alerts they explain.

use super::*;

#[tokio::test]
async fn losing_the_network_raises_one_probe_alert_and_holds_journey_alerts() {
    let journeys = [
        journey("purchase", "checkout"),
        journey("contract", "contracts"),
    ];
    let f = fixture(AlertingConfig::default(), &journeys, None).await;
    let connect = Some(FailureClass::Connect);
    for name in ["purchase", "contract", "purchase", "contract"] {
        f.engine.observe_at(&run(name, connect, t0()), t0()).await;
    }
    let out = outbox(&f.db).await;
    assert_eq!(
        out,
        ["log:+JourneydProbeUnhealthy/"],
        "journey alerts are held"
    );
    // Network back: the probe alert resolves.
    f.engine
        .observe_at(&run("purchase", None, t0()), t0() + Span::seconds(30))
        .await;
    let out = outbox(&f.db).await;
    assert!(
        out.contains(&"log:-JourneydProbeUnhealthy/".to_string()),
        "{out:?}"
    );
}

#[tokio::test]
async fn running_out_of_descriptors_raises_the_probe_alert_not_the_journey_alert() {
    let f = fixture(
        AlertingConfig::default(),
        &[journey("purchase", "checkout")],
        None,
    )
    .await;
    for s in [0, 2, 30, 60] {
        let mut r = run("purchase", Some(FailureClass::Connect), t0());
        r.steps[0].failure.as_mut().unwrap().message =
            "connect: Too many open files (os error 24)".into();
        let at = t0() + Span::seconds(s);
        f.engine.observe_at(&r, at).await;
    }
    assert_eq!(
        outbox(&f.db).await,
        ["log:+JourneydProbeUnhealthy/"],
        "journeyd's own exhaustion is never the customer's outage"
    );
}

#[tokio::test]
async fn unreadable_secret_from_exhaustion_raises_the_probe_alert_not_the_journey_alert() {
    use crate::journey::secrets::{SecretError, describe};
    let err = |errno| SecretError::Unreadable {
        name: "api_key".into(),
        path: "/run/credentials/api_key".into(),
        source: std::io::Error::from_raw_os_error(errno),
    };
    // (errno, what the outbox holds after four failing runs)
    let cases: [(i32, &[&str]); 4] = [
        (24, &["log:+JourneydProbeUnhealthy/"]), // EMFILE
        (23, &["log:+JourneydProbeUnhealthy/"]), // ENFILE
        (12, &["log:+JourneydProbeUnhealthy/"]), // ENOMEM
        (13, &["log:+JourneyFailing/purchase"]), // EACCES: the operator's to fix
    ];
    for (errno, want) in cases {
        let f = fixture(
            AlertingConfig::default(),
            &[journey("purchase", "checkout")],
            None,
        )
        .await;
        for s in [0, 2, 30, 60] {
            let mut r = run("purchase", Some(FailureClass::Template), t0());
            r.steps[0].failure.as_mut().unwrap().message = describe(&[err(errno)]);
            f.engine.observe_at(&r, t0() + Span::seconds(s)).await;
        }
        assert_eq!(outbox(&f.db).await, want, "errno {errno}");
    }
}
