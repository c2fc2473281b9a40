//! The request on the wire: the journey's method, headers and body, plus what a
//! browser-like client adds (`host`, `user-agent`, `accept`, `accept-encoding`, the
//! run's cookies) unless the journey set it.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request};
use reqwest::cookie::{CookieStore, Jar};
use url::Url;

use super::PreparedRequest;
use super::conn::Body;

/// What one exchange sends, hop after hop of its redirects.
#[derive(Debug)]
pub(super) struct Outgoing {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

impl Outgoing {
    /// The journey's request with the client's defaults, or why it cannot be sent
    /// (reported like a target that speaks no HTTP: no exchange can happen).
    pub fn of(req: &PreparedRequest) -> Result<Self, String> {
        let invalid =
            |what: &str, value: &str| format!("the request {what} {value:?} is not valid");
        let method = Method::from_bytes(req.method.as_bytes())
            .map_err(|_| invalid("method", &req.method))?;
        let mut headers = HeaderMap::with_capacity(req.headers.len() + 4);
        for (name, value) in &req.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid("header name", name))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| invalid(&format!("{name} header value"), value))?;
            headers.append(name, value);
        }
        if !headers.contains_key(header::USER_AGENT) {
            headers.insert(
                header::USER_AGENT,
                HeaderValue::from_static(crate::USER_AGENT),
            );
        }
        if !headers.contains_key(header::ACCEPT) {
            headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        }
        // Bodies are decompressed (see `body.rs`); a range of a compressed
        // representation would not decompress on its own.
        if !headers.contains_key(header::ACCEPT_ENCODING) && !headers.contains_key(header::RANGE) {
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Ok(Self {
            method,
            headers,
            body: req.body.as_ref().map(|b| Bytes::copy_from_slice(b)),
        })
    }

    /// The request for `url`, with its `host` and the cookies `jar` holds for it
    /// (unless the journey set those headers itself).
    pub fn to(&self, url: &Url, jar: &Jar) -> Result<Request<Body>, String> {
        let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
        let uri = target
            .parse()
            .map_err(|_| format!("the request URL {url} is not valid"))?;
        // `host` first, as RFC 9110 asks of user agents (7.2).
        let mut headers = HeaderMap::with_capacity(self.headers.len() + 3);
        if !self.headers.contains_key(header::HOST)
            && let Some(host) = host(url)
        {
            headers.insert(header::HOST, host);
        }
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        if !headers.contains_key(header::COOKIE)
            && let Some(cookies) = jar.cookies(url)
        {
            headers.insert(header::COOKIE, cookies);
        }
        if !headers.contains_key(header::AUTHORIZATION)
            && let Some(basic) = basic_auth(url)
        {
            headers.insert(header::AUTHORIZATION, basic);
        }
        let mut req = Request::new(Full::new(self.body.clone().unwrap_or_default()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;
        Ok(req)
    }
}

/// `Authorization: Basic` for credentials in the URL (`https://user:pass@host/`), as
/// browsers send them; they never go on the wire in the URL itself.
fn basic_auth(url: &Url) -> Option<HeaderValue> {
    use base64::Engine as _;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let pair = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or(""))
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// `host[:port]`, the port only when it is not the scheme's default.
fn host(url: &Url) -> Option<HeaderValue> {
    let host = &url[url::Position::BeforeHost..url::Position::AfterHost];
    let value = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    HeaderValue::from_str(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(headers: &[(&str, &str)]) -> PreparedRequest {
        PreparedRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:8080/a?b=1#frag".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Some(b"{}".to_vec()),
            ..PreparedRequest::default()
        }
    }

    #[test]
    fn defaults_fill_in_what_the_journey_left_out() {
        let out = Outgoing::of(&prepared(&[("Accept", "application/json")])).unwrap();
        let url = Url::parse("http://127.0.0.1:8080/a?b=1#frag").unwrap();
        let req = out.to(&url, &Jar::default()).unwrap();
        assert_eq!(req.uri(), "/a?b=1");
        assert_eq!(req.method(), Method::POST);
        let h = req.headers();
        assert_eq!(h.keys().next(), Some(&header::HOST));
        assert_eq!(h[header::HOST], "127.0.0.1:8080");
        assert_eq!(h[header::ACCEPT], "application/json");
        assert_eq!(h[header::ACCEPT_ENCODING], "gzip");
        assert_eq!(h[header::USER_AGENT], crate::USER_AGENT);
        let default_port = Url::parse("https://[::1]/").unwrap();
        assert_eq!(
            out.to(&default_port, &Jar::default()).unwrap().headers()[header::HOST],
            "[::1]"
        );
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth() {
        let out = Outgoing::of(&prepared(&[])).unwrap();
        let url = Url::parse("http://ann:p%40ss@shop.test/").unwrap();
        let req = out.to(&url, &Jar::default()).unwrap();
        // base64("ann:p@ss")
        assert_eq!(req.headers()[header::AUTHORIZATION], "Basic YW5uOnBAc3M=");
        assert_eq!(req.headers()[header::HOST], "shop.test");
        let plain = Url::parse("http://shop.test/").unwrap();
        let req = out.to(&plain, &Jar::default()).unwrap();
        assert!(req.headers().get(header::AUTHORIZATION).is_none());
    }

    #[test]
    fn a_header_that_cannot_be_sent_is_named() {
        let err = Outgoing::of(&prepared(&[("x-note", "a\nb")])).unwrap_err();
        assert!(err.contains("x-note header value"), "{err}");
        let err = Outgoing::of(&prepared(&[("bad name", "v")])).unwrap_err();
        assert!(err.contains("header name \"bad name\""), "{err}");
    }

    #[test]
    fn cookies_of_the_jar_go_to_their_host_only() {
        let jar = Jar::default();
        let shop = Url::parse("http://shop.test/").unwrap();
        jar.add_cookie_str("session=abc", &shop);
        let out = Outgoing::of(&prepared(&[])).unwrap();
        let req = out.to(&shop, &jar).unwrap();
        assert_eq!(req.headers()[header::COOKIE], "session=abc");
        let other = Url::parse("http://bank.test/").unwrap();
        assert!(
            out.to(&other, &jar)
                .unwrap()
                .headers()
                .get(header::COOKIE)
                .is_none()
        );
    }
}
