//! A DNS server on `127.0.0.1:0` (UDP) that answers every query NXDOMAIN.
//!
//! Tests of unresolvable names must not send queries off the machine (the system
//! resolver points at a remote server, and its answer would make the test depend on
//! the network), so they point the client's `dns_servers` here instead. The stub
//! counts the queries so a test can prove the client really asked it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// The running stub; stops when dropped.
pub struct NxDomainServer {
    /// Where it listens (UDP).
    pub addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl NxDomainServer {
    /// Binds and starts answering.
    pub async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&queries);
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
                if let Some(answer) = nxdomain(&buf[..len]) {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.send_to(&answer, peer).await;
                }
            }
        });
        Self {
            addr,
            queries,
            task,
        }
    }

    /// Queries answered so far.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for NxDomainServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The NXDOMAIN answer to `query`: same id and question, no records.
fn nxdomain(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return None;
    }
    // Skip QNAME (length-prefixed labels ending with 0), then QTYPE and QCLASS.
    let mut end = 12;
    loop {
        let label = usize::from(*query.get(end)?);
        end += 1;
        if label == 0 {
            break;
        }
        end += label;
    }
    end += 4;
    let question = query.get(12..end)?;
    let opcode_and_rd = query[2] & 0b0111_1001;
    let mut answer = Vec::with_capacity(end);
    answer.extend_from_slice(&query[0..2]); // id
    answer.push(0b1000_0100 | opcode_and_rd); // QR, AA, opcode, RD
    answer.push(0b1000_0011); // RA, RCODE 3 = NXDOMAIN
    answer.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // 1 question, no records
    answer.extend_from_slice(question);
    Some(answer)
}
