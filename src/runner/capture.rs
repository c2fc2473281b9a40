//! Pure evaluation of captures on a response.
//!
//! A capture that finds nothing is an error with a sentence saying what was
//! looked for, because the next step would otherwise run with a missing or
//! meaningless value and fail somewhere far from the cause.

use serde_json::Value;

use super::expect::ResponseView;
use crate::journey::model::{Capture, CaptureSource, RegexGroup};

/// Takes the capture's value from the response, or says why nothing was found.
///
/// JSON captures keep their JSON type; headers, cookies, regex groups and the
/// URL are strings; the status is a number. A JSON `null` is refused: capturing
/// null is almost always a bug in the target, and it would render as an empty
/// value in later steps.
pub fn eval_capture(capture: &Capture, resp: &ResponseView<'_>) -> Result<Value, String> {
    match &capture.source {
        CaptureSource::Json(query) => {
            let (path_source, path) = (&query.source, &query.path);
            let json = resp
                .json
                .ok_or_else(|| format!("body is not JSON, cannot take {path_source}"))?;
            match path.query(json).first() {
                None => Err(format!("no value at {path_source}")),
                Some(Value::Null) => Err(format!("{path_source} is null")),
                Some(value) => Ok(value.clone()),
            }
        }
        CaptureSource::Header(name) => resp
            .header_values(name)
            .next()
            .map(Value::from)
            .ok_or_else(|| format!("no header {name}")),
        CaptureSource::Cookie(name) => resp
            .header_values("set-cookie")
            .find_map(|line| cookie_value(line, name))
            .map(Value::from)
            .ok_or_else(|| format!("no cookie {name} in Set-Cookie")),
        CaptureSource::Regex { regex, group } => {
            let body = String::from_utf8_lossy(resp.body);
            let caps = regex
                .captures(&body)
                .ok_or_else(|| format!("regex `{regex}` did not match"))?;
            let found = match group {
                RegexGroup::Index(i) if *i >= caps.len() => {
                    return Err(format!("regex `{regex}` has no group {i}"));
                }
                RegexGroup::Index(i) => caps.get(*i),
                RegexGroup::Name(n) if regex.capture_names().all(|c| c != Some(n)) => {
                    return Err(format!("regex `{regex}` has no group named {n}"));
                }
                RegexGroup::Name(n) => caps.name(n),
            };
            found
                .map(|m| Value::from(m.as_str()))
                .ok_or_else(|| match group {
                    RegexGroup::Index(i) => format!("group {i} did not participate"),
                    RegexGroup::Name(n) => format!("group {n} did not participate"),
                })
        }
        CaptureSource::Status => Ok(Value::from(resp.status)),
        CaptureSource::Url => Ok(Value::from(resp.final_url)),
    }
}

