//! `journeyd test` end to end: the binary runs suites against the demo company
//! and scripted servers on `127.0.0.1:0`; reports are parsed (JUnit with
//! quick-xml, JSON with serde_json) and searched for secrets; exit codes 0/1/2;
//! and `check --format json` for editors.

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::util::demo::{Demo, demo_secrets, root};

fn journeyd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_journeyd"));
    c.current_dir(root())
        .args(args)
        .env_remove("JOURNEYD_SECRETS_DIR")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("RUST_LOG");
    c
}

/// Runs a blocking command off the async runtime (the servers serve on it).
async fn output(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn all_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Per `<testsuite>` of a JUnit report: its name, test case names, and the names of
/// the elements found inside its test cases (`failure`, `flakyFailure`, ...), and
/// its properties.
#[derive(Debug, Default)]
struct Suite {
    name: String,
    cases: Vec<String>,
    inner: Vec<String>,
    properties: Vec<(String, String)>,
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> String {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.as_ref() == name.as_bytes())
        .map(|a| a.unescape_value().unwrap().to_string())
        .unwrap_or_default()
}

fn junit_suites(xml: &str) -> Vec<Suite> {
    let mut reader = Reader::from_str(xml);
    let mut suites: Vec<Suite> = Vec::new();
    let mut in_case = false;
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let tag = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                match tag.as_str() {
                    "testsuite" => suites.push(Suite {
                        name: attr(&e, "name"),
                        ..Suite::default()
                    }),
                    "testcase" => {
                        suites.last_mut().unwrap().cases.push(attr(&e, "name"));
                        in_case = true;
                    }
                    "property" => suites
                        .last_mut()
                        .unwrap()
                        .properties
                        .push((attr(&e, "name"), attr(&e, "value"))),
                    other if in_case => suites.last_mut().unwrap().inner.push(other.into()),
                    _ => {}
                }
            }
            Event::End(e) if e.name().as_ref() == b"testcase" => in_case = false,
            _ => {}
        }
    }
    suites
}

#[tokio::test(flavor = "multi_thread")]
async fn shipped_journeys_pass_with_a_junit_case_per_step() {
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    let mut c = journeyd(&["test", "journeys/", "--jobs", "3", "--format", "junit"]);
    c.arg("--report")
        .arg(&report)
        .arg("--secrets-dir")
        .arg(demo_secrets());
    c.arg("--var").arg(format!("base={}", demo.base()));
    let out = output(c).await;
    let text = all_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 journey run(s)"), "{stdout}");
    for name in ["purchase", "contract", "app-request"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(name) && l.contains(" pass ")),
            "{stdout}"
        );
    }

    let suites = junit_suites(&std::fs::read_to_string(&report).unwrap());
    let mut names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["app-request", "contract", "purchase"]);
    let engine = journeyd::journey::template::Engine::new();
    for s in &suites {
        let file = root().join(format!("journeys/{}.yaml", s.name));
        let j = journeyd::journey::parse::load_file(&file, &engine).unwrap();
        let expected: Vec<String> = j
            .steps
            .iter()
            .map(|st| st.name.clone())
            .chain(j.cleanup.iter().map(|st| format!("cleanup: {}", st.name)))
            .collect();
        assert_eq!(s.cases, expected, "{}", s.name);
        assert!(!s.inner.iter().any(|t| t == "failure"), "{s:?}");
        assert!(s.properties.contains(&("result".into(), "pass".into())));
    }
}

/// A one-step journey GETting `url`, expecting `$.status == up`.
fn one_step(name: &str, url: &str, labels: &str) -> String {
    format!(
        "name: {name}\nlabels: {{ {labels} }}\nsteps:\n  - name: probe\n    request: {{ url: \"{url}\" }}\n    expect: {{ status: 200, json: {{ \"$.status\": up }} }}\n"
    )
}

