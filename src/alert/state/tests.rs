//! Alert transitions, table-driven: a sequence of runs in, alerts out.

use super::*;

fn ctx() -> AlertContext {
    AlertContext {
        journey: "purchase".into(),
        labels: Arc::new(
            [
                ("team".to_string(), "checkout".to_string()),
                ("location".to_string(), "paris".to_string()),
            ]
            .into(),
        ),
        runbook: Some("https://runbooks.example.com/purchase".into()),
        base_url: Some("http://127.0.0.1:9750".into()),
        trace_url: Some("https://grafana.example.com/explore?traceId={trace_id}".into()),
        interval: Duration::from_secs(30),
    }
}

/// `P` pass, `F` fail at order ships (backend_timeout: sustained), `B` a blip at order
/// ships (timeout), `C` fail at checkout (http_status), `S` slow pass, `W` a pass that
/// left order ships pending as a durable obligation.
fn facts(kind: char, n: i64) -> RunFacts {
    let at = DateTime::<Utc>::from_timestamp(1_700_000_000 + n * 30, 0).unwrap();
    let base = RunFacts {
        run_id: uuid::Uuid::from_u128(n as u128),
        started_at: at,
        passed: true,
        degraded: false,
        step: None,
        backend: None,
        class: None,
        message: None,
        expected: None,
        actual: None,
        faults: FaultCount {
            requests: 5,
            faults: 0,
        },
        trace_id: Some(format!("{:032x}", n + 1)),
        diagnostics: None,
        pending: None,
    };
    match kind {
        'P' => base,
        'S' => RunFacts {
            degraded: true,
            step: Some("order ships".into()),
            backend: Some("fulfillment".into()),
            ..base
        },
        'F' => RunFacts {
            passed: false,
            step: Some("order ships".into()),
            backend: Some("fulfillment".into()),
            class: Some(FailureClass::BackendTimeout),
            message: Some("back-end process `fulfillment` did not finish within 20s".into()),
            expected: Some("$.status eq \"shipped\"".into()),
            actual: Some("\"preparing\"".into()),
            ..base
        },
        'B' => RunFacts {
            passed: false,
            step: Some("order ships".into()),
            backend: Some("fulfillment".into()),
            class: Some(FailureClass::Timeout),
            message: Some("no response within 10s".into()),
            ..base
        },
        'W' => RunFacts {
            pending: Some("order ships".into()),
            ..base
        },
        'C' => RunFacts {
            passed: false,
            step: Some("checkout".into()),
            class: Some(FailureClass::HttpStatus),
            message: Some("status: expected 202, got 503".into()),
            ..base
        },
        _ => unreachable!(),
    }
}

/// Runs a sequence; returns a compact log like `+JourneyFailing@order ships -JourneyFailing`.
fn play(seq: &str, policy: &AlertPolicy, t: &mut AlertTracker) -> Vec<String> {
    let mut out = Vec::new();
    for (i, k) in seq.chars().filter(|c| !c.is_whitespace()).enumerate() {
        for e in t.observe(&facts(k, i as i64), policy, &ctx()) {
            out.push(match e {
                AlertEvent::Firing(a) => format!(
                    "+{}@{}",
                    a.labels["alertname"],
                    a.labels.get("step").map_or("", String::as_str)
                ),
                AlertEvent::Resolved(a, _) => format!(
                    "-{}@{}",
                    a.labels["alertname"],
                    a.labels.get("step").map_or("", String::as_str)
                ),
            });
        }
    }
    out
}

