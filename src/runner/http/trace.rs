//! W3C Trace Context on journey requests, so a failed step can be found in the
//! back-end's tracing system (Tempo, Jaeger, Grafana Explore) by its trace id.
//!
//! A run is one trace: [`TraceContext::new`] draws a random trace id when the run
//! starts, and every request a step attempt sends gets a fresh random span id in
//! `traceparent: 00-<trace id>-<span id>-01` (version 00, sampled, so a tail- or
//! head-sampling collector keeps it) plus `tracestate: journeyd=synthetic`, which
//! marks the traffic as synthetic so the back-end can keep, tag or drop it on
//! purpose.
//!
//! Only the journey's own hosts get the headers: by default the host of its first
//! step (as rendered at run time), or the hosts the journey lists in
//! `trace: { hosts: [...] }`; `trace: false` sends none. A third-party API a
//! journey calls (a payment provider, an identity provider) is not told about our
//! traces unasked. A request whose author set `traceparent` is left alone.
//!
//! The header is written by hand: it is two random ids and a `format!`. The
//! `opentelemetry` crates would bring an SDK, a propagator API and their own
//! runtime integration (dozens of crates) for one header; OTLP export of runs as
//! spans is not built (issue 10 makes it optional).

use rand::Rng;

use super::PreparedRequest;
use crate::journey::model::TraceScope;

/// The `tracestate` entry marking journeyd's traffic as synthetic.
pub const TRACESTATE: &str = "journeyd=synthetic";

/// One run's trace: its id and the hosts whose requests carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lower-case hex digits, never all zeros.
    pub trace_id: String,
    /// Host names (lower case) or `*.suffix` patterns that get the headers.
    hosts: Vec<String>,
}

impl TraceContext {
    /// A new trace for one run of a journey with `scope`; `first_url` is the
    /// journey's first request URL as rendered (its host is the default own host).
    /// `None` when the journey disabled tracing.
    pub fn new(scope: &TraceScope, first_url: Option<&str>) -> Option<Self> {
        let hosts = match scope {
            TraceScope::Off => return None,
            TraceScope::Hosts(h) => h.iter().map(|h| h.to_ascii_lowercase()).collect(),
            TraceScope::OwnHost => first_url.and_then(host_of).into_iter().collect(),
        };
        Some(Self {
            trace_id: random_hex::<16>(),
            hosts,
        })
    }

    /// True when a request to `url` carries this trace.
    pub fn applies_to(&self, url: &str) -> bool {
        let Some(host) = host_of(url) else {
            return false;
        };
        self.hosts.iter().any(|p| match p.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => *p == host,
        })
    }

    /// Adds `traceparent` and `tracestate` to `req` when its host is traced and its
    /// author set no `traceparent`; returns the new span id when it did.
    pub fn inject(&self, req: &mut PreparedRequest) -> Option<String> {
        let has = |name: &str| {
            req.headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        if has("traceparent") || !self.applies_to(&req.url) {
            return None;
        }
        let span_id = random_hex::<8>();
        req.headers
            .push(("traceparent".into(), traceparent(&self.trace_id, &span_id)));
        match req
            .headers
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case("tracestate"))
        {
            // Our entry goes first, as W3C asks of the vendor that last touched it.
            Some((_, v)) => *v = format!("{TRACESTATE},{v}"),
            None => req.headers.push(("tracestate".into(), TRACESTATE.into())),
        }
        Some(span_id)
    }
}

/// A fresh random span id (16 hex digits, never all zeros), for spans journeyd
/// reports itself (the OTLP export's run and step spans).
pub fn new_span_id() -> String {
    random_hex::<8>()
}

/// `00-<trace id>-<span id>-01`: version 00, sampled.
pub fn traceparent(trace_id: &str, span_id: &str) -> String {
    format!("00-{trace_id}-{span_id}-01")
}

/// The host of `url`, lower-cased, as `url::Url` gives it.
///
/// Called for the first step and for every request, so the usual form (an
/// ASCII name or a dotted IPv4 address) is cut out of the text; `Url::parse`,
/// with its IDNA pass, was 2 % of a run's CPU in the peers benchmark's
/// profile. Anything else (IPv6, percent-encoding, non-ASCII, short IPv4
/// forms that `Url` normalises) goes through `Url`.
fn host_of(url: &str) -> Option<String> {
    plain_host(url).or_else(|| {
        let u = url::Url::parse(url).ok()?;
        u.host_str().map(str::to_ascii_lowercase)
    })
}

/// The host of an `http(s)://` URL when it is a plain ASCII name or a dotted
/// quad that `Url` would keep as written (but lower-cased).
fn plain_host(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains(['@', '[', '%', '\\']) {
        return None;
    }
    let host = match authority.split_once(':') {
        Some((host, port))
            if port.bytes().all(|b| b.is_ascii_digit())
                && (port.is_empty() || port.parse::<u16>().is_ok()) =>
        {
            host
        }
        Some(_) => return None,
        None => authority,
    };
    let name_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    let has_letter = host.bytes().any(|b| b.is_ascii_alphabetic());
    let plain = if has_letter {
        // Punycode labels are checked by `Url`; a trailing dot is kept by both.
        // A numeric last label (`0x7f.0.0.1`, `1.2.0x3`) makes
        // the whole host an IPv4 address for `Url`.
        let last = host.trim_end_matches('.').rsplit('.').next().unwrap_or_default();
        let numeric = last.bytes().all(|b| b.is_ascii_digit())
            || (last.len() >= 2
                && last[..2].eq_ignore_ascii_case("0x")
                && last.bytes().skip(2).all(|b| b.is_ascii_hexdigit()));
        host.bytes().all(name_char)
            && !host.starts_with('.')
            && !host.contains("xn--")
            && !numeric
    } else {
        is_dotted_quad(host)
    };
    plain.then(|| host.to_ascii_lowercase())
}

