//! Tests of what all receivers share: the alert fingerprint and `build`.

use std::path::Path;

use super::raw::RawReceiver;
use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

#[test]
fn fingerprint_is_sha256_of_sorted_labels_whatever_the_insertion_order() {
    let a = labels(&[
        ("severity", "critical"),
        ("journey", "purchase"),
        ("alertname", "JourneyFailing"),
    ]);
    let b = labels(&[
        ("alertname", "JourneyFailing"),
        ("journey", "purchase"),
        ("severity", "critical"),
    ]);
    // sha256("alertname=JourneyFailing\njourney=purchase\nseverity=critical"), computed with sha256sum.
    let want = "a4528e1b38c20af840f1c80092958a8ea09389cfe6104155e2d2c7930e8d8007";
    assert_eq!(fingerprint(&a), want);
    assert_eq!(fingerprint(&b), want);
    let other = labels(&[
        ("alertname", "JourneyFailing"),
        ("journey", "purchase"),
        ("severity", "warning"),
    ]);
    assert_ne!(fingerprint(&other), want);
}

fn secrets_in(dir: &Path, pairs: &[(&str, &str)]) -> SecretSource {
    for (name, value) in pairs {
        std::fs::write(dir.join(name), value).unwrap();
    }
    SecretSource {
        dirs: vec![dir.to_path_buf()],
    }
}

fn config(name: &str, kind: ReceiverKind) -> ReceiverConfig {
    ReceiverConfig {
        name: name.into(),
        kind,
    }
}

#[test]
fn missing_secret_is_named_and_no_secret_value_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_in(
        dir.path(),
        &[(
            "rcv_test_hook_url",
            "https://hooks.example.com/T0/SECRETVALUE\n",
        )],
    );
    let hook = config(
        "hook",
        ReceiverKind::Webhook(WebhookConfig {
            url: None,
            url_secret: Some("rcv_test_hook_url".into()),
            hmac_secret: Some("rcv_test_hook_hmac".into()),
        }),
    );
    let err = build(&hook, &secrets, None).unwrap_err();
    assert_eq!(
        err,
        "receiver 'hook': secret 'rcv_test_hook_hmac' is not set (set JOURNEYD_SECRET_RCV_TEST_HOOK_HMAC \
         or put a file named 'rcv_test_hook_hmac' in the secrets directory)"
    );
    assert!(!err.contains("SECRETVALUE"));

    let pd = config(
        "pd",
        ReceiverKind::PagerDuty(PagerDutyConfig {
            url: "https://events.pagerduty.com/v2/enqueue".into(),
            routing_key_secret: "rcv_test_pd_key".into(),
        }),
    );
    let err = build(&pd, &secrets, None).unwrap_err();
    assert!(
        err.starts_with("receiver 'pd': secret 'rcv_test_pd_key' is not set"),
        "{err}"
    );
}

#[test]
fn every_kind_builds_and_hides_its_secrets_from_debug() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_in(
        dir.path(),
        &[
            (
                "rcv_test_slack",
                "https://hooks.slack.example/services/T0/B0/SLACKTOKEN",
            ),
            ("rcv_test_pd", "PDROUTINGKEY"),
            ("rcv_test_hmac", "HMACKEY"),
        ],
    );
    let configs = [
        config(
            "am",
            ReceiverKind::Alertmanager(AlertmanagerConfig {
                urls: vec![
                    "http://127.0.0.1:9093".into(),
                    "http://127.0.0.2:9093".into(),
                ],
                resend_interval: Duration::from_secs(60),
            }),
        ),
        config(
            "pd",
            ReceiverKind::PagerDuty(PagerDutyConfig {
                url: "https://events.pagerduty.com/v2/enqueue".into(),
                routing_key_secret: "rcv_test_pd".into(),
            }),
        ),
        config(
            "slack",
            ReceiverKind::Slack(SlackConfig {
                url_secret: "rcv_test_slack".into(),
            }),
        ),
        config(
            "hook",
            ReceiverKind::Webhook(WebhookConfig {
                url: Some("http://127.0.0.1:8080/hook".into()),
                url_secret: None,
                hmac_secret: Some("rcv_test_hmac".into()),
            }),
        ),
        config("log", ReceiverKind::Log(LogConfig)),
    ];
    let built = build_all(&configs, &secrets, Some("http://journeyd:9750")).unwrap();
    let names: Vec<&str> = built.iter().map(|r| r.name()).collect();
    assert_eq!(names, ["am", "pd", "slack", "hook", "log"]);
    let resend: Vec<Option<Duration>> = built.iter().map(|r| r.resend_interval()).collect();
    assert_eq!(
        resend,
        [Some(Duration::from_secs(60)), None, None, None, None]
    );
    let debug = format!("{built:?}");
    for value in ["SLACKTOKEN", "PDROUTINGKEY", "HMACKEY"] {
        assert!(!debug.contains(value), "{value} in {debug}");
    }
}

