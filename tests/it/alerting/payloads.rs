//! PagerDuty and Slack payloads through the daemon, without leaked keys.

use super::*;

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
