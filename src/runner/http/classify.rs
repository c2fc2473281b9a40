//! Turns a failed exchange into a failure class and one sentence for a person.
//!
//! "Could not connect" is too coarse for on-call: a refused port, an expired
//! certificate and an unknown host are all connection failures. The useful facts are
//! in the error's `source()` chain (our resolver and redirect errors, rustls, hyper
//! and the OS), so the chain is walked and the most specific cause wins.

use std::error::Error as StdError;
use std::io;

use url::Url;

use super::dns::DnsError;
use super::redirect::RedirectError;
use crate::runner::result::FailureClass;

/// Why an exchange failed, before classification.
#[derive(Debug, thiserror::Error)]
pub(super) enum HttpError {
    /// The host name did not resolve.
    #[error(transparent)]
    Dns(#[from] DnsError),
    /// No TCP connection to any of the host's addresses.
    #[error("TCP connect failed: {0}")]
    Connect(#[source] io::Error),
    /// The TLS handshake failed.
    #[error("TLS handshake failed: {0}")]
    Tls(#[source] io::Error),
    /// HTTP on an open connection failed (or the connection broke).
    #[error(transparent)]
    Hyper(#[from] hyper::Error),
    /// Following redirects stopped.
    #[error(transparent)]
    Redirect(#[from] RedirectError),
    /// A `Content-Encoding: gzip` body did not decompress.
    #[error("the gzip body does not decompress: {0}")]
    Decode(#[source] io::Error),
}

/// Where in the exchange the error happened; it changes the wording only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Before the response headers were complete.
    Head,
    /// While the body was arriving.
    Body,
}

impl Phase {
    fn when(self) -> &'static str {
        match self {
            Phase::Head => "before sending a complete response",
            Phase::Body => "while the body was arriving",
        }
    }
}

/// `host:port` of a URL, for messages.
pub(super) fn target(url: &Url) -> String {
    match (url.host(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        _ => url.to_string(),
    }
}

/// Every error in the chain. `io::Error::source` skips the error it wraps (it
/// returns the wrapped error's source), so the walk steps into wrapped errors
/// explicitly: that is where rustls and our resolver errors sit.
fn chain<'a>(top: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(top);
    while let Some(err) = next {
        if out.len() >= 32 {
            break;
        }
        out.push(err);
        // An io::Error's source is its wrapped error's source; step into the
        // wrapped error itself instead (io errors nest: Other(InvalidData(rustls))).
        next = match err.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner),
            None => err.source(),
        };
    }
    out
}

fn find<'a, T: StdError + 'static>(chain: &[&'a (dyn StdError + 'static)]) -> Option<&'a T> {
    chain.iter().find_map(|e| e.downcast_ref::<T>())
}

/// The class and message of `err`, which happened talking to `url`.
pub(super) fn classify(err: &HttpError, url: &Url, phase: Phase) -> (FailureClass, String) {
    let target = target(url);
    // Start at the wrapped error: a transparent variant's `source()` is the wrapped
    // error's source, which would skip the wrapped error itself.
    let top: &(dyn StdError + 'static) = match err {
        HttpError::Dns(e) => e,
        HttpError::Connect(e) | HttpError::Tls(e) | HttpError::Decode(e) => e,
        HttpError::Hyper(e) => e,
        HttpError::Redirect(e) => e,
    };
    let chain = chain(top);

    if let Some(e) = find::<RedirectError>(&chain) {
        return (FailureClass::Redirect, e.to_string());
    }
    if let Some(e) = find::<DnsError>(&chain) {
        return (FailureClass::Dns, e.to_string());
    }
    if let Some(e) = find::<rustls::Error>(&chain) {
        return (
            FailureClass::Tls,
            format!("TLS handshake with {target} failed: {e}"),
        );
    }
    if let HttpError::Decode(e) = err {
        return (
            FailureClass::Protocol,
            format!("{target} sent a gzip body that does not decompress: {e}"),
        );
    }
    if let Some(found) = chain
        .iter()
        .find_map(|e| from_io(e.downcast_ref()?, &target, phase))
    {
        return found;
    }
    if let Some(e) = find::<hyper::Error>(&chain) {
        return from_hyper(e, &target, phase);
    }
    let detail = describe(err);
    match err {
        HttpError::Connect(_) => (
            FailureClass::Connect,
            format!("cannot connect to {target}: {detail}"),
        ),
        HttpError::Tls(_) => (
            FailureClass::Tls,
            format!("TLS handshake with {target} failed: {detail}"),
        ),
        _ => (
            FailureClass::Protocol,
            format!("exchange with {target} failed: {detail}"),
        ),
    }
}

