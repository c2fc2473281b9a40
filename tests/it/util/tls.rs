//! A throw-away PKI and HTTPS servers on `127.0.0.1:0` for the TLS tests.
//!
//! [`Pki::generate`] makes a CA, a server certificate for 127.0.0.1 signed by it (with
//! a fixed expiry, so tests can check `cert_not_after` exactly) and a client
//! certificate for mTLS, and writes the PEM files a journey would name.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsAcceptor;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::hostile::{Server, read_head, response, serve};

/// Expiry of the server certificate: 2031-01-01T00:00:00Z.
pub const SERVER_NOT_AFTER_UNIX: i64 = 1_924_992_000;

/// Certificates and keys, in memory and as PEM files.
pub struct Pki {
    /// Holds the PEM files.
    pub dir: TempDir,
    /// The CA certificate (what `tls.ca_file` names).
    pub ca_file: PathBuf,
    /// Client certificate for mTLS.
    pub client_cert_file: PathBuf,
    /// Its key.
    pub client_key_file: PathBuf,
    ca_der: CertificateDer<'static>,
    server_der: CertificateDer<'static>,
    server_key: Vec<u8>,
}

impl Pki {
    /// Generates everything.
    pub fn generate() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "journeyd test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        server_params.not_after = rcgen::date_time_ymd(2031, 1, 1);
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().unwrap();
        let server = server_params.signed_by(&server_key, &ca).unwrap();

        let mut client_params =
            CertificateParams::new(vec!["journeyd-client".to_string()]).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "journeyd-client");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().unwrap();
        let client = client_params.signed_by(&client_key, &ca).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let ca_file = write("ca.pem", ca.pem());
        let client_cert_file = write("client.pem", client.pem());
        let client_key_file = write("client.key", client_key.serialize_pem());
        Self {
            ca_der: ca.der().clone(),
            server_der: server.der().clone(),
            server_key: server_key.serialize_der(),
            dir,
            ca_file,
            client_cert_file,
            client_key_file,
        }
    }

    fn acceptor(&self, require_client_cert: bool) -> TlsAcceptor {
        TlsAcceptor::from(Arc::new(self.server_config(require_client_cert)))
    }

    fn server_config(&self, require_client_cert: bool) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = RootCertStore::empty();
            roots.add(self.ca_der.clone()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        builder
            .with_single_cert(vec![self.server_der.clone()], key)
            .unwrap()
    }

    /// An HTTPS server that speaks HTTP/2 only (ALPN `h2`), answering every request
    /// `200 h2 ok`; it records `METHOD URI VERSION cookie` of each request.
    pub async fn h2_server(&self) -> Server {
        let mut config = self.server_config(false);
        config.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        serve(move |stream, rec| {
            let acceptor = acceptor.clone();
            async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let cookie = req
                        .headers()
                        .get("cookie")
                        .map(|v| v.to_str().unwrap_or("").to_string());
                    let line = format!(
                        "{} {} {:?} {cookie:?}",
                        req.method(),
                        req.uri(),
                        req.version()
                    );
                    let _ = rec.send(line);
                    let mut response =
                        hyper::Response::new(Full::new(Bytes::from_static(b"h2 ok")));
                    response
                        .headers_mut()
                        .insert("set-cookie", "h2=yes".parse().unwrap());
                    async move { Ok::<_, std::convert::Infallible>(response) }
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            }
        })
        .await
    }

    /// An HTTPS server answering every request `200 ok`, optionally demanding a
    /// client certificate signed by the CA.
    pub async fn server(&self, require_client_cert: bool) -> Server {
        let acceptor = self.acceptor(require_client_cert);
        serve(move |stream, rec| {
            let acceptor = acceptor.clone();
            async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                while let Some(head) = read_head(&mut tls).await {
                    let _ = rec.send(head);
                    let ok = response("200 OK", &[("content-type", "text/plain")], "ok");
                    if tls.write_all(ok.as_bytes()).await.is_err() || tls.flush().await.is_err() {
                        return;
                    }
                }
            }
        })
        .await
    }
}
