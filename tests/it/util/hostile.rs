//! Raw-TCP servers that misbehave on purpose, for the HTTP client's tests.
//!
//! Each server binds `127.0.0.1:0` before it is returned, so a test can connect at
//! once: the kernel queues connections on a bound listener, no readiness wait needed.
//! Dropping a [`Server`] stops its accept loop and every connection it holds.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

/// A running test server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    /// Request heads as received, for servers that record them.
    pub requests: mpsc::UnboundedReceiver<String>,
    accept_loop: JoinHandle<()>,
}

impl Server {
    /// `http://addr{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `https://addr{path}`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Every request head received so far.
    pub fn received(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(head) = self.requests.try_recv() {
            out.push(head);
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// What a connection handler gets: the stream, and a sender for request heads.
pub type Recorder = mpsc::UnboundedSender<String>;

/// Starts a server running `handler` on every accepted connection.
pub async fn serve<F, Fut>(handler: F) -> Server
where
    F: Fn(TcpStream, Recorder) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let (tx, requests) = mpsc::unbounded_channel();
    let counter = Arc::clone(&connections);
    let accept_loop = tokio::spawn(async move {
        // Owned here so aborting the loop drops (and aborts) every connection.
        let mut conns = JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            conns.spawn(handler(stream, tx.clone()));
        }
    });
    Server {
        addr,
        connections,
        requests,
        accept_loop,
    }
}

/// Reads one request head (up to the blank line); `None` when the peer closed.
pub async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// A keep-alive HTTP/1.1 server answering every request with `respond(head)`, a
/// complete raw response. Heads are recorded.
pub async fn respond<F>(respond: F) -> Server
where
    F: Fn(&str) -> String + Send + Sync + 'static,
{
    let respond = Arc::new(respond);
    serve(move |stream, rec| {
        let respond = Arc::clone(&respond);
        async move { answer_each(stream, rec, |head| respond(head)).await }
    })
    .await
}

/// Answers requests on one connection until the peer closes.
pub async fn answer_each<S, F>(mut stream: S, rec: Recorder, respond: F)
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn(&str) -> String,
{
    while let Some(head) = read_head(&mut stream).await {
        let response = respond(&head);
        let _ = rec.send(head);
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A complete response with a body and a content-length.
pub fn response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

/// Accepts, reads the request, never answers.
pub async fn silent() -> Server {
    serve(|mut stream, _| async move {
        let _ = read_head(&mut stream).await;
        std::future::pending::<()>().await;
        drop(stream);
    })
    .await
}

/// Sends headers promising 1000 bytes, then one byte a second.
pub async fn drip() -> Server {
    serve(|mut stream, _| async move {
        let _ = read_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        loop {
            if stream.write_all(b"x").await.is_err() {
                return;
            }
            // The server's behaviour under test, not a readiness wait.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await
}

/// Reads the request, then resets the connection (RST, not FIN).
pub async fn reset() -> Server {
    serve(|mut stream, _| async move {
        let _ = read_head(&mut stream).await;
        let _ = stream.set_zero_linger();
        drop(stream);
    })
    .await
}

/// Reads the request, then closes cleanly without a byte of response.
pub async fn hang_up() -> Server {
    serve(|mut stream, _| async move {
        let _ = read_head(&mut stream).await;
        let _ = stream.shutdown().await;
    })
    .await
}

/// Answers with something that is not HTTP.
pub async fn garbage() -> Server {
    serve(|mut stream, _| async move {
        let _ = read_head(&mut stream).await;
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
        let _ = stream.shutdown().await;
    })
    .await
}

/// Sends a 200 with a body that never ends (no length, 16 KiB writes forever).
pub async fn endless() -> Server {
    serve(|mut stream, _| async move {
        let _ = read_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'a'; 16 * 1024];
        while stream.write_all(&chunk).await.is_ok() {}
    })
    .await
}

/// Redirects every request to itself.
pub async fn redirect_loop() -> Server {
    respond(|_| response("302 Found", &[("location", "/loop")], "")).await
}

/// A port nothing listens on: bound, then released, so connecting is refused.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}
