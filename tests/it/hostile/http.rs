//! Plain HTTP: reads, headers, cookies, timeouts, resets, caps, redirects, DNS.

use super::*;

#[tokio::test]
async fn json_response_is_read_whole_and_the_second_request_reuses_the_connection() {
    let mut server = hostile::respond(|_| {
        response(
            "200 OK",
            &[
                ("content-type", "application/json"),
                ("x-trace", "a"),
                ("x-trace", "b"),
            ],
            r#"{"status":"shipped"}"#,
        )
    })
    .await;
    let client = client();

    let first = client
        .send(&get(&server.url("/orders/1")), TIMEOUT, MAX_BODY)
        .await;
    let response = first.outcome.as_ref().unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(&response.body[..], br#"{"status":"shipped"}"#);
    assert_eq!(response.final_url, server.url("/orders/1"));
    assert_eq!(response.cert_not_after, None);
    let traces: Vec<&str> = response
        .headers
        .iter()
        .filter(|(n, _)| n == "x-trace")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(traces, ["a", "b"]);
    assert!(
        response
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/json")
    );
    assert_timings_sane(&first);
    assert!(
        first.timings.connect > 0.0,
        "fresh connection: {:?}",
        first.timings
    );
    assert_eq!(first.timings.resolve, 0.0, "an IP literal never hits DNS");

    let second = client
        .send(&get(&server.url("/orders/1")), TIMEOUT, MAX_BODY)
        .await;
    assert_eq!(second.outcome.as_ref().unwrap().status, 200);
    assert_timings_sane(&second);
    assert_eq!(
        second.timings.connect, 0.0,
        "pooled connection: {:?}",
        second.timings
    );
    assert_eq!(server.connection_count(), 1);

    let heads = server.received();
    assert!(
        heads[0].starts_with("GET /orders/1 HTTP/1.1\r\n"),
        "{}",
        heads[0]
    );
    assert!(
        heads[0].contains(&format!("user-agent: {}\r\n", journeyd::USER_AGENT)),
        "{}",
        heads[0]
    );
}

#[tokio::test]
async fn request_headers_override_the_user_agent() {
    let mut server = hostile::respond(|_| response("204 No Content", &[], "")).await;
    let mut req = get(&server.url("/"));
    req.headers = vec![("user-agent".into(), "shop-app/7".into())];
    let ex = client().send(&req, TIMEOUT, MAX_BODY).await;
    assert_eq!(ex.outcome.unwrap().status, 204);
    let head = server.received().remove(0);
    assert!(head.contains("user-agent: shop-app/7\r\n"), "{head}");
    assert!(!head.contains("journeyd/"), "{head}");
}

#[tokio::test]
async fn cookies_come_back_on_the_same_client_only() {
    let mut server = hostile::respond(|head| {
        if head.starts_with("POST /login") {
            response("200 OK", &[("set-cookie", "session=abc123; Path=/")], "in")
        } else {
            response("200 OK", &[], "cart")
        }
    })
    .await;
    let customer = client();
    let mut login = get(&server.url("/login"));
    login.method = "POST".into();
    login.body = Some(b"user=ann".to_vec());
    assert_eq!(
        customer
            .send(&login, TIMEOUT, MAX_BODY)
            .await
            .outcome
            .unwrap()
            .status,
        200
    );
    customer
        .send(&get(&server.url("/cart")), TIMEOUT, MAX_BODY)
        .await
        .outcome
        .unwrap();
    client()
        .send(&get(&server.url("/cart")), TIMEOUT, MAX_BODY)
        .await
        .outcome
        .unwrap();

    let heads = server.received();
    assert_eq!(heads.len(), 3);
    assert!(!heads[0].contains("cookie:"), "{}", heads[0]);
    assert!(
        heads[1].contains("cookie: session=abc123\r\n"),
        "{}",
        heads[1]
    );
    assert!(
        !heads[2].contains("cookie:"),
        "another customer: {}",
        heads[2]
    );
}

#[tokio::test]
async fn silent_server_times_out_waiting_for_headers() {
    let server = hostile::silent().await;
    let e = expect_failure(&client(), &get(&server.url("/")), FailureClass::Timeout).await;
    assert_eq!(e.message, "no response headers within 1s");
    assert!(e.partial.is_none());
}

#[tokio::test]
async fn silent_tls_server_times_out_while_connecting() {
    let server = hostile::silent().await;
    let e = expect_failure(
        &client(),
        &get(&server.https_url("/")),
        FailureClass::Timeout,
    )
    .await;
    assert_eq!(
        e.message,
        format!(
            "TCP/TLS connection to {} not established within 1s",
            server.addr
        )
    );
}

#[tokio::test]
async fn host_names_go_through_the_resolver_and_are_timed() {
    // `localhost` comes from /etc/hosts: the system resolver, no query leaves the machine.
    let server = hostile::respond(|_| response("200 OK", &[], "hi")).await;
    let url = format!("http://localhost:{}/", server.addr.port());
    let ex = client().send(&get(&url), TIMEOUT, MAX_BODY).await;
    assert_eq!(ex.outcome.unwrap().status, 200);
    assert!(ex.timings.resolve > 0.0, "{:?}", ex.timings);
    assert!(ex.timings.connect > 0.0, "{:?}", ex.timings);
}

#[tokio::test]
async fn dripping_body_times_out_with_the_headers_kept() {
    let server = hostile::drip().await;
    let e = expect_failure(&client(), &get(&server.url("/")), FailureClass::Timeout).await;
    assert!(
        e.message.starts_with("body still arriving after 1s"),
        "{}",
        e.message
    );
    let partial = e.partial.unwrap();
    assert_eq!(partial.status, 200);
    assert!(!partial.body.is_empty() && partial.body.len() < 1000);
}

#[tokio::test]
async fn reset_connection_is_connection_reset() {
    let server = hostile::reset().await;
    let e = expect_failure(
        &client(),
        &get(&server.url("/")),
        FailureClass::ConnectionReset,
    )
    .await;
    assert!(
        e.message.contains(&server.addr.to_string()),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn hang_up_without_response_is_connection_reset() {
    let server = hostile::hang_up().await;
    expect_failure(
        &client(),
        &get(&server.url("/")),
        FailureClass::ConnectionReset,
    )
    .await;
}

#[tokio::test]
async fn non_http_answer_is_protocol() {
    let server = hostile::garbage().await;
    let e = expect_failure(&client(), &get(&server.url("/")), FailureClass::Protocol).await;
    assert!(e.message.contains("invalid HTTP"), "{}", e.message);
}

#[tokio::test]
async fn endless_body_stops_at_the_cap() {
    let server = hostile::endless().await;
    let e = expect_failure(
        &client(),
        &get(&server.url("/")),
        FailureClass::BodyTooLarge,
    )
    .await;
    let partial = e.partial.unwrap();
    assert_eq!(partial.status, 200);
    assert_eq!(partial.body.len() as u64, MAX_BODY);
}

#[tokio::test]
async fn a_body_exactly_at_the_cap_passes_and_one_byte_more_fails() {
    let server = hostile::respond(|head| {
        let size = if head.starts_with("GET /big") { 11 } else { 10 };
        response("200 OK", &[], &"x".repeat(size))
    })
    .await;
    let client = client();
    let ex = client.send(&get(&server.url("/fits")), TIMEOUT, 10).await;
    assert_eq!(ex.outcome.unwrap().body.len(), 10);
    let ex = client.send(&get(&server.url("/big")), TIMEOUT, 10).await;
    let e = ex.outcome.unwrap_err();
    assert_eq!(e.class, FailureClass::BodyTooLarge);
    assert_eq!(e.partial.map(|p| p.body.len()), Some(10));
}

#[tokio::test]
async fn redirect_loop_is_redirect() {
    let server = hostile::redirect_loop().await;
    let mut req = get(&server.url("/loop"));
    req.redirects = Redirects {
        follow: true,
        max: 5,
    };
    let e = expect_failure(&client(), &req, FailureClass::Redirect).await;
    assert!(e.message.contains("redirect loop"), "{}", e.message);
}

#[tokio::test]
async fn redirects_are_returned_when_not_followed() {
    let mut server = hostile::redirect_loop().await;
    let client = client();
    let mut req = get(&server.url("/loop"));
    req.redirects = Redirects {
        follow: false,
        max: 10,
    };
    let ex = client.send(&req, TIMEOUT, MAX_BODY).await;
    let r = ex.outcome.unwrap();
    assert_eq!(r.status, 302);
    assert!(
        r.headers
            .contains(&("location".to_string(), "/loop".to_string()))
    );
    assert_eq!(server.received().len(), 1);

    // The same client follows again when the next request asks for it.
    req.redirects = Redirects {
        follow: true,
        max: 2,
    };
    expect_failure(&client, &req, FailureClass::Redirect).await;
    assert_eq!(server.received().len(), 3, "the request plus two hops");
}

#[tokio::test]
async fn closed_port_is_connect() {
    let addr = hostile::closed_port().await;
    let e = expect_failure(
        &client(),
        &get(&format!("http://{addr}/")),
        FailureClass::Connect,
    )
    .await;
    assert_eq!(e.message, format!("connection refused by {addr}"));
}

#[tokio::test]
async fn unknown_host_is_dns_without_leaving_the_machine() {
    let dns = NxDomainServer::start().await;
    let opts = ClientOptions {
        dns_servers: vec![dns.addr],
        ..ClientOptions::default()
    };
    let client = HttpClient::new(&opts).unwrap();
    let e = expect_failure(
        &client,
        &get("http://shop.journeyd-nowhere.net/"),
        FailureClass::Dns,
    )
    .await;
    assert!(
        e.message.contains("shop.journeyd-nowhere.net"),
        "{}",
        e.message
    );
    assert!(e.message.contains("NXDOMAIN"), "{}", e.message);
    assert!(dns.queries() > 0, "the configured server was not asked");
}
