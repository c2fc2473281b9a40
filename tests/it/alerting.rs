//! journeyd's own alerting end to end: the real binary watches the in-process
//! demo company (purchase only, test-sized timings), faults are injected
//! through the demo's admin API, and what reaches the receivers (a real
//! Alertmanager, capture servers playing webhook, PagerDuty and Slack) is
//! asserted together with `/metrics` and the daemon's logs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::util::alerting::{
    Alertmanager, Capture, Received, SOON, alerting_config, http, metric, notifications, runs,
    wait_alert_state, wait_metrics,
};
use crate::util::daemon::{TestDaemon, daemon_env, require_tool, write_journeys};
use crate::util::demo::Demo;
use crate::util::wait::wait_until;

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
const DEMO_PASSWORD: &str = "demo-password";
const ADMIN_TOKEN: &str = "alerting-admin-token-7c2e";
const PURCHASE: &str = "purchase";

/// A daemon watching only `purchase` (every 2 s) with `config`, and its directory.
async fn start_daemon(
    demo: &Demo,
    config: &str,
    extra_env: &[(&str, &str)],
) -> (TestDaemon, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &[PURCHASE], "2s");
    let d = TestDaemon::start(dir.path(), config, &env(demo, extra_env)).await;
    (d, dir)
}

fn env(demo: &Demo, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = daemon_env(demo, DEMO_PASSWORD, ADMIN_TOKEN);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// A plain webhook receiver named `hook` posting to `capture`.
fn hook_receiver(capture: &Capture) -> String {
    format!(
        "{{name: hook, type: webhook, url: \"{}\"}}",
        capture.url("/hook")
    )
}

/// `(status, journey)` of each webhook notification.
fn statuses(got: &[Received]) -> Vec<(String, String)> {
    got.iter().map(Received::webhook_status).collect()
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {v}"))
        .to_utc()
}

/// Waits for a passing purchase run: the journey is healthy before a fault.
async fn wait_passing(d: &TestDaemon) {
    wait_metrics(d, "a passing purchase run", |m| {
        match runs(m, PURCHASE, "pass") {
            n if n >= 1.0 => Ok(()),
            n => Err(format!("passes = {n}")),
        }
    })
    .await;
}

/// The purchase `JourneyFailing` alert in a list of Alertmanager alerts.
fn purchase_alert(alerts: &[Value]) -> Option<&Value> {
    alerts.iter().find(|a| {
        a["labels"]["alertname"] == "JourneyFailing" && a["labels"]["journey"] == PURCHASE
    })
}

/// Waits until Alertmanager lists the purchase alert as active; returns it.
async fn wait_active_alert(am: &Alertmanager, d: &TestDaemon) -> Value {
    wait_until(SOON, async || {
        let alerts = am.alerts().await?;
        match purchase_alert(&alerts) {
            Some(a) if a["status"]["state"] == "active" => Ok(a.clone()),
            _ => Err(format!("{alerts:?}")),
        }
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "Alertmanager never got the purchase alert: {e}\n--- daemon logs ---\n{}\n--- alertmanager ---\n{}",
            d.logs(),
            am.output()
        )
    })
}