/// A server answering `{"status":"down"}` to the first `down_first` requests,
/// then `{"status":"up"}`; returns its base URL and the request count.
async fn flapping(down_first: usize) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(move || {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                let status = if n < down_first { "down" } else { "up" };
                axum::Json(serde_json::json!({ "status": status }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, count)
}

/// A port nothing listens on: bound, then released.
async fn closed_port_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/health")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_journey_exits_1_with_a_junit_failure() {
    let (base, _) = flapping(0).await;
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port_url().await;
    std::fs::write(
        dir.path().join("down.yaml"),
        one_step("down", &closed, "team: a"),
    )
    .unwrap();
    let sub = dir.path().join("more");
    std::fs::create_dir(&sub).unwrap();
    let up = one_step("up", &format!("{base}/health"), "team: b");
    std::fs::write(sub.join("up.yml"), up).unwrap();
    let report = dir.path().join("r.xml");
    let mut c = journeyd(&["test", "--format", "junit", "--report"]);
    c.arg(&report).arg(dir.path());
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let suites = junit_suites(&std::fs::read_to_string(&report).unwrap());
    // The sub-directory was searched too.
    assert_eq!(suites.len(), 2, "{suites:?}");
    let down = suites.iter().find(|s| s.name == "down").unwrap();
    assert!(down.inner.contains(&"failure".to_string()), "{down:?}");
    let up = suites.iter().find(|s| s.name == "up").unwrap();
    assert!(!up.inner.contains(&"failure".to_string()), "{up:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("probe (connect)"), "{stdout}");

    // A tag selector runs only the matching journey: the passing one.
    let mut c = journeyd(&["test", "--tag", "team=b"]);
    c.arg(dir.path());
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("down"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_journey_exits_2_before_anything_runs() {
    let (base, count) = flapping(0).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.yaml"),
        one_step("good", &format!("{base}/health"), "team: a"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "name: bad\nsteps:\n  - name: probe\n    requst: { url: \"http://x\" }\n",
    )
    .unwrap();
    let mut c = journeyd(&["test"]);
    c.arg(dir.path());
    let out = output(c).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", all_text(&out));
    let bad = dir.path().join("bad.yaml");
    assert!(
        stderr.contains(&format!("{}:4:5: steps[0].requst", bad.display())),
        "{stderr}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 0, "a journey ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_that_passes_is_flaky_and_exits_0() {
    let (base, count) = flapping(1).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flap.yaml");
    std::fs::write(
        &file,
        one_step("flap", &format!("{base}/health"), "team: a"),
    )
    .unwrap();
    let report = dir.path().join("r.xml");
    let mut c = journeyd(&["test", "--retries", "2", "--format", "junit", "--report"]);
    c.arg(&report).arg(&file);
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "one failed attempt, one retry"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("flaky"));
    let suites = junit_suites(&std::fs::read_to_string(&report).unwrap());
    let failures: Vec<&String> = suites[0]
        .inner
        .iter()
        .filter(|t| t.contains("ailure"))
        .collect();
    assert_eq!(failures, ["flakyFailure"], "{suites:?}");
    assert!(
        suites[0]
            .properties
            .contains(&("result".into(), "flaky".into()))
    );
    assert!(
        suites[0]
            .properties
            .contains(&("attempts".into(), "2".into()))
    );

    // Without retries the same flap fails.
    let (base, _) = flapping(1).await;
    std::fs::write(
        &file,
        one_step("flap", &format!("{base}/health"), "team: a"),
    )
    .unwrap();
    let mut c = journeyd(&["test"]);
    c.arg(&file);
    assert_eq!(output(c).await.status.code(), Some(1));
}

/// A server echoing the request (headers and body) inside a hostile HTML body, with 500.
async fn echo_server() -> String {
    let app =
        axum::Router::new().fallback(|headers: axum::http::HeaderMap, body: String| async move {
            let echoed: Vec<String> = headers
                .iter()
                .map(|(k, v)| format!("{k}={}", v.to_str().unwrap_or("")))
                .collect();
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "<script>alert(1)</script><img src=\"https://evil.example/x.png\">{} {body}",
                    echoed.join(" ")
                ),
            )
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_never_hold_the_secret_and_html_is_inert() {
    let base = echo_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("leak.yaml");
    std::fs::write(
        &file,
        format!(
            "name: leak\nsteps:\n  - name: send\n    request:\n      method: POST\n      url: \"{base}/x?k={{{{ secret.api_key }}}}\"\n      headers: {{ x-key: \"{{{{ secret.api_key }}}}\" }}\n      json: {{ key: \"{{{{ secret.api_key }}}}\" }}\n    expect: {{ status: 200 }}\n"
        ),
    )
    .unwrap();
    let secret = "s3cr3t-Value-4242";
    for format in ["html", "json", "junit", "text"] {
        let report = dir.path().join(format!("report.{format}"));
        let mut c = journeyd(&["test", "--format", format, "--report"]);
        c.arg(&report)
            .arg(&file)
            .env("JOURNEYD_SECRET_API_KEY", secret);
        let out = output(c).await;
        assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
        let body = std::fs::read_to_string(&report).unwrap();
        assert!(body.contains("send"), "{format}: {body}");
        assert!(!body.contains(secret), "{format} report leaks the secret");
        assert!(
            !all_text(&out).contains(secret),
            "{format} output leaks the secret"
        );
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["runs"][0]["result"], "fail");
            let step = &v["runs"][0]["run"]["steps"][0];
            assert_eq!(step["name"], "send");
            // The server did get the secret and echoed it: the report shows it scrubbed.
            let echoed = step["evidence"]["response"]["body"].as_str().unwrap();
            assert!(echoed.contains("x-key=***"), "{echoed}");
        }
        if format == "html" {
            // The echoed response is shown, escaped: nothing in it can run or load.
            assert!(body.contains("&lt;script&gt;alert(1)"), "{body}");
            assert_inert(&body);
        }
    }
}

/// Every `<` of the page opens one of the few tags the report uses (text is escaped),
/// and no tag loads anything: no `src`, links only to anchors in the page, no CSS `url()`.
fn assert_inert(html: &str) {
    const TAGS: &[&str] = &[
        "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p",
        "span", "table", "tr", "th", "td", "a", "section", "code", "pre", "ul", "li",
    ];
    for tag in html.split('<').skip(1) {
        let inside = &tag[..tag.find('>').unwrap()];
        let name = inside
            .trim_start_matches('/')
            .split([' ', '>'])
            .next()
            .unwrap();
        assert!(TAGS.contains(&name), "unexpected tag <{inside}>");
        assert!(!inside.contains("src="), "<{inside}>");
        if let Some(href) = inside.split("href=\"").nth(1) {
            assert!(href.starts_with('#'), "<{inside}>");
        }
    }
    let lower = html.to_lowercase();
    assert!(!lower.contains("url(") && !lower.contains("@import"));
}

#[test]
fn check_json_names_line_and_column() {
    let out = journeyd(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/invalid/unknown-key.yaml",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &v.as_array().unwrap()[0];
    assert_eq!(d["file"], "tests/fixtures/invalid/unknown-key.yaml");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(4), Some(5))
    );
    assert_eq!(d["severity"], "error");
    assert_eq!(d["message"], "steps[0].requst: unknown key `requst`");
    assert_eq!(d["hint"], "did you mean `request`?");

    // Every problem of a file with many, each with a position.
    let out = journeyd(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/invalid/many-problems.yaml",
    ])
    .output()
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/invalid/many-problems.err")).unwrap();
    let expected = text.lines().filter(|l| l.starts_with("tests/")).count();
    assert_eq!(v.as_array().unwrap().len(), expected);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|d| d["line"].as_u64() > Some(0))
    );

    let ok = journeyd(&["check", "--format", "json", "journeys"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "[]");
}
