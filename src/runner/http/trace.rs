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

fn host_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    u.host_str().map(str::to_ascii_lowercase)
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