/// The alert says what broke, where, and links to a run page that answers.
async fn assert_says_what_broke(alert: &Value, d: &TestDaemon) {
    let labels: BTreeMap<String, String> = serde_json::from_value(alert["labels"].clone()).unwrap();
    let want: BTreeMap<String, String> = [
        ("alertname", "JourneyFailing"),
        ("journey", PURCHASE),
        ("step", "order ships"),
        ("backend", "fulfillment"),
        ("class", "backend_timeout"),
        ("severity", "critical"),
        ("location", "test"),
        ("team", "checkout"),
        ("channel", "web"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(labels, want, "{alert:#}");
    let notes = &alert["annotations"];
    let summary = notes["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("fulfillment") && summary.starts_with("purchase: "),
        "{alert:#}"
    );
    for key in ["expected", "actual"] {
        assert!(
            notes[key].as_str().is_some_and(|s| !s.is_empty()),
            "no {key}: {alert:#}"
        );
    }
    assert_eq!(
        notes["runbook_url"], "https://runbooks.example.com/journeys/purchase",
        "{alert:#}"
    );
    let run_url = notes["run_url"].as_str().unwrap_or("");
    assert_eq!(alert["generatorURL"], run_url, "{alert:#}");
    let run_path = run_url
        .strip_prefix(&d.base())
        .unwrap_or_else(|| panic!("run_url {run_url:?} is not on {}", d.base()));
    let id = run_path
        .strip_prefix("/runs/")
        .unwrap_or_else(|| panic!("run_url {run_url:?}"));
    uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("run_url {run_url:?}: {e}"));
    // The run is stored just after the alert is queued: wait for the page.
    wait_until(SOON, async || match d.get(run_path).await? {
        (200, _) => Ok(()),
        (status, body) => Err(format!("{status}: {body}")),
    })
    .await
    .unwrap_or_else(|e| panic!("GET {run_url}: {e}"));
}

/// Alertmanager forgets a firing alert at its endsAt (4 resend intervals
/// ahead): re-sends must keep it listed, with the same start, past the first one.
async fn wait_kept_alive_by_resends(am: &Alertmanager, alert: &Value, d: &TestDaemon) {
    let first_ends_at = time(&alert["endsAt"]);
    wait_until(SOON, async || {
        let alerts = am.alerts().await?;
        let Some(a) = purchase_alert(&alerts) else {
            return Ok(Err(format!("dropped while still failing: {alerts:?}")));
        };
        if a["startsAt"] != alert["startsAt"] {
            return Ok(Err(format!("a new alert instead of a re-send: {a}")));
        }
        if Utc::now() > first_ends_at && time(&a["endsAt"]) > first_ends_at {
            Ok(Ok(()))
        } else {
            Err(format!("first endsAt {first_ends_at} not passed yet: {a}"))
        }
    })
    .await
    .and_then(|r| r)
    .unwrap_or_else(|e| panic!("re-sends did not keep the alert: {e}\n{}", d.logs()));
}

/// Waits until Alertmanager no longer lists the alert, and checks a resolve did
/// it: the resolve (endsAt = when it resolved) removes it at once, while without
/// one it would linger until the endsAt of the last re-send.
async fn wait_resolved(am: &Alertmanager, alert: &Value, d: &TestDaemon) {
    let mut last_ends_at = time(&alert["endsAt"]);
    let gone_at = wait_until(SOON, async || {
        let alerts = am.alerts().await?;
        match purchase_alert(&alerts) {
            Some(a) => {
                last_ends_at = time(&a["endsAt"]);
                Err(format!("still listed: {a}"))
            }
            None => Ok(Utc::now()),
        }
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "the alert never resolved: {e}\n--- daemon logs ---\n{}",
            d.logs()
        )
    });
    assert!(
        gone_at < last_ends_at,
        "the alert only expired (at its endsAt {last_ends_at}); journeyd sent no resolve\n{}",
        d.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn real_alertmanager_receives_the_failure_and_its_resolution() {
    if !require_tool(ALERTMANAGER) {
        return;
    }
    let am_dir = tempfile::tempdir().unwrap();
    let mut am = Alertmanager::start(ALERTMANAGER, am_dir.path());
    am.ready().await;
    let demo = Demo::start().await;
    let receiver = format!(
        "{{name: am, type: alertmanager, urls: [\"{}\"], resend_interval: 2s}}",
        am.base
    );
    let (d, _dir) = start_daemon(&demo, &alerting_config(&[], &[receiver]), &[]).await;
    wait_passing(&d).await;
    let alerts = am.alerts().await.unwrap();
    assert!(purchase_alert(&alerts).is_none(), "{alerts:?}");

    demo.inject("fulfillment", "stuck").await;
    let alert = wait_active_alert(&am, &d).await;
    assert_says_what_broke(&alert, &d).await;
    wait_kept_alive_by_resends(&am, &alert, &d).await;

    demo.restore("fulfillment").await;
    wait_resolved(&am, &alert, &d).await;
    let m = d.metrics().await.unwrap();
    assert_eq!(
        metric(&m, "journeyd_alert_state", &[("journey", PURCHASE)]),
        Some(0.0)
    );
    assert_eq!(notifications(&m, "am", "dropped"), 0.0, "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn flaky_receiver_gets_every_notification_in_order_without_loss() {
    const REJECTED: usize = 4;
    let mut hook = Capture::start(REJECTED).await;
    let demo = Demo::start().await;
    let config = alerting_config(&[], &[hook_receiver(&hook)]);
    let (d, _dir) = start_daemon(&demo, &config, &[]).await;

    // Fire, resolve, fire, resolve, driven by the alert state, while the
    // receiver still refuses the first notification.
    for _ in 0..2 {
        demo.inject("fulfillment", "stuck").await;
        wait_alert_state(&d, PURCHASE, 2.0).await;
        demo.restore("fulfillment").await;
        wait_alert_state(&d, PURCHASE, 0.0).await;
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        let r = hook.next(SOON).await.unwrap_or_else(|e| {
            panic!(
                "{e}; accepted so far: {:?}\n--- daemon logs ---\n{}",
                statuses(&got),
                d.logs()
            )
        });
        got.push(r);
    }
    let want: Vec<(String, String)> = ["firing", "resolved", "firing", "resolved"]
        .iter()
        .map(|s| (s.to_string(), PURCHASE.to_string()))
        .collect();
    assert_eq!(statuses(&got), want);
    let ids: Vec<String> = got
        .iter()
        .map(|r| r.header("x-journeyd-delivery"))
        .collect();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 4, "delivery ids {ids:?}");
    // One alert identity, fired twice: the second firing starts after the first resolve.
    let alerts: Vec<Value> = got.iter().map(|r| r.json()["alerts"][0].clone()).collect();
    assert!(
        alerts
            .iter()
            .all(|a| a["fingerprint"] == alerts[0]["fingerprint"])
    );
    assert!(time(&alerts[1]["endsAt"]) >= time(&alerts[0]["startsAt"]));
    assert!(time(&alerts[2]["startsAt"]) > time(&alerts[1]["endsAt"]));
    assert_eq!(alerts[2]["endsAt"], "0001-01-01T00:00:00Z");

    let m = wait_metrics(&d, "an empty queue and 4 deliveries", |m| {
        let depth = metric(
            m,
            "journeyd_notification_queue_depth",
            &[("receiver", "hook")],
        );
        let delivered = notifications(m, "hook", "delivered");
        if depth == Some(0.0) && delivered >= 4.0 {
            Ok(())
        } else {
            Err(format!("depth={depth:?} delivered={delivered}"))
        }
    })
    .await;
    assert_eq!(notifications(&m, "hook", "delivered"), 4.0, "{m}");
    assert!(notifications(&m, "hook", "retry") >= REJECTED as f64, "{m}");
    assert_eq!(notifications(&m, "hook", "dropped"), 0.0, "{m}");
    let extra = hook.nothing_within(Duration::from_secs(1)).await;
    assert!(extra.is_none(), "a fifth notification: {extra:?}");
    // The refused attempts were retries of the first firing, not other notifications.
    let attempts = hook.attempts();
    let refused: Vec<String> = attempts
        .iter()
        .filter(|a| a.answered == 503)
        .map(|a| a.header("x-journeyd-delivery"))
        .collect();
    assert_eq!(refused, vec![ids[0].clone(); REJECTED], "{attempts:?}");
    assert_eq!(attempts.len(), REJECTED + 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_notifications_survive_kill_9() {
    let mut hook = Capture::start(0).await;
    hook.set_down(true);
    let demo = Demo::start().await;
    let config = alerting_config(&[], &[hook_receiver(&hook)]);
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &[PURCHASE], "2s");
    let mut d = TestDaemon::start(dir.path(), &config, &env(&demo, &[])).await;

    demo.inject("fulfillment", "stuck").await;
    wait_metrics(&d, "a refused notification waiting in the queue", |m| {
        let depth = metric(
            m,
            "journeyd_notification_queue_depth",
            &[("receiver", "hook")],
        );
        let retries = notifications(m, "hook", "retry");
        if depth.is_some_and(|n| n >= 1.0) && retries >= 1.0 {
            Ok(())
        } else {
            Err(format!("depth={depth:?} retries={retries}"))
        }
    })
    .await;
    let refused = hook.attempts();
    let pending_id = refused[0].header("x-journeyd-delivery");
    assert!(
        refused
            .iter()
            .all(|a| a.webhook_status().0 == "firing"
                && a.header("x-journeyd-delivery") == pending_id),
        "{refused:?}"
    );
    d.kill9();

    // The fault stays in: the restarted daemon keeps seeing purchase fail, and
    // must know from its state that the alert already fired.
    hook.set_down(false);
    let d = TestDaemon::start(dir.path(), &config, &env(&demo, &[])).await;
    // Read before any run can finish (a stuck run takes `within: 3s`): the
    // state loaded from alerts.db, asserted at the end.
    let restarted = d.metrics().await.unwrap();
    let state_at_restart = metric(&restarted, "journeyd_alert_state", &[("journey", PURCHASE)]);
    assert_eq!(runs(&restarted, PURCHASE, "fail"), 0.0, "read too late");
    let first = hook
        .next(SOON)
        .await
        .unwrap_or_else(|e| panic!("the pending firing was lost: {e}\n{}", d.logs()));
    assert_eq!(
        first.webhook_status(),
        ("firing".to_string(), PURCHASE.to_string())
    );
    assert_eq!(first.header("x-journeyd-delivery"), pending_id);
    // Three failed runs after the restart: the second one would have fired a
    // fresh alert if the state were lost, and it was committed before the third ran.
    let m = wait_metrics(
        &d,
        "three failed runs after the restart, queue empty",
        |m| {
            let fails = runs(m, PURCHASE, "fail");
            let depth = metric(
                m,
                "journeyd_notification_queue_depth",
                &[("receiver", "hook")],
            );
            if fails >= 3.0 && depth == Some(0.0) {
                Ok(())
            } else {
                Err(format!("fails={fails} depth={depth:?}"))
            }
        },
    )
    .await;
    assert_eq!(notifications(&m, "hook", "delivered"), 1.0, "{m}");
    assert_eq!(
        metric(&m, "journeyd_alert_state", &[("journey", PURCHASE)]),
        Some(2.0)
    );
    let again = hook.nothing_within(Duration::from_secs(2)).await;
    assert!(
        again.is_none(),
        "paged again after the restart: {:?}",
        again.map(|r| r.webhook_status())
    );
    // The persisted state says firing, so the gauge must say so from the
    // start, not vanish until the journey's next run.
    assert_eq!(
        state_at_restart,
        Some(2.0),
        "journeyd_alert_state{{journey=\"purchase\"}} right after the restart"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blip_does_not_page() {
    let mut hook = Capture::start(0).await;
    let demo = Demo::start().await;
    // The failed run and its confirmation make two failures: one short of firing.
    let config = alerting_config(
        &["confirm: 1", "failure_threshold: 3"],
        &[hook_receiver(&hook)],
    );
    let (d, _dir) = start_daemon(&demo, &config, &[]).await;
    wait_passing(&d).await;

    demo.inject("catalog", "error").await;
    // Both the failed run and its confirmation are in, and the journey is pending.
    let m = wait_metrics(&d, "a failure and its confirmation", |m| {
        let fails = runs(m, PURCHASE, "fail");
        let state = metric(m, "journeyd_alert_state", &[("journey", PURCHASE)]);
        // Not pending only: a daemon that wrongly fires must fail below, not time out here.
        if fails >= 2.0 && state.is_some_and(|s| s >= 1.0) {
            Ok(())
        } else {
            Err(format!("fails={fails} alert_state={state:?}"))
        }
    })
    .await;
    demo.restore("catalog").await;
    assert_eq!(
        metric(&m, "journeyd_alert_state", &[("journey", PURCHASE)]),
        Some(1.0),
        "a failure and its confirmation must leave purchase pending, not firing"
    );
    let passes = runs(&m, PURCHASE, "pass");
    let m = wait_metrics(&d, "two passing runs after the blip, alert state ok", |m| {
        let now = runs(m, PURCHASE, "pass");
        let state = metric(m, "journeyd_alert_state", &[("journey", PURCHASE)]);
        if now >= passes + 2.0 && state == Some(0.0) {
            Ok(())
        } else {
            Err(format!(
                "passes={now} (from {passes}) alert_state={state:?}"
            ))
        }
    })
    .await;
    let fails = runs(&m, PURCHASE, "fail");
    assert_eq!(
        fails, 2.0,
        "the fault stayed in for {fails} runs, not a blip: the test removed it too late"
    );
    assert!(
        d.logs().contains("Re-running to confirm the failure."),
        "no confirmation re-run"
    );
    let paged = hook.nothing_within(Duration::from_secs(1)).await;
    assert!(paged.is_none(), "a blip paged: {paged:?}");
    assert!(hook.attempts().is_empty(), "{:?}", hook.attempts());
    assert_eq!(notifications(&m, "hook", "delivered"), 0.0, "{m}");
    assert_eq!(
        metric(
            &m,
            "journeyd_notification_queue_depth",
            &[("receiver", "hook")]
        ),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn silence_holds_and_release_delivers() {
    let mut hook = Capture::start(0).await;
    let demo = Demo::start().await;
    let config = alerting_config(&[], &[hook_receiver(&hook)]);
    let (d, _dir) = start_daemon(&demo, &config, &[]).await;
    let client = http();
    let silences = format!("{}/api/silences", d.base());

    let resp = client
        .post(&silences)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({
            "matchers": {"journey": PURCHASE},
            "duration": "1h",
            "created_by": "alerting test",
            "comment": "fulfillment maintenance",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .expect("silence id");
    let listed: Value = client
        .get(&silences)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed
            .as_array()
            .is_some_and(|l| l.iter().any(|s| s["id"] == id)),
        "{listed}"
    );

    demo.inject("fulfillment", "stuck").await;
    wait_alert_state(&d, PURCHASE, 2.0).await;
    // Longer than the engine's 5 s tick and a run: a held alert would be sent by now.
    let leaked = hook.nothing_within(Duration::from_secs(7)).await;
    assert!(
        leaked.is_none(),
        "sent while silenced: {:?}",
        leaked.map(|r| r.webhook_status())
    );
    assert!(hook.attempts().is_empty(), "{:?}", hook.attempts());
    let m = d.metrics().await.unwrap();
    assert_eq!(notifications(&m, "hook", "delivered"), 0.0, "{m}");
    assert_eq!(
        metric(&m, "journeyd_alert_state", &[("journey", PURCHASE)]),
        Some(2.0),
        "the silence must not change the state"
    );

    let resp = client
        .delete(format!("{silences}/{id}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let released = Instant::now();
    let got = hook
        .next(Duration::from_secs(12))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "nothing after the silence ended: {e}\n--- daemon logs ---\n{}",
                d.logs()
            )
        });
    assert_eq!(
        got.webhook_status(),
        ("firing".to_string(), PURCHASE.to_string())
    );
    eprintln!(
        "firing delivered {:?} after the silence ended",
        released.elapsed()
    );
    let extra = hook.nothing_within(Duration::from_secs(1)).await;
    assert!(extra.is_none(), "sent twice: {extra:?}");
}

/// A trigger then a resolve for one incident (one dedup_key), saying what broke.
fn assert_pagerduty(pd: &[Value], routing_key: &str, base: &str) {
    let actions: Vec<&Value> = pd.iter().map(|e| &e["event_action"]).collect();
    assert_eq!(actions, ["trigger", "resolve"], "{pd:#?}");
    for e in pd {
        assert_eq!(e["routing_key"], routing_key);
        let key = e["dedup_key"].as_str().unwrap_or("");
        assert!(
            key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit()),
            "{e:#}"
        );
    }
    assert_eq!(pd[0]["dedup_key"], pd[1]["dedup_key"], "{pd:#?}");
    let trigger = &pd[0]["payload"];
    assert_eq!(trigger["severity"], "critical", "{trigger:#}");
    assert_eq!(trigger["component"], "fulfillment", "{trigger:#}");
    assert_eq!(trigger["group"], PURCHASE, "{trigger:#}");
    assert_eq!(trigger["class"], "backend_timeout", "{trigger:#}");
    assert!(
        trigger["summary"]
            .as_str()
            .is_some_and(|s| s.contains("fulfillment")),
        "{trigger:#}"
    );
    let hrefs: Vec<&str> = pd[0]["links"]
        .as_array()
        .map(|l| l.iter().filter_map(|x| x["href"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        hrefs
            .iter()
            .any(|h| h.starts_with(&format!("{base}/runs/"))),
        "{hrefs:?}"
    );
}

/// A FIRING then a RESOLVED message about purchase.
fn assert_slack(slack: &[Value]) {
    let texts: Vec<&str> = slack
        .iter()
        .map(|m| m["text"].as_str().unwrap_or(""))
        .collect();
    assert!(texts[0].starts_with("FIRING: purchase"), "{texts:?}");
    assert!(texts[1].starts_with("RESOLVED: purchase"), "{texts:?}");
    assert!(slack[0]["blocks"].is_array(), "{:#}", slack[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_pagerduty_and_slack_through_the_daemon() {
    const ROUTING_KEY: &str = "R0UTINGKEYpdsecret5678";
    const SLACK_PATH: &str = "/services/T0SECRET/B0SECRET/xyzSlackPathSecret1234";
    // The first two requests are refused with a body quoting the path and the
    // routing key, so the daemon has a chance to log them.
    let mut capture = Capture::start(2).await;
    let demo = Demo::start().await;
    let receivers = [
        format!(
            "{{name: pd, type: pagerduty, url: \"{}\", routing_key_secret: pd_key}}",
            capture.url("/v2/enqueue")
        ),
        "{name: chat, type: slack, url_secret: slack_url}".to_string(),
    ];
    let slack_url = capture.url(SLACK_PATH);
    let (d, _dir) = start_daemon(
        &demo,
        &alerting_config(&[], &receivers),
        &[
            ("JOURNEYD_SECRET_PD_KEY", ROUTING_KEY),
            ("JOURNEYD_SECRET_SLACK_URL", &slack_url),
        ],
    )
    .await;

    let mut got: Vec<Received> = Vec::new();
    let mut collect = async |got: &mut Vec<Received>, want: usize| {
        while got.len() < want {
            match capture.next(SOON).await {
                Ok(r) => got.push(r),
                Err(e) => panic!(
                    "{e}; got {:?}\n--- daemon logs ---\n{}",
                    got.iter().map(|r| r.path.clone()).collect::<Vec<_>>(),
                    d.logs()
                ),
            }
        }
    };
    demo.inject("fulfillment", "stuck").await;
    collect(&mut got, 2).await;
    demo.restore("fulfillment").await;
    collect(&mut got, 4).await;

    let pd: Vec<Value> = got
        .iter()
        .filter(|r| r.path == "/v2/enqueue")
        .map(Received::json)
        .collect();
    let slack: Vec<Value> = got
        .iter()
        .filter(|r| r.path == SLACK_PATH)
        .map(Received::json)
        .collect();
    assert_eq!((pd.len(), slack.len()), (2, 2), "{got:?}");

    assert_pagerduty(&pd, ROUTING_KEY, &d.base());
    assert_slack(&slack);

    let logs = d.logs();
    assert!(
        logs.contains("will retry"),
        "the refused deliveries were not logged:\n{logs}"
    );
    for secret in [ROUTING_KEY, SLACK_PATH, "xyzSlackPathSecret1234"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