#[test]
fn no_receiver_configured_means_the_log_receiver_and_all_errors_are_collected() {
    let secrets = SecretSource::default();
    let built = build_all(&[], &secrets, None).unwrap();
    assert_eq!(built.len(), 1);
    assert_eq!(built[0].name(), "log");
    assert_eq!(format!("{:?}", built[0]), "Log { name: \"log\" }");

    let neither = ReceiverKind::Webhook(WebhookConfig {
        url: None,
        url_secret: None,
        hmac_secret: None,
    });
    let both = ReceiverKind::Webhook(WebhookConfig {
        url: Some("http://a".into()),
        url_secret: Some("rcv_test_x".into()),
        hmac_secret: None,
    });
    let errors = build_all(&[config("a", neither), config("b", both)], &secrets, None).unwrap_err();
    assert_eq!(
        errors,
        [
            "receiver 'a': a webhook needs exactly one of url and url_secret",
            "receiver 'b': a webhook needs exactly one of url and url_secret",
        ]
    );
}

fn validate_yaml(yaml: &str) -> Vec<Validated> {
    let raw: Vec<RawReceiver> = serde_saphyr::from_str(yaml).unwrap();
    raw.iter()
        .enumerate()
        .map(|(i, r)| validate(r, &format!("receivers[{i}]")))
        .collect()
}

#[test]
fn each_type_accepts_only_its_own_keys() {
    let checked = validate_yaml(
        "- { name: a, type: slack, url_secret: hook, routing_key_secret: pd }\n\
         - { name: b, type: pagerduty, routing_key_secret: pd }\n\
         - { name: c, type: webhook, url: 'http://x', hmac_secrett: k }\n",
    );
    let problems: Vec<(u32, u32, &str)> = checked
        .iter()
        .flat_map(|c| &c.problems)
        .map(|p| (p.loc.line, p.loc.col, p.path.as_str()))
        .collect();
    assert_eq!(
        problems,
        [
            (1, 65, "receivers[0].routing_key_secret"),
            (3, 60, "receivers[2].hmac_secrett"),
        ]
    );
    assert!(
        checked[2].problems[0]
            .message
            .contains("did you mean `hmac_secret`?")
    );
    assert_eq!(
        checked[1].kind,
        Some(ReceiverKind::PagerDuty(PagerDutyConfig {
            url: "https://events.pagerduty.com/v2/enqueue".into(),
            routing_key_secret: "pd".into(),
        }))
    );
    let secrets: Vec<&str> = checked
        .iter()
        .flat_map(|c| &c.secrets)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(secrets, ["hook", "pd"]);
}

#[test]
fn every_type_is_listed_and_an_unknown_one_gets_a_suggestion() {
    assert_eq!(
        TYPES,
        ["alertmanager", "pagerduty", "slack", "webhook", "log"]
    );
    let checked = validate_yaml("- { name: a, type: webhok, url: 'http://x' }\n");
    assert_eq!(checked[0].kind, None);
    assert_eq!(checked[0].problems.len(), 1);
    assert_eq!(checked[0].problems[0].path, "receivers[0].type");
    assert!(
        checked[0].problems[0]
            .message
            .starts_with("unknown receiver type `webhok`; did you mean `webhook`?"),
        "{:?}",
        checked[0].problems
    );
}
