//! What the client does on the wire beyond one request: redirects followed the way
//! browsers follow them, gzip bodies, HTTP/2 where the server offers it.

use std::io::Write;

use tokio::io::AsyncWriteExt;

use super::*;

#[tokio::test]
async fn see_other_turns_the_post_into_a_get_with_the_cookie_and_referer_on_one_connection() {
    let mut server = hostile::respond(|head| {
        if head.contains("POST /pay ") {
            response(
                "303 See Other",
                &[("location", "/done"), ("set-cookie", "paid=1; Path=/")],
                "",
            )
        } else {
            response("200 OK", &[], "done")
        }
    })
    .await;
    let mut pay = get(&server.url("/pay"));
    pay.method = "POST".into();
    pay.headers = vec![("content-type".into(), "application/json".into())];
    pay.body = Some(b"{}".to_vec());
    let ex = client().send(&pay, TIMEOUT, MAX_BODY).await;
    let r = ex.outcome.unwrap();
    assert_eq!((r.status, &r.body[..]), (200, &b"done"[..]));
    assert_eq!(r.final_url, server.url("/done"));
    let heads = server.received();
    assert_eq!(heads.len(), 2);
    let next = &heads[1];
    assert!(next.contains("GET /done HTTP/1.1\r\n"), "{next}");
    assert!(next.contains("cookie: paid=1\r\n"), "{next}");
    assert!(
        next.contains(&format!("referer: {}\r\n", server.url("/pay"))),
        "{next}"
    );
    assert!(!next.contains("content-type"), "{next}");
    assert_eq!(
        server.connection_count(),
        1,
        "the empty redirect body frees the connection"
    );
}

/// A server answering each request with a gzip body of `text` (and `content-length`
/// of the compressed form).
async fn gzip_server(text: &'static [u8]) -> hostile::Server {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text).unwrap();
    let packed = std::sync::Arc::new(enc.finish().unwrap());
    hostile::serve(move |mut stream, rec| {
        let packed = std::sync::Arc::clone(&packed);
        async move {
            while let Some(head) = hostile::read_head(&mut stream).await {
                let _ = rec.send(head);
                let mut out = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
                    packed.len()
                )
                .into_bytes();
                out.extend_from_slice(&packed);
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_gzip_body_is_asked_for_and_read_decompressed() {
    let mut server = gzip_server(br#"{"status":"shipped"}"#).await;
    let r = client()
        .send(&get(&server.url("/o")), TIMEOUT, MAX_BODY)
        .await
        .outcome
        .unwrap();
    assert_eq!(&r.body[..], br#"{"status":"shipped"}"#);
    assert!(
        !r.headers
            .iter()
            .any(|(n, _)| n == "content-encoding" || n == "content-length"),
        "{:?}",
        r.headers
    );
    let head = server.received().remove(0);
    assert!(head.contains("accept-encoding: gzip\r\n"), "{head}");
}

#[tokio::test]
async fn a_gzip_body_is_capped_after_decompression() {
    static ZEROS: [u8; 256 * 1024] = [b'0'; 256 * 1024];
    let server = gzip_server(&ZEROS).await;
    let ex = client().send(&get(&server.url("/o")), TIMEOUT, 1000).await;
    let e = ex.outcome.unwrap_err();
    assert_eq!(e.class, FailureClass::BodyTooLarge, "{}", e.message);
    assert_eq!(e.partial.unwrap().body.len(), 1000);
}

#[tokio::test]
async fn http2_is_used_when_the_server_offers_it_and_carries_cookies() {
    let pki = Pki::generate();
    let mut server = pki.h2_server().await;
    let client = HttpClient::new(&ClientOptions {
        tls: TlsOptions {
            ca_file: Some(pki.ca_file.clone()),
            ..TlsOptions::default()
        },
        ..ClientOptions::default()
    })
    .unwrap();
    for _ in 0..2 {
        let ex = client
            .send(&get(&server.https_url("/h2?x=1")), TIMEOUT, MAX_BODY)
            .await;
        let r = ex.outcome.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"h2 ok"[..]));
        assert_eq!(
            r.cert_not_after.map(|t| t.timestamp()),
            Some(SERVER_NOT_AFTER_UNIX)
        );
    }
    let lines = server.received();
    let first = format!("GET {} HTTP/2.0 None", server.https_url("/h2?x=1"));
    let second = format!(
        "GET {} HTTP/2.0 Some(\"h2=yes\")",
        server.https_url("/h2?x=1")
    );
    assert_eq!(lines, [first, second]);
    assert_eq!(server.connection_count(), 1);
}
