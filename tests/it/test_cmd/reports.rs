//! Reports hold no secret, the HTML report is inert, and `check --format json`.

use super::{all_text, journeyd, output};
use crate::util::demo::root;

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