fn from_io(e: &io::Error, target: &str, phase: Phase) -> Option<(FailureClass, String)> {
    use io::ErrorKind as K;
    let when = phase.when();
    Some(match e.kind() {
        K::ConnectionRefused => (
            FailureClass::Connect,
            format!("connection refused by {target}"),
        ),
        K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown | K::AddrNotAvailable => {
            (FailureClass::Connect, format!("cannot reach {target}: {e}"))
        }
        K::TimedOut => (
            FailureClass::Timeout,
            format!("connection to {target} timed out: {e}"),
        ),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => (
            FailureClass::ConnectionReset,
            format!("connection reset by {target} {when}"),
        ),
        K::UnexpectedEof => (
            FailureClass::ConnectionReset,
            format!("{target} closed the connection {when}"),
        ),
        _ => return None,
    })
}

fn from_hyper(e: &hyper::Error, target: &str, phase: Phase) -> (FailureClass, String) {
    let when = phase.when();
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        (
            FailureClass::Protocol,
            format!("{target} answered with invalid HTTP: {e}"),
        )
    } else if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        (
            FailureClass::ConnectionReset,
            format!("{target} closed the connection {when}"),
        )
    } else if e.is_timeout() {
        (FailureClass::Timeout, format!("{target} timed out: {e}"))
    } else {
        // HTTP/2 resets and GOAWAYs, broken body streams: the response did not
        // arrive whole, and the peer is the one that stopped.
        let detail = e
            .source()
            .map_or_else(|| e.to_string(), |s| format!("{e}: {s}"));
        (
            FailureClass::ConnectionReset,
            format!("{target} broke off the exchange {when} ({detail})"),
        )
    }
}

/// The messages of the whole chain, joined: for errors no rule above recognised.
pub(super) fn describe(top: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for err in chain(top) {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_map_to_classes() {
        let t = "127.0.0.1:4321";
        let cases = [
            (
                io::ErrorKind::ConnectionRefused,
                FailureClass::Connect,
                "connection refused by 127.0.0.1:4321",
            ),
            (
                io::ErrorKind::ConnectionReset,
                FailureClass::ConnectionReset,
                "connection reset by 127.0.0.1:4321 before sending a complete response",
            ),
            (
                io::ErrorKind::UnexpectedEof,
                FailureClass::ConnectionReset,
                "127.0.0.1:4321 closed the connection before sending a complete response",
            ),
        ];
        for (kind, class, message) in cases {
            let got = from_io(&io::Error::from(kind), t, Phase::Head);
            assert_eq!(got, Some((class, message.to_string())), "{kind:?}");
        }
        assert_eq!(from_io(&io::Error::other("x"), t, Phase::Head), None);
    }

    #[test]
    fn chain_looks_inside_io_errors() {
        let inner = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        // Wrapped twice, as I/O layers hand it over: Other(InvalidData(rustls error)).
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, inner);
        let outer = io::Error::other(wrapped);
        let c = chain(&outer);
        let found = find::<rustls::Error>(&c).map(ToString::to_string);
        assert_eq!(
            found.as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
    }

    #[test]
    fn target_includes_default_port() {
        let url = Url::parse("https://shop.example/cart").unwrap();
        assert_eq!(target(&url), "shop.example:443");
        let url = Url::parse("http://[::1]:8080/").unwrap();
        assert_eq!(target(&url), "[::1]:8080");
    }
}
