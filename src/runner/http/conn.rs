//! A connection of the per-run client: DNS, TCP, TLS, then HTTP/1.1 or HTTP/2 as
//! the server's ALPN answer says, timed into the client's slot.
//!
//! An HTTP/1.1 connection has no task of its own: the request using it drives it
//! ([`drive`]), so a response wakes the run's task directly instead of waking a
//! connection task that then wakes the run, often on the other worker
//! (docs/benchmarks.md, "Ninth pass": five requests cost 0.45-0.52 ms of CPU that
//! way, 0.12-0.21 ms driven by the request).
//! HTTP/2 multiplexes streams on one connection, and hyper drives it in a task.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::{http1, http2};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use url::{Host, Url};

use super::classify::HttpError;
use super::dns::Resolver;
use super::timing::{Stage, TimingSlot};

/// A byte stream HTTP runs on: TCP, or TLS over TCP.
pub(super) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Request bodies: always whole in memory.
pub(super) type Body = Full<Bytes>;
type H1Conn = http1::Connection<TokioIo<Box<dyn Io>>, Body>;

/// Where a connection goes: the part of a URL that decides whether one can be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origin {
    https: bool,
    host: Host<String>,
    port: u16,
}

impl Origin {
    /// The origin of `url`, or why no request can go there.
    pub fn of(url: &Url) -> Result<Self, String> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(format!(
                    "the request URL {url} has scheme {other:?}; only http and https can be sent"
                ));
            }
        };
        let host = url
            .host()
            .ok_or_else(|| format!("the request URL {url} has no host"))?
            .to_owned();
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        Ok(Self { https, host, port })
    }
}

enum Sender {
    H1 {
        tx: http1::SendRequest<Body>,
        /// `None` once the connection has ended.
        conn: Option<Pin<Box<H1Conn>>>,
    },
    H2(http2::SendRequest<Body>),
}

/// An open connection.
pub(super) struct Conn {
    /// Where it goes.
    pub origin: Origin,
    sender: Sender,
    /// The `notAfter` of the certificate the server presented (HTTPS).
    pub cert_not_after: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("origin", &self.origin)
            .field("h2", &matches!(self.sender, Sender::H2(_)))
            .finish_non_exhaustive()
    }
}

/// A request that failed, with the request itself when it was never written (the
/// server had closed a kept-alive connection), so it can go out on a new one.
pub(super) type SendError = (HttpError, Option<Request<Body>>);

impl Conn {
    /// Can take another request.
    pub fn usable(&self) -> bool {
        match &self.sender {
            Sender::H1 { tx, conn } => conn.is_some() && !tx.is_closed(),
            Sender::H2(tx) => !tx.is_closed(),
        }
    }

    /// Sends `req` (whose URI is origin-form, path and query) to `url` and waits for
    /// the response head.
    pub async fn send(
        &mut self,
        mut req: Request<Body>,
        url: &Url,
    ) -> Result<Response<Incoming>, SendError> {
        let back = |mut e: hyper::client::conn::TrySendError<Request<Body>>| {
            let req = e.take_message();
            (HttpError::Hyper(e.into_error()), req)
        };
        match &mut self.sender {
            Sender::H1 { tx, conn } => {
                if let Err(e) = drive(conn, tx.ready()).await {
                    return Err((e.into(), Some(req)));
                }
                drive(conn, tx.try_send_request(req)).await.map_err(back)
            }
            Sender::H2(tx) => {
                // HTTP/2 carries scheme and authority as pseudo-headers, from an
                // absolute URI (without the URL's credentials, which went into
                // `authorization`); `host` is a connection header there.
                let authority = &url[url::Position::BeforeHost..url::Position::BeforePath];
                let absolute = format!("{}://{authority}{}", url.scheme(), req.uri());
                if let Ok(uri) = absolute.parse() {
                    *req.uri_mut() = uri;
                }
                req.headers_mut().remove(hyper::header::HOST);
                if let Err(e) = tx.ready().await {
                    return Err((e.into(), Some(req)));
                }
                tx.try_send_request(req).await.map_err(back)
            }
        }
    }

    /// The next frame of `body`, a response arriving on this connection.
    pub async fn frame(
        &mut self,
        body: &mut Incoming,
    ) -> Option<Result<Frame<Bytes>, hyper::Error>> {
        match &mut self.sender {
            Sender::H1 { conn, .. } => drive(conn, body.frame()).await,
            Sender::H2(_) => body.frame().await,
        }
    }
}

/// Waits for `fut`, polling the HTTP/1.1 connection alongside: the connection is
/// what reads and writes the socket for the request, its response and its body.
/// A connection that ends is dropped; `fut` then sees the end through hyper.
async fn drive<F: Future>(conn: &mut Option<Pin<Box<H1Conn>>>, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    std::future::poll_fn(|cx| {
        if let Some(c) = conn.as_mut()
            && c.as_mut().poll(cx).is_ready()
        {
            *conn = None;
        }
        fut.as_mut().poll(cx)
    })
    .await
}