#[test]
fn transitions_follow_the_policy() {
    let default = AlertPolicy::default();
    let m_of_n = AlertPolicy {
        failure_threshold: 5,
        window: Some((3, 5)),
        ..AlertPolicy::default()
    };
    let cases: &[(&str, &AlertPolicy, &str, &[&str])] = &[
        ("a single blip does not page", &default, "PPBPPP", &[]),
        (
            "a breached obligation stays firing while later runs only hand it over",
            &default,
            "PFWWWPP",
            &["+JourneyFailing@order ships", "-JourneyFailing@order ships"],
        ),
        (
            "a pending durable step does not hold an alert about another step",
            &default,
            "CCWW",
            &["+JourneyFailing@checkout", "-JourneyFailing@checkout"],
        ),
        (
            "a pass that hands an obligation over is a pass",
            &default,
            "WBWW",
            &[],
        ),
        (
            "an outage fires after the confirmation",
            &default,
            "PBB",
            &["+JourneyFailing@order ships"],
        ),
        (
            "a stuck back-end pages on its first sustained failure",
            &default,
            "PF",
            &["+JourneyFailing@order ships"],
        ),
        (
            "still failing does not page twice",
            &default,
            "BBBBBB",
            &["+JourneyFailing@order ships"],
        ),
        (
            "resolves after the success threshold",
            &default,
            "BBP",
            &["+JourneyFailing@order ships"],
        ),
        (
            "resolves after two successes",
            &default,
            "BBPP",
            &["+JourneyFailing@order ships", "-JourneyFailing@order ships"],
        ),
        (
            "a pass between failures resets the streak",
            &default,
            "BPBPBP",
            &[],
        ),
        (
            "failures at different steps never add up to a page",
            &default,
            "BCBCBCBC",
            &[],
        ),
        (
            "a new failing step ends the old alert once it is confirmed",
            &default,
            "BBCC",
            &[
                "+JourneyFailing@order ships",
                "-JourneyFailing@order ships",
                "+JourneyFailing@checkout",
            ],
        ),
        (
            "m of n fires on flapping",
            &m_of_n,
            "BPBPB",
            &["+JourneyFailing@order ships"],
        ),
        ("m of n needs a full window", &m_of_n, "BPB", &[]),
        (
            "degraded warns after the threshold, never pages",
            &default,
            "SS",
            &["+JourneyDegraded@order ships"],
        ),
        ("one slow run is a blip", &default, "SPSP", &[]),
        (
            "degraded resolves when fast again",
            &default,
            "SSPP",
            &[
                "+JourneyDegraded@order ships",
                "-JourneyDegraded@order ships",
            ],
        ),
    ];
    for (name, policy, seq, want) in cases {
        let mut t = AlertTracker::default();
        assert_eq!(play(seq, policy, &mut t), *want, "{name}");
    }
}

