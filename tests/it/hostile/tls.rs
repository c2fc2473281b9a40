//! TLS: untrusted and trusted certificates, expiry, mTLS, CA file errors.

use super::*;

#[tokio::test]
async fn untrusted_certificate_is_tls() {
    let pki = Pki::generate();
    let server = pki.server(false).await;
    let e = expect_failure(&client(), &get(&server.https_url("/")), FailureClass::Tls).await;
    assert!(e.message.contains("UnknownIssuer"), "{}", e.message);
}

#[tokio::test]
async fn ca_file_makes_the_certificate_trusted_and_reports_its_expiry() {
    let pki = Pki::generate();
    let server = pki.server(false).await;
    let opts = ClientOptions {
        tls: TlsOptions {
            ca_file: Some(pki.ca_file.clone()),
            ..TlsOptions::default()
        },
        ..ClientOptions::default()
    };
    let ex = HttpClient::new(&opts)
        .unwrap()
        .send(&get(&server.https_url("/")), TIMEOUT, MAX_BODY)
        .await;
    let r = ex.outcome.unwrap();
    assert_eq!(&r.body[..], b"ok");
    assert_eq!(
        r.cert_not_after.map(|t| t.timestamp()),
        Some(SERVER_NOT_AFTER_UNIX)
    );
    assert!(ex.timings.connect > 0.0);
}

#[tokio::test]
async fn insecure_skip_verify_accepts_an_untrusted_certificate() {
    let pki = Pki::generate();
    let server = pki.server(false).await;
    let opts = ClientOptions {
        tls: TlsOptions {
            insecure_skip_verify: true,
            ..TlsOptions::default()
        },
        ..ClientOptions::default()
    };
    let ex = HttpClient::new(&opts)
        .unwrap()
        .send(&get(&server.https_url("/")), TIMEOUT, MAX_BODY)
        .await;
    assert_eq!(ex.outcome.unwrap().status, 200);
}

fn mtls_options(pki: &Pki, with_identity: bool) -> ClientOptions {
    ClientOptions {
        tls: TlsOptions {
            ca_file: Some(pki.ca_file.clone()),
            client_cert: with_identity.then(|| pki.client_cert_file.clone()),
            client_key: with_identity.then(|| pki.client_key_file.clone()),
            insecure_skip_verify: false,
        },
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn mtls_passes_with_the_client_identity() {
    let pki = Pki::generate();
    let server = pki.server(true).await;
    let client = HttpClient::new(&mtls_options(&pki, true)).unwrap();
    let ex = client
        .send(&get(&server.https_url("/")), TIMEOUT, MAX_BODY)
        .await;
    assert_eq!(ex.outcome.unwrap().status, 200);
}

#[tokio::test]
async fn mtls_fails_without_the_client_identity() {
    let pki = Pki::generate();
    let server = pki.server(true).await;
    let client = HttpClient::new(&mtls_options(&pki, false)).unwrap();
    let ex = client
        .send(&get(&server.https_url("/")), TIMEOUT, MAX_BODY)
        .await;
    assert!(ex.elapsed < BOUND, "took {:?}", ex.elapsed);
    let e = ex.outcome.unwrap_err();
    assert!(
        matches!(e.class, FailureClass::Tls | FailureClass::ConnectionReset),
        "{}: {}",
        e.class,
        e.message
    );
}

#[tokio::test]
async fn unreadable_ca_file_is_a_client_error_naming_the_path() {
    let opts = ClientOptions {
        tls: TlsOptions {
            ca_file: Some("/nonexistent/journeyd-ca.pem".into()),
            ..TlsOptions::default()
        },
        ..ClientOptions::default()
    };
    let err = HttpClient::new(&opts).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/journeyd-ca.pem"),
        "{err}"
    );
}
