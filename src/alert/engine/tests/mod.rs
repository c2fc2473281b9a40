//! The engine against a real `alerts.db`: what ends up in the outbox for a
//! sequence of runs, on a clock the test drives.

use std::path::Path;

use chrono::Duration as Span;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::alert::config::{MaintenanceWindow, ReceiverConfig, ReceiverKind, Route, Schedule};
use crate::alert::outbox::spawn_delivery;
use crate::alert::receivers::{AlertmanagerConfig, LogConfig, build_all};
use crate::alert::state::AlertEvent;
use crate::journey::Journey;
use crate::journey::parse::parse_journey;
use crate::journey::secrets::SecretSource;
use crate::journey::template::Engine;
use crate::runner::{Failure, PhaseTimings, StepOutcome, StepVerdict, Verdict};

mod backend;
mod deferred;

fn journey(name: &str, team: &str) -> Journey {
    let src = format!(
        "name: {name}\nlabels: {{ team: {team} }}\nsteps:\n  - name: order ships\n    backend: fulfillment\n    request: {{ url: \"http://127.0.0.1:1/\" }}\n"
    );
    parse_journey(Path::new("t.yaml"), &src, &Engine::new()).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn run(journey: &str, class: Option<FailureClass>, at: DateTime<Utc>) -> JourneyRun {
    let mut step = StepOutcome::skipped("order ships", Some("fulfillment"), "");
    step.skip_reason = None;
    step.timings = PhaseTimings::default();
    step.verdict = if class.is_some() {
        StepVerdict::Fail
    } else {
        StepVerdict::Pass
    };
    step.failure = class.map(|c| Failure {
        class: c,
        message: "did not finish".into(),
        mismatches: Vec::new(),
    });
    JourneyRun {
        run_id: uuid::Uuid::new_v4(),
        journey: journey.into(),
        started_at: at,
        duration_seconds: 1.0,
        verdict: if class.is_some() {
            Verdict::Fail
        } else {
            Verdict::Pass
        },
        degraded: false,
        captures: BTreeMap::new(),
        steps: vec![step],
        cleanup: Vec::new(),
        trace_id: None,
    }
}

struct Fixture {
    engine: AlertEngine,
    db: AlertDb,
    _dir: tempfile::TempDir,
}

async fn fixture(
    config: AlertingConfig,
    journeys: &[Journey],
    dir: Option<tempfile::TempDir>,
) -> Fixture {
    let dir = dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
    let db = AlertDb::open(dir.path().join("alerts.db")).unwrap();
    let receivers = build_all(&config.receivers, &SecretSource::default(), None).unwrap();
    let metrics = Arc::new(Metrics::new(&BTreeMap::new()).unwrap());
    metrics.set_journeys(journeys);
    // No workers: notifications stay in the outbox for the test to read.
    let delivery = spawn_delivery(
        db.clone(),
        Vec::new(),
        metrics.clone(),
        CancellationToken::new(),
    );
    let labels = [("location".to_string(), "paris".to_string())].into();
    let engine = AlertEngine::new(
        config,
        db.clone(),
        delivery,
        receivers,
        metrics,
        labels,
        "http://jd".into(),
    )
    .await;
    engine.set_journeys(journeys).await;
    Fixture {
        engine,
        db,
        _dir: dir,
    }
}

fn config() -> AlertingConfig {
    AlertingConfig {
        receivers: vec![
            ReceiverConfig {
                name: "pager".into(),
                kind: ReceiverKind::Log(LogConfig),
            },
            ReceiverConfig {
                name: "am".into(),
                kind: ReceiverKind::Alertmanager(AlertmanagerConfig {
                    urls: vec!["http://127.0.0.1:1".into()],
                    resend_interval: std::time::Duration::from_secs(60),
                }),
            },
        ],
        routes: vec![
            Route {
                matchers: [("team".to_string(), "checkout".to_string())].into(),
                receivers: vec!["pager".into(), "am".into()],
            },
            Route {
                matchers: BTreeMap::new(),
                receivers: vec!["am".into()],
            },
        ],
        ..AlertingConfig::default()
    }
}

/// The outbox as `receiver:+alertname/journey` / `receiver:-...`, in order.
async fn outbox(db: &AlertDb) -> Vec<String> {
    db.pending()
        .await
        .unwrap()
        .into_iter()
        .map(|p| match p.event {
            AlertEvent::Firing(a) => format!(
                "{}:+{}/{}",
                p.receiver,
                a.labels["alertname"],
                a.labels.get("journey").map_or("", String::as_str)
            ),
            AlertEvent::Resolved(a, _) => format!(
                "{}:-{}/{}",
                p.receiver,
                a.labels["alertname"],
                a.labels.get("journey").map_or("", String::as_str)
            ),
        })
        .collect()
}

/// A failure that needs its confirmation (not sustained like `backend_timeout`).
const FAIL: Option<FailureClass> = Some(FailureClass::HttpStatus);

#[tokio::test]
async fn outage_fires_once_per_routed_receiver_and_resolves() {
    // Both journeys fail at `fulfillment`: without grouping, each pages on its own.
    let mut separate = config();
    separate.backends.enabled = false;
    let f = fixture(
        separate,
        &[
            journey("purchase", "checkout"),
            journey("contract", "contracts"),
        ],
        None,
    )
    .await;
    let at = |s: i64| t0() + Span::seconds(s);
    f.engine
        .observe_at(&run("purchase", FAIL, at(0)), at(0))
        .await;
    assert_eq!(
        outbox(&f.db).await,
        Vec::<String>::new(),
        "one failure is not an outage"
    );
    f.engine
        .observe_at(&run("purchase", FAIL, at(2)), at(2))
        .await;
    f.engine
        .observe_at(&run("purchase", FAIL, at(30)), at(30))
        .await;
    f.engine
        .observe_at(&run("contract", FAIL, at(31)), at(31))
        .await;
    f.engine
        .observe_at(&run("contract", FAIL, at(33)), at(33))
        .await;
    f.engine
        .observe_at(&run("purchase", None, at(60)), at(60))
        .await;
    f.engine
        .observe_at(&run("purchase", None, at(90)), at(90))
        .await;
    assert_eq!(
        outbox(&f.db).await,
        [
            "pager:+JourneyFailing/purchase",
            "am:+JourneyFailing/purchase",
            "am:+JourneyFailing/contract",
            "pager:-JourneyFailing/purchase",
            "am:-JourneyFailing/purchase",
        ]
    );
}

#[tokio::test]
async fn reminders_and_alertmanager_resends_while_firing() {
    let f = fixture(config(), &[journey("purchase", "checkout")], None).await;
    f.engine
        .observe_at(&run("purchase", FAIL, t0()), t0())
        .await;
    f.engine
        .observe_at(&run("purchase", FAIL, t0()), t0())
        .await;
    let firing = outbox(&f.db).await.len();
    // Before repeat_interval (4h): only Alertmanager gets re-sends.
    f.engine.tick_at(t0() + Span::minutes(30)).await;
    let after_30m = outbox(&f.db).await;
    assert!(
        !after_30m[firing..].iter().any(|n| n.starts_with("pager:")),
        "{after_30m:?}"
    );
    // After repeat_interval: the pager is reminded once.
    f.engine.tick_at(t0() + Span::hours(5)).await;
    let reminders = outbox(&f.db)
        .await
        .iter()
        .filter(|n| *n == "pager:+JourneyFailing/purchase")
        .count();
    assert_eq!(reminders, 2);
}

#[tokio::test]
async fn maintenance_holds_then_releases_what_changed() {
    let mut c = config();
    c.maintenance = vec![MaintenanceWindow {
        name: "deploy".into(),
        matchers: [("team".to_string(), "checkout".to_string())].into(),
        schedule: Schedule::Once {
            start: t0(),
            end: t0() + Span::hours(1),
        },
    }];
    let f = fixture(c, &[journey("purchase", "checkout")], None).await;
    f.engine
        .observe_at(&run("purchase", FAIL, t0()), t0())
        .await;
    f.engine
        .observe_at(&run("purchase", FAIL, t0()), t0() + Span::seconds(2))
        .await;
    assert_eq!(
        outbox(&f.db).await,
        Vec::<String>::new(),
        "held during maintenance"
    );
    f.engine.tick_at(t0() + Span::minutes(61)).await;
    assert_eq!(
        outbox(&f.db).await,
        [
            "pager:+JourneyFailing/purchase",
            "am:+JourneyFailing/purchase"
        ]
    );
}

#[tokio::test]
async fn a_journey_that_recovers_during_maintenance_never_pages() {
    let mut c = config();
    c.maintenance = vec![MaintenanceWindow {
        name: "deploy".into(),
        matchers: BTreeMap::new(),
        schedule: Schedule::Once {
            start: t0(),
            end: t0() + Span::hours(1),
        },
    }];
    let f = fixture(c, &[journey("purchase", "checkout")], None).await;
    for (i, class) in [FAIL, FAIL, None, None].into_iter().enumerate() {
        let at = t0() + Span::seconds(30 * i as i64);
        f.engine.observe_at(&run("purchase", class, at), at).await;
    }
    f.engine.tick_at(t0() + Span::hours(2)).await;
    assert_eq!(outbox(&f.db).await, Vec::<String>::new());
}

#[tokio::test]
async fn silence_holds_until_it_expires() {
    let f = fixture(config(), &[journey("purchase", "checkout")], None).await;
    let matchers = [("journey".to_string(), "purchase".to_string())].into();
    let id =
        f.db.add_silence(
            &matchers,
            t0(),
            t0() + Span::hours(2),
            "alice",
            "provider maintenance",
        )
        .await
        .unwrap();
    f.engine
        .observe_at(&run("purchase", FAIL, t0()), t0())
        .await;
    f.engine
        .observe_at(&run("purchase", FAIL, t0()), t0())
        .await;
    f.engine.tick_at(t0() + Span::minutes(5)).await;
    assert_eq!(outbox(&f.db).await, Vec::<String>::new());
    assert!(
        f.db.expire_silence(id, t0() + Span::minutes(10))
            .await
            .unwrap()
    );
    f.engine.tick_at(t0() + Span::minutes(11)).await;
    assert_eq!(
        outbox(&f.db).await,
        [
            "pager:+JourneyFailing/purchase",
            "am:+JourneyFailing/purchase"
        ]
    );
}

#[tokio::test]
async fn a_restart_neither_repages_nor_forgets_the_resolve() {
    let journeys = [journey("purchase", "checkout")];
    let f = fixture(config(), &journeys, None).await;
    f.engine
        .observe_at(&run("purchase", FAIL, t0()), t0())
        .await;
    f.engine
        .observe_at(&run("purchase", FAIL, t0()), t0())
        .await;
    let Fixture { engine, db, _dir } = f;
    drop(engine);
    let before = outbox(&db).await;
    drop(db);
    let f = fixture(config(), &journeys, Some(_dir)).await;
    f.engine
        .observe_at(&run("purchase", FAIL, t0()), t0() + Span::seconds(30))
        .await;
    assert_eq!(
        outbox(&f.db).await,
        before,
        "still firing after restart: no new page"
    );
    f.engine
        .observe_at(&run("purchase", None, t0()), t0() + Span::seconds(60))
        .await;
    f.engine
        .observe_at(&run("purchase", None, t0()), t0() + Span::seconds(90))
        .await;
    let after = outbox(&f.db).await;
    assert_eq!(
        &after[before.len()..],
        [
            "pager:-JourneyFailing/purchase",
            "am:-JourneyFailing/purchase"
        ]
    );
}

mod deploys;
mod locations;
mod probe;
