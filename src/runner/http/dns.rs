//! Name resolution for the per-run client, timed.
//!
//! The client asks [`Resolver`] for every new connection to a host name (IP
//! literals never get here) and times the lookup. It resolves with the system resolver, or, when the
//! operator configured DNS servers, with hickory talking to exactly those servers:
//! that lets a probe check what a particular resolver answers, and lets tests run
//! without sending a single query off the machine. Failures come back as a
//! [`DnsError`] naming the host, which the classifier recognises as class `dns`.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, TokioResolver};

/// A host name did not resolve to any address.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not resolve host {host}: {reason}")]
pub(super) struct DnsError {
    /// The name looked up.
    pub host: String,
    /// Why, for a person.
    pub reason: String,
}

/// Where names are looked up.
enum Backend {
    System,
    Hickory(Box<TokioResolver>),
}

/// The client's resolver.
pub(super) struct Resolver {
    backend: Backend,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.backend {
            Backend::System => "system",
            Backend::Hickory(_) => "hickory",
        };
        f.debug_struct("Resolver")
            .field("backend", &backend)
            .finish()
    }
}

impl Resolver {
    /// A resolver using `servers` (UDP, falling back to TCP), or the system resolver
    /// when `servers` is empty.
    pub fn new(servers: &[SocketAddr]) -> Self {
        let backend = if servers.is_empty() {
            Backend::System
        } else {
            Backend::Hickory(Box::new(hickory(servers)))
        };
        Self { backend }
    }

    /// The addresses of `host`, with `port`.
    pub async fn lookup(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, DnsError> {
        let mut addrs = lookup(&self.backend, host).await?;
        for addr in &mut addrs {
            addr.set_port(port);
        }
        Ok(addrs)
    }
}

fn hickory(servers: &[SocketAddr]) -> TokioResolver {
    let configs: Vec<NameServerConfig> = servers
        .iter()
        .flat_map(|addr| {
            [
                NameServerConfig::new(*addr, Protocol::Udp),
                NameServerConfig::new(*addr, Protocol::Tcp),
            ]
        })
        .collect();
    // No search domains: a journey names hosts fully, and appending the machine's
    // domain would make a probe resolve something other than what it says.
    let config = ResolverConfig::from_parts(None, vec![], configs);
    let mut opts = ResolverOpts::default();
    // The step timeout bounds the whole exchange; one retry is enough inside it.
    opts.attempts = 1;
    TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        .with_options(opts)
        .build()
}

async fn lookup(backend: &Backend, host: &str) -> Result<Vec<SocketAddr>, DnsError> {
    let fail = |reason: String| DnsError {
        host: host.to_string(),
        reason,
    };
    // Port 0: the caller puts in the URL's port.
    let addrs: Vec<SocketAddr> = match backend {
        Backend::System => tokio::net::lookup_host((host, 0))
            .await
            .map_err(|e| fail(e.to_string()))?
            .collect(),
        Backend::Hickory(resolver) => resolver
            .lookup_ip(host)
            .await
            .map_err(|e| fail(hickory_reason(&e)))?
            .iter()
            .map(|ip: IpAddr| SocketAddr::new(ip, 0))
            .collect(),
    };
    if addrs.is_empty() {
        return Err(fail("no address records".to_string()));
    }
    Ok(addrs)
}

fn hickory_reason(err: &ResolveError) -> String {
    if err.is_nx_domain() {
        "no such domain (NXDOMAIN)".to_string()
    } else if err.is_no_records_found() {
        "no address records".to_string()
    } else {
        err.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn system_lookup_of_an_ip_string_needs_no_dns() {
        let addrs = lookup(&Backend::System, "127.0.0.1").await;
        assert_eq!(addrs.ok(), Some(vec!["127.0.0.1:0".parse().unwrap()]));
    }

    #[test]
    fn dns_error_names_the_host() {
        let e = DnsError {
            host: "shop.invalid".into(),
            reason: "no such domain (NXDOMAIN)".into(),
        };
        assert_eq!(
            e.to_string(),
            "could not resolve host shop.invalid: no such domain (NXDOMAIN)"
        );
    }
}
