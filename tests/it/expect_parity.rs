//! Header predicates and `body: { schema }` through `journeyd once` against
//! a real server on 127.0.0.1:0 (issue 11 part 4).

use std::process::Output;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const SCHEMA: &str = r#"{
  "type": "object",
  "required": ["order_id", "items"],
  "properties": {
    "order_id": { "type": "string" },
    "items": { "type": "array", "items": { "type": "object",
      "properties": { "price": { "type": "number" } } } }
  }
}"#;

/// An order API whose `/bad` route drifted from the contract.
async fn serve() -> String {
    let order = |body: &'static str| {
        move || async move {
            (
                [
                    (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                    (header::HeaderName::from_static("x-region"), "eu-west"),
                    (header::HeaderName::from_static("x-queue-depth"), "3"),
                ],
                body,
            )
                .into_response()
        }
    };
    let app = Router::new()
        .route(
            "/good",
            get(order(r#"{"order_id":"o-1","items":[{"price":3}]}"#)),
        )
        .route(
            "/bad",
            get(order(r#"{"order_id":"o-1","items":[{"price":"3"}]}"#)),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn journey(route: &str) -> String {
    format!(
        r#"name: parity
vars: {{ base: "http://127.0.0.1:9" }}
steps:
  - name: order
    request: {{ url: "{{{{ base }}}}/{route}" }}
    expect:
      status: 200
      headers:
        content-type: {{ contains: json }}
        x-region: {{ one_of: [us-east, eu-west] }}
        x-queue-depth: {{ gte: 0, lt: 10 }}
      body: {{ schema: order.schema.json }}
"#
    )
}

async fn once(route: &str) -> Output {
    let base = serve().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("order.schema.json"), SCHEMA).unwrap();
    let file = dir.path().join("parity.yaml");
    std::fs::write(&file, journey(route)).unwrap();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_journeyd"));
    c.arg("once")
        .arg(&file)
        .args(["--var", &format!("base={base}")])
        .env_remove("RUST_LOG");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    drop(dir);
    out
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn header_predicates_and_a_schema_pass_on_a_conforming_response() {
    let out = once("good").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schema_violation_fails_the_step_naming_the_path_and_rule() {
    let out = once("bad").await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("body /items/0/price"), "{all}");
    assert!(
        all.contains("type at #/properties/items/items/properties/price/type"),
        "{all}"
    );
    assert!(all.contains("assertion"), "{all}");
}
