//! One page per broken back-end: `BackendFailing` instead of each journey's
//! `JourneyFailing`, held journey alerts released when it resolves.

use super::*;
use crate::alert::config::BackendGrouping;

/// `name` with one step at `backend` (team `team`).
fn journey_at(name: &str, team: &str, backend: &str) -> Journey {
    let src = format!(
        "name: {name}\nlabels: {{ team: {team}, channel: web }}\nsteps:\n  - name: log in\n    backend: {backend}\n    request: {{ url: \"http://127.0.0.1:1/\" }}\n"
    );
    parse_journey(Path::new("t.yaml"), &src, &Engine::new()).unwrap()
}

fn run_at(journey: &str, backend: &str, class: Option<FailureClass>, s: i64) -> JourneyRun {
    let mut r = run(journey, class, at(s));
    r.steps[0].name = "log in".into();
    r.steps[0].backend = Some(backend.into());
    r
}

fn at(s: i64) -> DateTime<Utc> {
    t0() + Span::seconds(s)
}

fn journeys() -> Vec<Journey> {
    vec![
        journey_at("purchase", "checkout", "auth"),
        journey_at("contract", "contracts", "auth"),
        journey_at("app", "care", "backoffice"),
    ]
}

/// Fails `journey` at `backend` twice (failure, confirmation) from `s`.
async fn fail_twice(f: &Fixture, journey: &str, backend: &str, s: i64) {
    for t in [s, s + 2] {
        f.engine
            .observe_at(&run_at(journey, backend, FAIL, t), at(t))
            .await;
    }
}

async fn pass_twice(f: &Fixture, journey: &str, backend: &str, s: i64) {
    for t in [s, s + 30] {
        f.engine
            .observe_at(&run_at(journey, backend, None, t), at(t))
            .await;
    }
}

#[tokio::test]
async fn two_journeys_failing_at_one_backend_page_once_then_release_on_resolve() {
    let f = fixture(config(), &journeys(), None).await;
    fail_twice(&f, "purchase", "auth", 0).await;
    f.engine.tick_at(at(5)).await;
    assert_eq!(
        outbox(&f.db).await,
        Vec::<String>::new(),
        "waits for the group"
    );
    fail_twice(&f, "contract", "auth", 10).await;
    f.engine.tick_at(at(100)).await;
    let paged = outbox(&f.db).await;
    // Everyone either journey's page would have reached: pager + am (checkout), am.
    assert_eq!(paged, ["am:+BackendFailing/", "pager:+BackendFailing/"]);
    let pending = f.db.pending().await.unwrap();
    let AlertEvent::Firing(a) = &pending[0].event else {
        panic!("{pending:?}")
    };
    assert_eq!(a.labels["backend"], "auth");
    assert_eq!(a.labels["severity"], "critical");
    assert_eq!(a.annotations["journeys"], "contract, purchase");
    assert_eq!(a.annotations["teams"], "checkout, contracts");
    assert_eq!(a.annotations["channels"], "web");
    assert!(
        a.annotations["summary"].contains("backend auth is failing: 2 journeys"),
        "{a:?}"
    );

    // purchase recovers first: contract is still explained by the back-end alert.
    pass_twice(&f, "purchase", "auth", 120).await;
    assert_eq!(outbox(&f.db).await, paged, "nobody pages on the way out");
    pass_twice(&f, "contract", "auth", 130).await;
    assert_eq!(
        &outbox(&f.db).await[paged.len()..],
        ["am:-BackendFailing/", "pager:-BackendFailing/"]
    );
}

#[tokio::test]
async fn a_journey_whose_failure_moves_elsewhere_pages_and_the_backend_resolves_last() {
    let f = fixture(config(), &journeys(), None).await;
    fail_twice(&f, "purchase", "auth", 0).await;
    fail_twice(&f, "contract", "auth", 4).await;
    let paged = outbox(&f.db).await;
    assert_eq!(paged.len(), 2, "{paged:?}");
    // contract now fails at its own back-end: a different reason, its own page.
    fail_twice(&f, "contract", "contracts", 40).await;
    assert_eq!(
        &outbox(&f.db).await[paged.len()..],
        ["am:+JourneyFailing/contract"]
    );
    // auth recovers for purchase, its last journey: the back-end alert resolves.
    pass_twice(&f, "purchase", "auth", 50).await;
    assert_eq!(
        &outbox(&f.db).await[paged.len() + 1..],
        ["am:-BackendFailing/", "pager:-BackendFailing/"]
    );
}

#[tokio::test]
async fn one_journey_failing_at_a_shared_backend_pages_after_the_group_wait() {
    let f = fixture(config(), &journeys(), None).await;
    fail_twice(&f, "purchase", "auth", 0).await;
    f.engine.tick_at(at(29)).await;
    assert_eq!(outbox(&f.db).await, Vec::<String>::new());
    f.engine.tick_at(at(33)).await;
    assert_eq!(
        outbox(&f.db).await,
        [
            "pager:+JourneyFailing/purchase",
            "am:+JourneyFailing/purchase"
        ]
    );
}

#[tokio::test]
async fn a_journey_failing_for_another_reason_still_pages_on_its_own() {
    let f = fixture(config(), &journeys(), None).await;
    fail_twice(&f, "purchase", "auth", 0).await;
    fail_twice(&f, "contract", "auth", 4).await;
    // app's back-end is its own: no wait, no group.
    fail_twice(&f, "app", "backoffice", 6).await;
    assert_eq!(
        outbox(&f.db).await,
        [
            "am:+BackendFailing/",
            "pager:+BackendFailing/",
            "am:+JourneyFailing/app"
        ]
    );
}

#[tokio::test]
async fn grouping_off_pages_each_journey_and_a_restart_does_not_repage_the_backend() {
    let off = AlertingConfig {
        backends: BackendGrouping {
            enabled: false,
            ..BackendGrouping::default()
        },
        ..config()
    };
    let f = fixture(off, &journeys(), None).await;
    fail_twice(&f, "purchase", "auth", 0).await;
    fail_twice(&f, "contract", "auth", 4).await;
    assert_eq!(
        outbox(&f.db).await,
        [
            "pager:+JourneyFailing/purchase",
            "am:+JourneyFailing/purchase",
            "am:+JourneyFailing/contract"
        ]
    );

    let f = fixture(config(), &journeys(), None).await;
    fail_twice(&f, "purchase", "auth", 0).await;
    fail_twice(&f, "contract", "auth", 4).await;
    let Fixture { engine, db, _dir } = f;
    drop(engine);
    let before = outbox(&db).await;
    assert_eq!(before.len(), 2, "{before:?}");
    drop(db);
    let f = fixture(config(), &journeys(), Some(_dir)).await;
    fail_twice(&f, "contract", "auth", 60).await;
    f.engine.tick_at(at(120)).await;
    assert_eq!(outbox(&f.db).await, before, "no page again after a restart");
    pass_twice(&f, "contract", "auth", 150).await;
    pass_twice(&f, "purchase", "auth", 150).await;
    assert_eq!(
        &outbox(&f.db).await[before.len()..],
        ["am:-BackendFailing/", "pager:-BackendFailing/"],
        "the resolve is not forgotten, and no journey pages on its way out"
    );
}
