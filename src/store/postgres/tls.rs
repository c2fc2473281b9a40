//! TLS to PostgreSQL, with libpq's `sslmode` semantics.
//!
//! The URL (or key=value string) may carry `sslmode` and `sslrootcert`;
//! both are taken out before `tokio-postgres` parses the rest (it knows
//! neither `verify-ca`/`verify-full` nor `sslrootcert`).
//!
//! | `sslmode` | encrypted | certificate checked |
//! |---|---|---|
//! | `disable` | no | - |
//! | `prefer` (default) | if the server offers it, else plain | no |
//! | `require` | yes | no; against `sslrootcert` (chain only) when given, as libpq |
//! | `verify-ca` | yes | chain to `sslrootcert` (or the Mozilla roots), any host name |
//! | `verify-full` | yes | chain and host name |
//!
//! Without `sslrootcert` the verifying modes trust the Mozilla roots
//! (`webpki-roots`), not `~/.postgresql/root.crt` as libpq would: a daemon
//! should not depend on a home directory. `sslrootcert` names a PEM file of
//! CA certificates (a plain path).
//!
//! # Crate
//!
//! `tokio-postgres-rustls` on the `rustls` (ring) journeyd already uses for
//! HTTPS: no OpenSSL to link or patch, one TLS stack in the binary, and it
//! plugs into `tokio-postgres`'s `MakeTlsConnect` (so `deadpool-postgres`
//! takes it unchanged). `postgres-native-tls` would bring OpenSSL on Linux.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode as DriverMode;

/// libpq's `sslmode` values journeyd supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, unverified.
    Prefer,
    /// TLS, unverified (chain-verified with `sslrootcert`).
    Require,
    /// TLS, chain verified.
    VerifyCa,
    /// TLS, chain and host name verified.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<SslMode, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode `{other}` is not one of disable, prefer, require, verify-ca, \
                     verify-full"
                ));
            }
        })
    }

    /// What the driver does at connect (it only knows three modes).
    pub(super) fn driver(self) -> DriverMode {
        match self {
            SslMode::Disable => DriverMode::Disable,
            SslMode::Prefer => DriverMode::Prefer,
            _ => DriverMode::Require,
        }
    }
}

/// A connection string with its TLS settings taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The rest, for `tokio_postgres::Config`.
    pub url: String,
    /// `sslmode` (default `prefer`).
    pub mode: SslMode,
    /// `sslrootcert`.
    pub root_cert: Option<PathBuf>,
}

/// Splits `sslmode` and `sslrootcert` off a `postgres://` URL (query
/// parameters) or a key=value string.
pub fn split(url: &str) -> Result<TlsSettings, String> {
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let (head, params, sep) = match (is_url, url.split_once('?')) {
        (true, Some((head, query))) => (head, query, '&'),
        (true, None) => (url, "", '&'),
        (false, _) => ("", url, ' '),
    };
    let mut mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut rest = Vec::new();
    for part in params.split(sep).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("sslmode", v)) => mode = SslMode::parse(v.trim())?,
            Some(("sslrootcert", v)) => root_cert = Some(PathBuf::from(v.trim())),
            _ => rest.push(part),
        }
    }
    let rest = rest.join(&sep.to_string());
    let url = match (is_url, rest.is_empty()) {
        (true, true) => head.to_string(),
        (true, false) => format!("{head}?{rest}"),
        (false, _) => rest,
    };
    Ok(TlsSettings {
        url,
        mode,
        root_cert,
    })
}

/// The rustls configuration for `settings`; `None` for `disable`.
pub fn client_config(settings: &TlsSettings) -> Result<Option<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verify_chain = match settings.mode {
        SslMode::Disable => return Ok(None),
        SslMode::Prefer => false,
        SslMode::Require => settings.root_cert.is_some(),
        SslMode::VerifyCa | SslMode::VerifyFull => true,
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = if verify_chain {
        let roots = Arc::new(roots(settings.root_cert.as_deref())?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| e.to_string())?;
        if settings.mode == SslMode::VerifyFull {
            builder.with_webpki_verifier(webpki).with_no_client_auth()
        } else {
            (builder.dangerous())
                .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
                .with_no_client_auth()
        }
    } else {
        (builder.dangerous())
            .with_custom_certificate_verifier(Arc::new(crate::tls::SignaturesOnly(provider)))
            .with_no_client_auth()
    };
    Ok(Some(config))
}

fn roots(file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let Some(file) = file else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    };
    let shown = file.display();
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| format!("cannot read sslrootcert {shown}: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("sslrootcert {shown}: {e}"))?;
        (roots.add(cert)).map_err(|e| format!("sslrootcert {shown}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {shown} holds no certificate"));
    }
    Ok(roots)
}

/// `verify-ca` (and `require` with a root file): the chain is checked, the
/// host name is not.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match (self.0).verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
