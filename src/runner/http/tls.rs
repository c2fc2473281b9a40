//! A journey's TLS settings as a rustls configuration, and the peer certificate's expiry.
//!
//! Files named in the journey are read when the client is built, so a missing CA
//! bundle or a broken client key is reported once, as a configuration problem with the
//! path in it, instead of as a TLS failure of the target on every run.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::ClientError;
use crate::journey::model::TlsOptions;

/// The client's TLS configuration: the one built once for all runs without TLS
/// options, or one with the journey's CA bundle, client identity and verification
/// opt-out.
pub(super) fn config(tls: &TlsOptions) -> Result<Arc<ClientConfig>, ClientError> {
    let plain = tls.ca_file.is_none()
        && tls.client_cert.is_none()
        && tls.client_key.is_none()
        && !tls.insecure_skip_verify;
    if plain {
        return shared_default().map(Arc::new).ok_or_else(no_versions);
    }
    let provider = provider();
    let mut roots = webpki();
    if let Some(path) = &tls.ca_file {
        for (i, cert) in ca_bundle(path)?.into_iter().enumerate() {
            roots.add(cert).map_err(|e| {
                ClientError(format!(
                    "tls.ca_file {}: certificate #{} is not a usable trust anchor ({e})",
                    path.display(),
                    i + 1
                ))
            })?;
        }
    }
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|_| no_versions())?;
    let builder = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(crate::tls::SignaturesOnly(provider)))
    } else {
        builder.with_root_certificates(roots)
    };
    let mut config = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let (chain, private) = identity(cert, key)?;
            builder
                .with_client_auth_cert(chain, private)
                .map_err(|e| not_an_identity(cert, key, &e.to_string()))?
        }
        (Some(cert), None) => {
            return Err(ClientError(format!(
                "tls.client_cert {} is set without tls.client_key: set both for mutual TLS",
                cert.display()
            )));
        }
        (None, Some(key)) => {
            return Err(ClientError(format!(
                "tls.client_key {} is set without tls.client_cert: set both for mutual TLS",
                key.display()
            )));
        }
        (None, None) => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

fn no_versions() -> ClientError {
    ClientError("the TLS crypto provider supports no protocol version".to_string())
}

fn alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

fn webpki() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The TLS configuration of every run without TLS options, built once.
///
/// Building it means copying the ~150 webpki roots into a new root store (a few
/// hundred allocations), then building a verifier and a configuration around them:
/// worth doing once, not per run. The configuration holds nothing of a connection
/// but the TLS session cache, and each client gets a clone with a new, empty one, so
/// no session resumes from one run into the next: every run pays its own full
/// handshakes, as a new customer would. `None`: the provider has no protocol version.
fn shared_default() -> Option<ClientConfig> {
    static CONFIG: OnceLock<Option<ClientConfig>> = OnceLock::new();
    let mut config = CONFIG.get_or_init(build_default).clone()?;
    config.resumption = rustls::client::Resumption::default();
    Some(config)
}

fn build_default() -> Option<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .ok()?
        .with_root_certificates(webpki())
        .with_no_client_auth();
    config.alpn_protocols = alpn();
    Some(config)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|e| {
        ClientError(format!(
            "cannot read {what} {}: {e}; check that the path exists and is readable by journeyd",
            path.display()
        ))
    })
}

fn ca_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let pem = read(path, "tls.ca_file")?;
    let invalid = |why: String| {
        ClientError(format!(
            "tls.ca_file {} is not a usable PEM bundle ({why}); it must hold one or more \
             -----BEGIN CERTIFICATE----- blocks",
            path.display()
        ))
    };
    let certs = pem_sections(&pem);
    if certs.is_empty() {
        return Err(invalid("no certificate found".to_string()));
    }
    for (i, cert) in certs.iter().enumerate() {
        if x509_parser::parse_x509_certificate(cert).is_err() {
            return Err(invalid(format!("certificate #{} does not parse", i + 1)));
        }
    }
    Ok(certs.into_iter().map(CertificateDer::from).collect())
}

fn pem_sections(pem: &[u8]) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem)
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .collect()
}

fn not_an_identity(cert: &Path, key: &Path, why: &str) -> ClientError {
    ClientError(format!(
        "tls.client_cert {} and tls.client_key {} do not form a client identity ({why}); \
         the certificate must be PEM and the key a PEM PKCS#8, PKCS#1 or SEC1 private key",
        cert.display(),
        key.display()
    ))
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn identity(cert: &Path, key: &Path) -> Result<Identity, ClientError> {
    let chain: Vec<CertificateDer<'static>> = pem_sections(&read(cert, "tls.client_cert")?)
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    if chain.is_empty() {
        return Err(not_an_identity(cert, key, "no certificate found"));
    }
    let private = PrivateKeyDer::from_pem_slice(&read(key, "tls.client_key")?)
        .map_err(|e| not_an_identity(cert, key, &format!("no private key: {e}")))?;
    Ok((chain, private))
}

/// The `notAfter` of a DER certificate.
pub(super) fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn opts(ca: Option<PathBuf>, cert: Option<PathBuf>, key: Option<PathBuf>) -> TlsOptions {
        TlsOptions {
            ca_file: ca,
            client_cert: cert,
            client_key: key,
            insecure_skip_verify: false,
        }
    }

    fn message(tls: &TlsOptions) -> String {
        match config(tls) {
            Ok(_) => String::new(),
            Err(e) => e.0,
        }
    }

    #[test]
    fn shared_default_offers_h2_and_http1_with_sni_and_no_identity() {
        let config = shared_default().unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(config.enable_sni);
        assert!(!config.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn missing_ca_file_names_the_path() {
        let msg = message(&opts(Some("/nonexistent/ca.pem".into()), None, None));
        assert!(
            msg.starts_with("cannot read tls.ca_file /nonexistent/ca.pem:"),
            "{msg}"
        );
    }

    #[test]
    fn ca_file_without_certificates_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let msg = message(&opts(Some(path.clone()), None, None));
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("no certificate found"), "{msg}");
    }

    #[test]
    fn client_cert_without_key_is_rejected() {
        let msg = message(&opts(None, Some("/c.pem".into()), None));
        assert!(msg.contains("without tls.client_key"), "{msg}");
    }

    #[test]
    fn client_identity_without_a_key_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        let key = dir.path().join("k.pem");
        std::fs::write(&cert, "").unwrap();
        std::fs::write(&key, "").unwrap();
        let msg = message(&opts(None, Some(cert), Some(key)));
        assert!(msg.contains("do not form a client identity"), "{msg}");
    }
}