/// The value of cookie `name` in one `Set-Cookie` line (`name=value; Path=/`).
fn cookie_value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let pair = line.split(';').next()?;
    let (n, v) = pair.split_once('=')?;
    (n.trim() == name).then(|| v.trim())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::journey::JsonQuery;
    use chrono::Utc;
    use regex::Regex;
    use serde_json::json;

    use super::*;

    fn capture(source: CaptureSource) -> Capture {
        Capture {
            name: "v".into(),
            source,
            secret: false,
        }
    }

    fn json_path(path: &str) -> CaptureSource {
        CaptureSource::Json(std::sync::Arc::new(JsonQuery::parse(path).expect("path")))
    }

    fn regex(re: &str, group: RegexGroup) -> CaptureSource {
        CaptureSource::Regex {
            regex: Regex::new(re).expect("regex").into(),
            group,
        }
    }

    fn eval(source: CaptureSource, json: Option<&Value>, body: &str) -> Result<Value, String> {
        let headers = [
            ("x-request-id".to_string(), "req-7".to_string()),
            ("set-cookie".to_string(), "theme=dark; Path=/".to_string()),
            (
                "set-cookie".to_string(),
                "shop_session=abc123; HttpOnly; Secure".to_string(),
            ),
            ("set-cookie".to_string(), "shop_session=later".to_string()),
        ];
        let resp = ResponseView {
            status: 201,
            headers: &headers,
            body: body.as_bytes(),
            json,
            final_url: "https://shop.test/orders/7",
            duration: Duration::from_millis(5),
            cert_not_after: None,
            now: Utc::now(),
        };
        eval_capture(&capture(source), &resp)
    }

    #[test]
    fn captures_take_values_or_say_why_not() {
        let doc = json!({"order_id": 42, "state": "paid", "items": [{"sku": "a"}, {"sku": "b"}], "gone": null});
        let body = "<a href=\"/orders/ord_9\">order ord_9</a>";
        let ok = |v: Value| Ok::<Value, String>(v);
        let err = |s: &str| Err::<Value, String>(s.to_string());
        let cases = [
            (json_path("$.order_id"), ok(json!(42))),
            (json_path("$.state"), ok(json!("paid"))),
            (
                json_path("$.items"),
                ok(json!([{"sku": "a"}, {"sku": "b"}])),
            ),
            (json_path("$.items[*].sku"), ok(json!("a"))),
            (json_path("$.missing"), err("no value at $.missing")),
            (json_path("$.gone"), err("$.gone is null")),
            (
                CaptureSource::Header("x-request-id".into()),
                ok(json!("req-7")),
            ),
            (
                CaptureSource::Header("X-Request-Id".into()),
                ok(json!("req-7")),
            ),
            (
                CaptureSource::Header("x-trace".into()),
                err("no header x-trace"),
            ),
            (
                CaptureSource::Cookie("shop_session".into()),
                ok(json!("abc123")),
            ),
            (CaptureSource::Cookie("theme".into()), ok(json!("dark"))),
            (
                CaptureSource::Cookie("shop".into()),
                err("no cookie shop in Set-Cookie"),
            ),
            (
                regex(r"orders/(ord_\d+)", RegexGroup::Index(1)),
                ok(json!("ord_9")),
            ),
            (
                regex(r"orders/ord_\d+", RegexGroup::Index(0)),
                ok(json!("orders/ord_9")),
            ),
            (
                regex(r"order (?P<id>ord_\d+)", RegexGroup::Name("id".into())),
                ok(json!("ord_9")),
            ),
            (
                regex(r"invoice (\d+)", RegexGroup::Index(1)),
                err(r"regex `invoice (\d+)` did not match"),
            ),
            (
                regex(r"order (ord)(_x)?", RegexGroup::Index(2)),
                err("group 2 did not participate"),
            ),
            (
                regex(r"order (ord)(?P<x>_x)?", RegexGroup::Name("x".into())),
                err("group x did not participate"),
            ),
            (
                regex(r"order (ord)", RegexGroup::Index(3)),
                err("regex `order (ord)` has no group 3"),
            ),
            (
                regex(r"order (ord)", RegexGroup::Name("y".into())),
                err("regex `order (ord)` has no group named y"),
            ),
            (CaptureSource::Status, ok(json!(201))),
            (CaptureSource::Url, ok(json!("https://shop.test/orders/7"))),
        ];
        for (source, want) in cases {
            let label = format!("{source:?}");
            assert_eq!(eval(source, Some(&doc), body), want, "{label}");
        }
    }

    #[test]
    fn json_capture_on_non_json_body_says_so() {
        assert_eq!(
            eval(json_path("$.order_id"), None, "<html>"),
            Err("body is not JSON, cannot take $.order_id".to_string())
        );
    }

    #[test]
    fn regex_runs_on_lossy_utf8_body() {
        let resp_body = b"id=\xff42";
        let headers = [];
        let resp = ResponseView {
            status: 200,
            headers: &headers,
            body: resp_body,
            json: None,
            final_url: "",
            duration: Duration::ZERO,
            cert_not_after: None,
            now: Utc::now(),
        };
        let cap = capture(regex(r"id=\W?(\d+)", RegexGroup::Index(1)));
        assert_eq!(eval_capture(&cap, &resp), Ok(json!("42")));
    }
}
