//! Tests of what all receivers share: the alert fingerprint and `build`.

use std::path::Path;

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