#[test]
fn firing_alert_says_what_broke_and_where_to_look() {
    let mut t = AlertTracker::default();
    let policy = AlertPolicy::default();
    t.observe(&facts('P', 0), &policy, &ctx());
    let events = t.observe(&facts('F', 1), &policy, &ctx());
    let [AlertEvent::Firing(a)] = events.as_slice() else {
        panic!("{events:?}");
    };
    let want: BTreeMap<String, String> = [
        ("alertname", "JourneyFailing"),
        ("backend", "fulfillment"),
        ("class", "backend_timeout"),
        ("journey", "purchase"),
        ("location", "paris"),
        ("severity", "critical"),
        ("step", "order ships"),
        ("team", "checkout"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(a.labels, want);
    assert!(
        a.annotations["summary"].starts_with(
            "purchase: step 'order ships' failed (backend fulfillment): backend_timeout"
        )
    );
    assert_eq!(a.annotations["expected"], "$.status eq \"shipped\"");
    assert_eq!(a.annotations["actual"], "\"preparing\"");
    assert_eq!(a.annotations["failure_streak"], "1");
    assert_eq!(
        a.annotations["last_success"],
        facts('P', 0).started_at.to_rfc3339()
    );
    assert_eq!(
        a.annotations["run_url"],
        format!("http://127.0.0.1:9750/runs/{}", uuid::Uuid::from_u128(1))
    );
    assert_eq!(
        a.annotations["runbook_url"],
        "https://runbooks.example.com/purchase"
    );
    let trace = format!("{:032x}", 2);
    assert_eq!(a.annotations["trace_id"], trace);
    assert_eq!(
        a.annotations["trace_url"],
        format!("https://grafana.example.com/explore?traceId={trace}")
    );
    assert_eq!(a.starts_at, facts('F', 1).started_at);
}

#[test]
fn state_survives_a_round_trip_through_json() {
    let mut t = AlertTracker::default();
    let policy = AlertPolicy::default();
    play("FF", &policy, &mut t);
    let stored = serde_json::to_string(&t).unwrap();
    let mut restored: AlertTracker = serde_json::from_str(&stored).unwrap();
    assert_eq!(restored, t);
    // After a restart, still firing: a failure does not re-page; two passes resolve once.
    assert_eq!(play("F", &policy, &mut restored), Vec::<String>::new());
    assert_eq!(
        play("PP", &policy, &mut restored),
        vec!["-JourneyFailing@order ships"]
    );
}

#[test]
fn phases_map_onto_the_alert_state_gauge_in_order() {
    let cases = [
        (Phase::Ok, "ok", 0),
        (Phase::Pending, "pending", 1),
        (Phase::Firing, "firing", 2),
    ];
    for (phase, name, gauge) in cases {
        let level = AlertLevel::from(phase);
        assert_eq!((level.as_str(), level.gauge()), (name, gauge), "{phase:?}");
    }
    assert_eq!(AlertLevel::ALL.map(AlertLevel::gauge), [0, 1, 2]);
}

/// A passing run of 10 requests of which `faults` were retried.
fn retried(n: i64, faults: u16) -> RunFacts {
    RunFacts {
        faults: FaultCount {
            requests: 10,
            faults,
        },
        ..facts('P', n)
    }
}

fn names(events: &[AlertEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            AlertEvent::Firing(a) => format!("+{}", a.labels["alertname"]),
            AlertEvent::Resolved(a, _) => format!("-{}", a.labels["alertname"]),
        })
        .collect()
}

#[test]
fn retried_faults_over_the_window_warn_as_flaky_and_never_page() {
    let policy = AlertPolicy {
        flaky: FlakyPolicy {
            runs: 10,
            percent: 2.0,
            min_faults: 3,
        },
        ..AlertPolicy::default()
    };
    let mut t = AlertTracker::default();
    let mut log = Vec::new();
    // 5 % of requests retried: one retry in every other run of 10 requests.
    for n in 0..20 {
        log.extend(names(&t.observe(
            &retried(n, (n % 2) as u16),
            &policy,
            &ctx(),
        )));
    }
    assert_eq!(log, ["+JourneyFlaky"], "one warning, no page");
    let alert = t.flaky.clone().unwrap();
    assert_eq!(alert.labels["severity"], "warning");
    assert!(!alert.labels.contains_key("step"), "{:?}", alert.labels);
    assert!(
        alert.annotations["summary"].contains("5.0% of requests"),
        "{}",
        alert.annotations["summary"]
    );
    // Clean runs bring the rate under half the threshold: resolved once.
    let mut log = Vec::new();
    for n in 20..40 {
        log.extend(names(&t.observe(&retried(n, 0), &policy, &ctx())));
    }
    assert_eq!(log, ["-JourneyFlaky"]);
}

#[test]
fn flaky_needs_a_rate_not_two_blips_and_can_be_off() {
    let policy = AlertPolicy {
        flaky: FlakyPolicy {
            runs: 10,
            percent: 2.0,
            min_faults: 3,
        },
        ..AlertPolicy::default()
    };
    let mut t = AlertTracker::default();
    // Two blips in a short window are 20 % of requests, but not yet a rate.
    let events: Vec<_> = (0..2)
        .flat_map(|n| t.observe(&retried(n, 1), &policy, &ctx()))
        .collect();
    assert!(events.is_empty(), "{:?}", names(&events));
    let off = AlertPolicy {
        flaky: FlakyPolicy {
            runs: 0,
            ..FlakyPolicy::default()
        },
        ..AlertPolicy::default()
    };
    let mut t = AlertTracker::default();
    let events: Vec<_> = (0..30)
        .flat_map(|n| t.observe(&retried(n, 5), &off, &ctx()))
        .collect();
    assert!(events.is_empty(), "{:?}", names(&events));
}

#[test]
fn an_outage_that_paged_does_not_read_as_flaky_after_it_resolves() {
    let mut t = AlertTracker::default();
    let policy = AlertPolicy::default();
    let mut log = Vec::new();
    let failed = |n| RunFacts {
        faults: FaultCount {
            requests: 3,
            faults: 1,
        },
        ..facts('C', n)
    };
    for n in 0..6 {
        log.extend(names(&t.observe(&failed(n), &policy, &ctx())));
    }
    for n in 6..20 {
        log.extend(names(&t.observe(&retried(n, 0), &policy, &ctx())));
    }
    assert_eq!(log, ["+JourneyFailing", "-JourneyFailing"]);
    assert!(t.flaky.is_none());
}

#[test]
fn a_tracker_keeps_its_alerts_out_of_line_and_stores_them_as_before() {
    // Every configured journey holds a tracker, and its alerts are absent nearly
    // always: inline they were 3 × 64 bytes.
    assert!(std::mem::size_of::<AlertTracker>() <= 160);
    let mut t = AlertTracker::default();
    for n in 0..4 {
        t.observe(&facts('F', n), &AlertPolicy::default(), &ctx());
    }
    let json = serde_json::to_value(&t).unwrap();
    let firing = t.firing.as_deref().expect("fires after the threshold");
    assert_eq!(json["firing"], serde_json::to_value(firing).unwrap());
    let back: AlertTracker = serde_json::from_value(json).unwrap();
    assert_eq!(back, t);
}
