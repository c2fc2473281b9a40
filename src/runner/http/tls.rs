//! A journey's TLS settings applied to the client, and the peer certificate's expiry.
//!
//! Files named in the journey are read when the client is built, so a missing CA
//! bundle or a broken client key is reported once, as a configuration problem with the
//! path in it, instead of as a TLS failure of the target on every run.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use reqwest::tls::{Certificate, Identity, TlsInfo};
use reqwest::{ClientBuilder, Response};

use super::ClientError;
use crate::journey::model::TlsOptions;

/// Adds the extra CA bundle, the client identity and the verification opt-out;
/// without any of them, the TLS configuration built once for all runs.
pub(super) fn apply(
    mut builder: ClientBuilder,
    tls: &TlsOptions,
) -> Result<ClientBuilder, ClientError> {
    let plain = tls.ca_file.is_none()
        && tls.client_cert.is_none()
        && tls.client_key.is_none()
        && !tls.insecure_skip_verify;
    if plain && let Some(config) = shared_default() {
        return Ok(builder.use_preconfigured_tls(config));
    }
    if let Some(path) = &tls.ca_file {
        for cert in ca_bundle(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => builder = builder.identity(identity(cert, key)?),
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
        (None, None) => {}
    }
    if tls.insecure_skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

/// The TLS configuration of every run without TLS options, built once.
///
/// reqwest would build it again for each run's client, even for a journey on plain
/// HTTP: copy the ~150 webpki roots into a new root store (a few hundred
/// allocations), then build a verifier and a configuration around it. The
/// configuration holds nothing of a connection but the TLS session
/// cache, and each client gets a clone with a new, empty one, so no session resumes
/// from one run into the next: every run still pays its own full handshakes, as a
/// new customer would. Versions, ALPN, SNI and the crypto provider are those reqwest
/// chooses for the features this crate builds it with. `None` (a provider without
/// the protocol versions) leaves reqwest to build it and report the problem.
fn shared_default() -> Option<rustls::ClientConfig> {
    static CONFIG: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    let mut config = CONFIG.get_or_init(build_default).clone()?;
    config.resumption = rustls::client::Resumption::default();
    Some(config)
}

fn build_default() -> Option<rustls::ClientConfig> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
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

fn ca_bundle(path: &Path) -> Result<Vec<Certificate>, ClientError> {
    let pem = read(path, "tls.ca_file")?;
    let invalid = |why: String| {
        ClientError(format!(
            "tls.ca_file {} is not a usable PEM bundle ({why}); it must hold one or more \
             -----BEGIN CERTIFICATE----- blocks",
            path.display()
        ))
    };
    let certs = Certificate::from_pem_bundle(&pem).map_err(|e| invalid(e.to_string()))?;
    if certs.is_empty() {
        return Err(invalid("no certificate found".to_string()));
    }
    // reqwest only parses the DER when the client is built; check it now so the
    // message can name the file.
    for (i, cert) in pem_sections(&pem).iter().enumerate() {
        if x509_parser::parse_x509_certificate(cert).is_err() {
            return Err(invalid(format!("certificate #{} does not parse", i + 1)));
        }
    }
    Ok(certs)
}

fn pem_sections(pem: &[u8]) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem)
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .collect()
}

fn identity(cert: &Path, key: &Path) -> Result<Identity, ClientError> {
    let mut pem = read(cert, "tls.client_cert")?;
    pem.push(b'\n');
    pem.extend(read(key, "tls.client_key")?);
    Identity::from_pem(&pem).map_err(|e| {
        ClientError(format!(
            "tls.client_cert {} and tls.client_key {} do not form a client identity ({e}); \
             the certificate must be PEM and the key a PEM PKCS#8, PKCS#1 or SEC1 private key",
            cert.display(),
            key.display()
        ))
    })
}

/// The `notAfter` of the certificate the server presented, for HTTPS responses.
pub(super) fn cert_not_after(response: &Response) -> Option<DateTime<Utc>> {
    let der = response.extensions().get::<TlsInfo>()?.peer_certificate()?;
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
        match apply(reqwest::Client::builder(), tls) {
            Ok(_) => String::new(),
            Err(e) => e.0,
        }
    }

    #[test]
    fn shared_default_is_what_reqwest_would_build() {
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