/// `a.b.c.d` with each part a decimal 0..=255 without leading zeros.
fn is_dotted_quad(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && !(p.len() > 1 && p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// `N` random bytes as lower-case hex; all zeros is invalid in W3C ids, so it is
/// drawn again (a 2^-64 event at worst).
fn random_hex<const N: usize>() -> String {
    let mut rng = rand::rng();
    loop {
        let bytes: [u8; N] = rng.random();
        if bytes.iter().any(|b| *b != 0) {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut out = String::with_capacity(2 * N);
            for b in bytes {
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_host_cut_agrees_with_url_or_declines() {
        let urls = [
            "http://127.0.0.1:8080/api",
            "https://Shop.Example.COM/x?y#z",
            "http://shop.example.com.",
            "HTTP://LOCALHOST:1",
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://010.0.0.1/",
            "http://256.0.0.1/",
            "http://[::1]:80/",
            "http://user:pw@host/",
            "http://b%C3%BCcher.de/",
            "http://xn--bcher-kva.de/",
            "http://bücher.de/",
            "http://host:notaport/",
            "ftp://host/",
            "not a url",
            "http://a_b.example/",
            "http://host:99999/",
            "http://host:/",
            "http://-host/",
            "http://host..com/",
            "http://.host/",
            "http://host:+80/",
            "http://1.2.3/",
            "https://Sub-1.EXAMPLE.org:443",
            "http://1.2.0x3/",
            "http://a.0x/",
            "http://a.1/",
            "http://a.1e/",
        ];
        for url in urls {
            let by_url = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
            if let Some(cut) = plain_host(url) {
                assert_eq!(Some(cut), by_url, "{url}");
            }
            assert_eq!(host_of(url), by_url, "{url}");
        }
        assert_eq!(plain_host("http://127.0.0.1:8080/api").as_deref(), Some("127.0.0.1"));
        assert_eq!(plain_host("https://Shop.Example.COM/x").as_deref(), Some("shop.example.com"));
    }

    fn req(url: &str) -> PreparedRequest {
        PreparedRequest {
            method: "GET".into(),
            url: url.into(),
            ..PreparedRequest::default()
        }
    }

    fn header<'a>(r: &'a PreparedRequest, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn own_host_gets_a_valid_traceparent_and_a_fresh_span_per_request() {
        let t =
            TraceContext::new(&TraceScope::OwnHost, Some("http://Shop.example:8080/a")).unwrap();
        let re = regex::Regex::new("^00-([0-9a-f]{32})-([0-9a-f]{16})-01$").unwrap();
        let mut first = req("http://shop.example:9/b");
        let span1 = t.inject(&mut first).unwrap();
        let tp = header(&first, "traceparent").unwrap();
        let caps = re.captures(tp).unwrap();
        assert_eq!(&caps[1], t.trace_id);
        assert_eq!(&caps[2], span1);
        assert_eq!(header(&first, "tracestate"), Some(TRACESTATE));
        let mut second = req("http://shop.example/c");
        let span2 = t.inject(&mut second).unwrap();
        assert_ne!(span1, span2);
        let other = TraceContext::new(&TraceScope::OwnHost, Some("http://shop.example/")).unwrap();
        assert_ne!(t.trace_id, other.trace_id);
    }

    #[test]
    fn third_party_hosts_and_disabled_journeys_get_nothing() {
        let t = TraceContext::new(&TraceScope::OwnHost, Some("http://shop.example/")).unwrap();
        let mut r = req("https://psp.example/pay");
        assert_eq!(t.inject(&mut r), None);
        assert!(r.headers.is_empty());
        assert_eq!(TraceContext::new(&TraceScope::Off, Some("http://a/")), None);
        let listed = TraceContext::new(
            &TraceScope::Hosts(vec!["*.corp.example".into(), "api.example".into()]),
            Some("http://shop.example/"),
        )
        .unwrap();
        assert!(listed.applies_to("http://a.corp.example/x"));
        assert!(listed.applies_to("http://API.example/x"));
        assert!(!listed.applies_to("http://corp.example/x"));
        assert!(
            !listed.applies_to("http://shop.example/x"),
            "the list replaces the default"
        );
    }

    #[test]
    fn an_authors_traceparent_is_kept_and_tracestate_is_extended() {
        let t = TraceContext::new(&TraceScope::OwnHost, Some("http://shop.example/")).unwrap();
        let mut mine = req("http://shop.example/");
        mine.headers
            .push(("TraceParent".into(), "00-x-y-01".into()));
        assert_eq!(t.inject(&mut mine), None);
        assert_eq!(mine.headers.len(), 1);
        let mut state = req("http://shop.example/");
        state.headers.push(("tracestate".into(), "vendor=1".into()));
        t.inject(&mut state).unwrap();
        assert_eq!(
            header(&state, "tracestate"),
            Some("journeyd=synthetic,vendor=1")
        );
    }
}
