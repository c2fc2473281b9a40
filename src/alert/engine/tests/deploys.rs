//! The `deploy` annotation: the newest deploy within the window before the
//! alert started, touching the journey, is named; others are not.

use super::*;
use crate::alert::outbox::NewDeploy;

fn deploy(backends: &[&str], journeys: &[&str], version: &str) -> NewDeploy {
    NewDeploy {
        service: "shop".into(),
        backends: backends.iter().map(|s| s.to_string()).collect(),
        journeys: journeys.iter().map(|s| s.to_string()).collect(),
        version: version.into(),
        description: String::new(),
    }
}

/// The `deploy` annotation of the first JourneyFailing notification.
async fn deploy_note(db: &AlertDb) -> Option<String> {
    db.pending()
        .await
        .unwrap()
        .into_iter()
        .find_map(|p| match p.event {
            AlertEvent::Firing(a) if a.labels["alertname"] == "JourneyFailing" => Some(a),
            _ => None,
        })
        .expect("a JourneyFailing notification")
        .annotations
        .get("deploy")
        .cloned()
}

#[tokio::test]
async fn the_newest_deploy_of_the_journeys_backend_within_the_window_is_named() {
    let f = fixture(config(), &[journey("purchase", "checkout")], None).await;
    let at = |m: i64| t0() + Span::minutes(m);
    let add = |d, m| f.db.add_deploy(d, at(m));
    add(deploy(&[], &[], "everything-old"), -40).await.unwrap();
    add(deploy(&["fulfillment"], &[], "v1"), -10).await.unwrap();
    add(deploy(&["fulfillment"], &[], "v2"), -2).await.unwrap();
    add(deploy(&["payment"], &["refund"], "other"), -1)
        .await
        .unwrap();
    let failing = run("purchase", Some(FailureClass::BackendTimeout), at(0));
    f.engine.observe_at(&failing, at(0)).await;
    assert_eq!(
        deploy_note(&f.db).await.as_deref(),
        Some("started failing 2m after deploy fulfillment v2 (service shop)")
    );
}

#[tokio::test]
async fn deploys_outside_the_window_or_of_other_backends_are_not_named() {
    let window = AlertingConfig {
        deploy_window: std::time::Duration::from_secs(5 * 60),
        ..config()
    };
    let f = fixture(window, &[journey("purchase", "checkout")], None).await;
    let at = |m: i64| t0() + Span::minutes(m);
    let add = |d, m| f.db.add_deploy(d, at(m));
    add(deploy(&[], &[], "too-early"), -6).await.unwrap();
    add(deploy(&["payment"], &["refund"], "other"), -1)
        .await
        .unwrap();
    add(deploy(&[], &[], "after-the-start"), 1).await.unwrap();
    let failing = run("purchase", Some(FailureClass::BackendTimeout), at(0));
    f.engine.observe_at(&failing, at(0)).await;
    assert_eq!(deploy_note(&f.db).await, None);
}
