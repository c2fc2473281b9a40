//! The chunked exposition: many journeys across several chunks still make one valid text
//! with each family's header once, label values are escaped, and the series journeyd
//! writes itself match the registry's format.

use super::*;

fn many(n: usize) -> Vec<Journey> {
    (0..n)
        .map(|i| {
            journey(&format!(
                "name: j{i:04}\nlabels: {{ team: t{} }}\nsteps:\n  - name: a\n    request: {{ url: \"http://127.0.0.1:1/\" }}\n  - name: b\n    backend: fulfillment\n    request: {{ url: \"http://127.0.0.1:1/\" }}\n",
                i % 7
            ))
        })
        .collect()
}

fn outcome_run(name: &str, pass: bool) -> JourneyRun {
    let mut b = if pass {
        passed("b", Some("fulfillment"))
    } else {
        failed("b", Some("fulfillment"), FailureClass::BackendTimeout)
    };
    b.backend_completion_seconds = Some(1.5);
    let verdict = if pass { Verdict::Pass } else { Verdict::Fail };
    run(name, verdict, vec![passed("a", None), b])
}

#[test]
fn a_scrape_in_many_chunks_is_one_valid_exposition() {
    let m = metrics();
    let journeys = many(600);
    m.set_journeys(&journeys);
    for j in &journeys {
        m.observe_run(j, &outcome_run(&j.name, true));
        m.observe_run(j, &outcome_run(&j.name, false));
        m.set_alert_state(&j.name, AlertLevel::Pending);
    }
    let mut cursor = Cursor::default();
    let mut chunks = Vec::new();
    while let Some(chunk) = m.render_chunk(&mut cursor) {
        assert!(
            chunk.len() < 2 * crate::metrics::expose::CHUNK_BYTES,
            "{} bytes",
            chunk.len()
        );
        chunks.push(chunk);
    }
    assert!(chunks.len() > 3, "{} chunks", chunks.len());
    let text = chunks.concat();
    assert_eq!(text, m.render(), "chunked and whole scrapes differ");
    for family in [
        "journeyd_step_success",
        "journeyd_journey_runs_total",
        "journeyd_alert_state",
    ] {
        let headers = text
            .lines()
            .filter(|l| {
                *l == format!(
                    "# TYPE {family} {}",
                    if family.ends_with("_total") {
                        "counter"
                    } else {
                        "gauge"
                    }
                )
            })
            .count();
        assert_eq!(headers, 1, "{family}");
    }
    for j in &journeys {
        let name = &j.name;
        assert_lines(
            &text,
            &[
                &format!(r#"journeyd_step_success{{journey="{name}",location="lab",step="b"}} 0"#),
                &format!(r#"journeyd_alert_state{{journey="{name}",location="lab"}} 1"#),
            ],
        );
    }
    assert_promtool_accepts(&text);
}

#[test]
fn label_values_are_escaped_and_info_labels_sorted_around_journey() {
    let m = default_metrics();
    let j = journey(
        "name: odd\nlabels: { zone: \"a\\\"b\\\\c\", app: web }\nsteps:\n  - name: s\n    request: { url: \"http://127.0.0.1:1/\" }\n",
    );
    m.set_journeys(std::slice::from_ref(&j));
    let text = m.render();
    assert_lines(
        &text,
        &[r#"journeyd_journey_info{app="web",journey="odd",location="lab",zone="a\"b\\c"} 1"#],
    );
    assert_promtool_accepts(&text);
}

#[test]
fn a_removed_journey_vanishes_even_between_chunks() {
    let m = default_metrics();
    let journeys = many(600);
    m.set_journeys(&journeys);
    for j in &journeys {
        m.observe_run(j, &outcome_run(&j.name, true));
    }
    let mut cursor = Cursor::default();
    let first = m.render_chunk(&mut cursor).unwrap();
    m.set_journeys(&journeys[..1]);
    let mut rest = String::new();
    while let Some(chunk) = m.render_chunk(&mut cursor) {
        rest.push_str(&chunk);
    }
    assert!(first.contains(r#"journey="j0599""#) || !rest.contains(r#"journey="j0599""#));
    assert!(
        !rest.contains(r#"journey="j0599""#),
        "a removed journey kept series"
    );
    assert!(!m.render().contains(r#"journey="j0001""#));
}
