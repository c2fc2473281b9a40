//! Every error under `/api/` is `application/json` with an `error` string:
//! unknown paths, wrong methods, malformed ids, queries and bodies. Admin
//! routes check the token before anything else.

use reqwest::Method;

use super::{Harness, content_type};

const TOKEN: &str = "t0ken-for-json-errors";

/// (method, path, bearer token, JSON body, expected status, words the error contains)
type Case = (
    Method,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    u16,
    &'static str,
);

fn cases() -> Vec<Case> {
    use Method as M;
    let t = Some(TOKEN);
    vec![
        // Unknown paths.
        (M::GET, "/api", None, None, 404, "no route for /api"),
        (
            M::GET,
            "/api/nope",
            None,
            None,
            404,
            "no route for /api/nope",
        ),
        (
            M::GET,
            "/api/journeys/checkout/nope",
            None,
            None,
            404,
            "no route",
        ),
        (M::DELETE, "/api/nope", t, None, 404, "no route"),
        // Wrong methods.
        (
            M::DELETE,
            "/api/journeys",
            None,
            None,
            405,
            "method DELETE is not allowed on /api/journeys",
        ),
        (
            M::POST,
            "/api/journeys/checkout",
            None,
            None,
            405,
            "not allowed",
        ),
        (M::PUT, "/api/runs/1", None, None, 405, "not allowed"),
        (
            M::PUT,
            "/api/silences",
            t,
            None,
            405,
            "method PUT is not allowed on /api/silences",
        ),
        (M::GET, "/api/silences/1", None, None, 405, "not allowed"),
        (
            M::GET,
            "/api/journeys/checkout/run",
            None,
            None,
            405,
            "not allowed",
        ),
        // Malformed ids, names and queries.
        (
            M::GET,
            "/api/runs/not-a-uuid",
            None,
            None,
            400,
            "expected a UUID",
        ),
        (M::GET, "/api/journeys/%FF", None, None, 400, "UTF-8"),
        (M::GET, "/api/journeys/%FF/runs", None, None, 400, "UTF-8"),
        (
            M::GET,
            "/api/journeys/checkout/runs?limit=x",
            None,
            None,
            400,
            "limit",
        ),
        (
            M::DELETE,
            "/api/silences/abc",
            t,
            None,
            400,
            "malformed silence id",
        ),
        (
            M::DELETE,
            "/api/silences/%FF",
            t,
            None,
            400,
            "malformed silence id",
        ),
        (
            M::DELETE,
            "/api/silences/99",
            t,
            None,
            404,
            "no active silence 99",
        ),
        (
            M::POST,
            "/api/journeys/%FF/run",
            t,
            None,
            400,
            "malformed journey name",
        ),
        // Token first: a bad id tells an unauthenticated caller nothing.
        (
            M::DELETE,
            "/api/silences/abc",
            None,
            None,
            401,
            "missing bearer token",
        ),
        (
            M::DELETE,
            "/api/silences/%FF",
            Some("wrong"),
            None,
            401,
            "wrong bearer token",
        ),
        (
            M::POST,
            "/api/journeys/%FF/run",
            None,
            None,
            401,
            "missing bearer token",
        ),
        (
            M::POST,
            "/api/silences",
            None,
            Some("{"),
            401,
            "missing bearer token",
        ),
        // Bodies.
        (M::POST, "/api/silences", t, Some("{"), 400, "EOF"),
        (
            M::POST,
            "/api/silences",
            t,
            Some(r#"{"matchers": 3}"#),
            422,
            "matchers",
        ),
        (M::POST, "/api/silences", t, None, 415, "Content-Type"),
    ]
}

#[tokio::test]
async fn every_api_error_is_json_with_an_error_message() {
    let h = Harness::start_with(Some(TOKEN), true).await;
    for (method, path, token, body, status, words) in cases() {
        let what = format!("{method} {path} token={token:?} body={body:?}");
        let mut req = h.http.request(method.clone(), format!("{}{path}", h.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.expect("request");
        assert_eq!(resp.status().as_u16(), status, "{what}");
        assert_eq!(content_type(&resp), "application/json", "{what}");
        if status == 405 {
            assert!(resp.headers().contains_key("allow"), "{what}");
        }
        let json: serde_json::Value = resp.json().await.expect("JSON body");
        let error = json["error"].as_str().unwrap_or_default();
        assert!(error.contains(words), "{what}: {json}");
    }
    h.stop().await;
}

#[tokio::test]
async fn pages_outside_the_api_keep_their_html_errors() {
    let h = Harness::start(None).await;
    let resp = h
        .http
        .delete(format!("{}/runs/x", h.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 405);
    assert_ne!(content_type(&resp), "application/json");
    h.stop().await;
}
