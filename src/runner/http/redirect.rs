//! Following redirects: whether a response sends the request on, where to, and what
//! the next request keeps.
//!
//! A journey sets the policy per step ([`Redirects`]). The rules of the next request
//! are the browsers' (and reqwest's, which journeyd used before): 301, 302 and 303
//! turn a request other than GET or HEAD into a GET without a body; 307 and 308 keep
//! method and body; credentials and cookies the author set are not sent to another
//! origin; the page redirected from is the next request's `Referer`, unless that
//! would leak an HTTPS URL to plain HTTP.

use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};
use url::Url;

use crate::journey::model::Redirects;

/// Following redirects stopped before reaching a final response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(super) struct RedirectError(pub String);

/// Where a response with `status` and `headers`, the answer to `current`, sends the
/// request next; `None` when it is the final response (not a redirect, no usable
/// `Location`, or redirects not followed). `visited` holds the URLs already
/// requested in this chain; `current` is added to it.
pub(super) fn next(
    status: StatusCode,
    headers: &HeaderMap,
    current: &Url,
    policy: Redirects,
    visited: &mut Vec<Url>,
) -> Result<Option<Url>, RedirectError> {
    if !is_redirect(status) || !policy.follow {
        return Ok(None);
    }
    let Some(to) = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|loc| current.join(loc).ok())
    else {
        return Ok(None);
    };
    visited.push(current.clone());
    let max = policy.max;
    if u32::try_from(visited.len()).unwrap_or(u32::MAX) > max {
        let message = if visited.contains(&to) {
            format!("redirect loop: {to} was already visited; stopped after {max} redirects")
        } else {
            format!("too many redirects: stopped after {max}, the next one pointed to {to}")
        };
        return Err(RedirectError(message));
    }
    if !matches!(to.scheme(), "http" | "https") {
        return Err(RedirectError(format!(
            "redirect from {current} to {to}, which is not an HTTP or HTTPS URL"
        )));
    }
    Ok(Some(to))
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The request that follows a `status` redirect from `from` to `to`: method, body
/// and headers changed in place.
pub(super) fn rewrite(
    status: StatusCode,
    method: &mut Method,
    body: &mut Option<bytes::Bytes>,
    headers: &mut HeaderMap,
    (from, to): (&Url, &Url),
) {
    if matches!(status.as_u16(), 301..=303) {
        *body = None;
        for name in [
            header::TRANSFER_ENCODING,
            header::CONTENT_ENCODING,
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
        ] {
            headers.remove(name);
        }
        if *method != Method::GET && *method != Method::HEAD {
            *method = Method::GET;
        }
    }
    let same_origin = from.scheme() == to.scheme()
        && from.host_str() == to.host_str()
        && from.port_or_known_default() == to.port_or_known_default();
    if !same_origin {
        for name in [
            header::AUTHORIZATION,
            header::COOKIE,
            header::PROXY_AUTHORIZATION,
            header::WWW_AUTHENTICATE,
            header::HOST,
        ] {
            headers.remove(name);
        }
    }
    headers.remove(header::REFERER);
    if let Some(referer) = referer(from, to) {
        headers.insert(header::REFERER, referer);
    }
}

/// `from` as a `Referer` for `to`: without credentials or fragment, and never from
/// HTTPS to plain HTTP.
fn referer(from: &Url, to: &Url) -> Option<HeaderValue> {
    if from.scheme() == "https" && to.scheme() == "http" {
        return None;
    }
    let mut referer = from.clone();
    let _ = referer.set_username("");
    let _ = referer.set_password(None);
    referer.set_fragment(None);
    HeaderValue::from_str(referer.as_str()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn located(to: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::LOCATION, HeaderValue::from_str(to).unwrap());
        h
    }

    const FOLLOW: Redirects = Redirects {
        follow: true,
        max: 2,
    };

    #[test]
    fn follows_up_to_max_then_names_a_loop_or_too_many() {
        let a = url("http://shop.test/a");
        let mut visited = Vec::new();
        let found = next(StatusCode::FOUND, &located("/b"), &a, FOLLOW, &mut visited);
        assert_eq!(found.unwrap(), Some(url("http://shop.test/b")));
        let b = url("http://shop.test/b");
        let found = next(StatusCode::FOUND, &located("/a"), &b, FOLLOW, &mut visited);
        assert_eq!(found.unwrap(), Some(a.clone()));
        let err = next(StatusCode::FOUND, &located("/b"), &a, FOLLOW, &mut visited);
        assert!(err.unwrap_err().0.starts_with("redirect loop:"));
        let err = next(
            StatusCode::FOUND,
            &located("/c"),
            &a,
            FOLLOW,
            &mut vec![a.clone(), b],
        );
        assert!(err.unwrap_err().0.starts_with("too many redirects:"));
    }

    #[test]
    fn not_followed_without_policy_location_or_redirect_status() {
        let a = url("http://shop.test/a");
        let off = Redirects {
            follow: false,
            max: 5,
        };
        let mut v = Vec::new();
        assert_eq!(
            next(StatusCode::FOUND, &located("/b"), &a, off, &mut v).unwrap(),
            None
        );
        let none = HeaderMap::new();
        assert_eq!(
            next(StatusCode::FOUND, &none, &a, FOLLOW, &mut v).unwrap(),
            None
        );
        assert_eq!(
            next(StatusCode::OK, &located("/b"), &a, FOLLOW, &mut v).unwrap(),
            None
        );
        let err = next(StatusCode::FOUND, &located("ftp://x/"), &a, FOLLOW, &mut v);
        assert!(err.unwrap_err().0.contains("not an HTTP or HTTPS URL"));
    }

    #[test]
    fn see_other_turns_a_post_into_a_get_and_another_origin_loses_credentials() {
        let mut method = Method::POST;
        let mut body = Some(bytes::Bytes::from_static(b"{}"));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        let from = url("https://user:pw@shop.test/pay#top");
        let to = url("https://bank.test/confirm");
        rewrite(
            StatusCode::SEE_OTHER,
            &mut method,
            &mut body,
            &mut headers,
            (&from, &to),
        );
        assert_eq!(method, Method::GET);
        assert_eq!(body, None);
        assert!(headers.get(header::CONTENT_TYPE).is_none());
        assert!(headers.get(header::AUTHORIZATION).is_none());
        assert_eq!(headers[header::REFERER], "https://shop.test/pay");
    }

    #[test]
    fn temporary_redirect_keeps_method_body_and_same_origin_credentials() {
        let mut method = Method::POST;
        let mut body = Some(bytes::Bytes::from_static(b"{}"));
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        let from = url("https://shop.test/pay");
        let to = url("http://shop.test/pay2");
        rewrite(
            StatusCode::TEMPORARY_REDIRECT,
            &mut method,
            &mut body,
            &mut headers,
            (&from, &to),
        );
        assert_eq!(method, Method::POST);
        assert!(body.is_some());
        // The scheme changed, so the origin did: credentials dropped, no HTTPS referer.
        assert!(headers.get(header::AUTHORIZATION).is_none());
        assert!(headers.get(header::REFERER).is_none());
    }
}
