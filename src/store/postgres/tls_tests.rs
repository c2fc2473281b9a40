//! TLS to PostgreSQL: `sslmode` and `sslrootcert` taken out of both URL
//! forms, and connections to a real server started with `ssl=on` and a
//! certificate for 127.0.0.1 from a CA generated here.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use super::testutil::TestPostgres;
use super::tls::{SslMode, TlsSettings, split};
use crate::store::PgTarget;

#[test]
fn sslmode_and_sslrootcert_are_taken_out_of_both_url_forms() {
    let cases = [
        (
            "postgres://u@h:5/db?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=x",
            "postgres://u@h:5/db?application_name=x",
            SslMode::VerifyFull,
            Some("/etc/ca.pem"),
        ),
        (
            "postgres://u@h/db",
            "postgres://u@h/db",
            SslMode::Prefer,
            None,
        ),
        (
            "postgresql://h/db?sslmode=disable",
            "postgresql://h/db",
            SslMode::Disable,
            None,
        ),
        (
            "host=h user=u sslmode=verify-ca sslrootcert=/ca.pem dbname=d",
            "host=h user=u dbname=d",
            SslMode::VerifyCa,
            Some("/ca.pem"),
        ),
        ("host=h sslmode=require", "host=h", SslMode::Require, None),
    ];
    for (input, url, mode, root) in cases {
        let want = TlsSettings {
            url: url.to_string(),
            mode,
            root_cert: root.map(PathBuf::from),
        };
        assert_eq!(split(input).unwrap(), want, "{input}");
    }
    let err = split("postgres://h/db?sslmode=allow-maybe").unwrap_err();
    assert!(
        err.contains("allow-maybe") && err.contains("verify-full"),
        "{err}"
    );
}

/// A CA (its PEM written to `dir/name`) and a server certificate and key for 127.0.0.1.
fn pki(dir: &Path, name: &str) -> (PathBuf, String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let ca_file = dir.join(name);
    std::fs::write(&ca_file, ca.pem()).unwrap();
    (ca_file, server.pem(), key.serialize_pem())
}

/// Connects through journeyd's pool; whether the session is encrypted.
async fn encrypted(url: String) -> Result<bool, String> {
    let target = PgTarget {
        url,
        location: "a".into(),
    };
    let pool = target.pool().map_err(|e| e.to_string())?;
    let client = pool.get().await.map_err(|e| format!("{e:?}"))?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test]
async fn pg_tls_follows_sslmode_and_verifies_against_sslrootcert() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = pki(dir.path(), "ca.pem");
    let (other_ca, _, _) = pki(dir.path(), "other-ca.pem");
    let pg = TestPostgres::start_with_tls(&cert, &key);
    let port = pg.port();
    let url = |host: &str, q: &str| format!("postgres://postgres@{host}:{port}/postgres?{q}");
    let root = |f: &Path| format!("sslrootcert={}", f.display());

    let full = format!("sslmode=verify-full&{}", root(&ca));
    assert_eq!(encrypted(url("127.0.0.1", &full)).await, Ok(true));
    assert_eq!(
        encrypted(url("127.0.0.1", "sslmode=require")).await,
        Ok(true)
    );
    assert_eq!(encrypted(url("127.0.0.1", "")).await, Ok(true), "prefer");
    assert_eq!(
        encrypted(url("127.0.0.1", "sslmode=disable")).await,
        Ok(false)
    );
    // Another CA's certificate is refused, in every verifying mode.
    for mode in ["verify-full", "verify-ca", "require"] {
        let q = format!("sslmode={mode}&{}", root(&other_ca));
        let got = encrypted(url("127.0.0.1", &q)).await;
        assert!(got.is_err(), "{mode}: {got:?}");
    }
    // The certificate names 127.0.0.1, not localhost: only verify-ca lets it pass.
    let full_localhost = encrypted(url("localhost", &full)).await;
    assert!(full_localhost.is_err(), "{full_localhost:?}");
    let ca_only = format!("sslmode=verify-ca&{}", root(&ca));
    assert_eq!(encrypted(url("localhost", &ca_only)).await, Ok(true));
}

#[tokio::test]
async fn pg_without_tls_prefer_falls_back_and_require_fails() {
    let pg = TestPostgres::start();
    let url = |q: &str| format!("{}?{q}", pg.url());
    assert_eq!(encrypted(url("sslmode=prefer")).await, Ok(false));
    let required = encrypted(url("sslmode=require")).await;
    assert!(required.is_err(), "{required:?}");
}