/// How a client opens connections.
#[derive(Debug)]
pub(super) struct Opener<'a> {
    pub resolver: &'a Resolver,
    pub tls: &'a Arc<ClientConfig>,
    pub slot: &'a TimingSlot,
}

impl Opener<'_> {
    /// Opens a connection to `origin`, adding DNS and connect times to the slot.
    pub async fn open(&self, origin: &Origin) -> Result<Conn, HttpError> {
        let generation = self.slot.generation();
        let started = Instant::now();
        let result = self.connect(origin, generation).await;
        self.slot
            .add_connect(generation, started.elapsed(), result.is_ok());
        result
    }

    async fn connect(&self, origin: &Origin, generation: u64) -> Result<Conn, HttpError> {
        let addrs = match &origin.host {
            Host::Domain(name) => {
                self.slot.enter(generation, Stage::Resolving);
                let started = Instant::now();
                let found = self.resolver.lookup(name, origin.port).await;
                self.slot.add_resolve(generation, started.elapsed());
                found?
            }
            Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(*ip), origin.port)],
            Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(*ip), origin.port)],
        };
        self.slot.enter(generation, Stage::Connecting);
        let tcp = tcp(&addrs).await.map_err(HttpError::Connect)?;
        if !origin.https {
            return http1(Box::new(tcp), origin.clone(), None).await;
        }
        let name = server_name(&origin.host).map_err(HttpError::Tls)?;
        let stream = tokio_rustls::TlsConnector::from(Arc::clone(self.tls))
            .connect(name, tcp)
            .await
            .map_err(HttpError::Tls)?;
        let session = stream.get_ref().1;
        let cert_not_after = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| super::tls::not_after(cert));
        if session.alpn_protocol() == Some(b"h2") {
            let (tx, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                // Its errors reach the requests on it; it ends when the client drops.
                let _ = conn.await;
            });
            return Ok(Conn {
                origin: origin.clone(),
                sender: Sender::H2(tx),
                cert_not_after,
            });
        }
        http1(Box::new(stream), origin.clone(), cert_not_after).await
    }
}

async fn http1(
    io: Box<dyn Io>,
    origin: Origin,
    cert_not_after: Option<DateTime<Utc>>,
) -> Result<Conn, HttpError> {
    let (tx, conn) = http1::handshake(TokioIo::new(io)).await?;
    Ok(Conn {
        origin,
        sender: Sender::H1 {
            tx,
            conn: Some(Box::pin(conn)),
        },
        cert_not_after,
    })
}

/// Connection Attempt Delay of RFC 8305 ("Happy Eyeballs"): the next address is tried
/// when the previous one has neither connected nor failed within this, without
/// giving up on it. A host whose IPv6 is broken on the monitoring machine then costs
/// 250 ms, not the step's timeout.
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// A TCP connection to `addrs`: the first attempt to connect wins (RFC 8305).
async fn tcp(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut pending = interleave(addrs).into_iter();
    let mut attempts = FuturesUnordered::new();
    let mut last = None;
    loop {
        if let Some(addr) = pending.next() {
            attempts.push(TcpStream::connect(addr));
        }
        if attempts.is_empty() {
            break;
        }
        // The next address starts when this wait ends: an attempt failed, or none
        // connected within the delay (the ones in flight go on).
        tokio::select! {
            found = attempts.next() => match found {
                Some(Ok(stream)) => {
                    // Requests go out whole; waiting to coalesce them only adds latency.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Some(Err(e)) => last = Some(e),
                None => {}
            },
            () = tokio::time::sleep(ATTEMPT_DELAY), if pending.len() > 0 => {}
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no address")))
}

/// `addrs` with the address families alternating, the resolver's first family first.
fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(SocketAddr::is_ipv6);
    let (mut first, mut second): (VecDeque<SocketAddr>, VecDeque<SocketAddr>) =
        addrs.iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(addrs.len());
    while !first.is_empty() || !second.is_empty() {
        out.extend(first.pop_front());
        out.extend(second.pop_front());
    }
    out
}

fn server_name(host: &Host<String>) -> io::Result<ServerName<'static>> {
    match host {
        Host::Domain(name) => ServerName::try_from(name.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e)),
        Host::Ipv4(ip) => Ok(ServerName::from(IpAddr::V4(*ip))),
        Host::Ipv6(ip) => Ok(ServerName::from(IpAddr::V6(*ip))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_alternate_from_the_resolvers_first() {
        let got = interleave(&[
            addr("[::1]:80"),
            addr("[::2]:80"),
            addr("10.0.0.1:80"),
            addr("[::3]:80"),
            addr("10.0.0.2:80"),
        ]);
        let want = [
            "[::1]:80",
            "10.0.0.1:80",
            "[::2]:80",
            "10.0.0.2:80",
            "[::3]:80",
        ];
        assert_eq!(got, want.map(addr));
    }

    #[tokio::test]
    async fn a_refused_address_moves_on_to_the_next() {
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open_addr = open.local_addr().unwrap();
        let stream = tcp(&[closed_addr, open_addr]).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), open_addr);
        let refused = tcp(&[closed_addr]).await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    }
}
