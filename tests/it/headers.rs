//! Security headers on every response (issue 12, defect 8), including errors.

use crate::util::daemon::{CONFIG, TestDaemon};

#[tokio::test]
async fn every_route_sends_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journeys")).unwrap();
    std::fs::write(
        dir.path().join("journeys/closed.yaml"),
        "name: closed\nsteps:\n  - name: home\n    request: { url: \"http://127.0.0.1:9/\" }\n",
    )
    .unwrap();
    let d = TestDaemon::start(
        dir.path(),
        CONFIG,
        &[("JOURNEYD_SECRET_ADMIN_TOKEN", "t0ken")],
    )
    .await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let cases: &[(&str, &str, u16)] = &[
        ("GET", "/", 200),
        ("GET", "/metrics", 200),
        ("GET", "/healthz", 0),
        ("GET", "/readyz", 200),
        ("GET", "/api/journeys", 200),
        ("GET", "/api/journeys/nope", 404),
        ("GET", "/api/journeys/nope/runs", 404),
        ("GET", "/api/runs/not-a-uuid", 0),
        ("GET", "/runs/not-a-uuid", 0),
        ("GET", "/fleet", 404),
        ("GET", "/api/fleet", 404),
        ("GET", "/api/silences", 0),
        ("POST", "/api/journeys/nope/run", 0),
        ("POST", "/-/reload", 401),
        ("DELETE", "/api/silences/x", 0),
        ("GET", "/no/such/page", 404),
        ("GET", "/api/nothing", 404),
        ("DELETE", "/metrics", 405),
        ("PUT", "/api/journeys", 405),
    ];
    for (method, path, want) in cases {
        let resp = http
            .request(method.parse().unwrap(), format!("{}{path}", d.base()))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if *want != 0 {
            assert_eq!(status, *want, "{method} {path}");
        }
        let h = resp.headers();
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        let csp = get("content-security-policy");
        assert!(
            csp.contains("default-src 'none'"),
            "{method} {path}: csp {csp:?}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{method} {path}");
        assert!(!csp.contains("script-src"), "{method} {path}: {csp}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{method} {path}");
        assert_eq!(get("x-frame-options"), "DENY", "{method} {path}");
        assert_eq!(get("referrer-policy"), "no-referrer", "{method} {path}");
    }
}
