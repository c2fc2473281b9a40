//! The status page and the run page.

use super::{FAILURE_MESSAGE, Harness, content_type, failing_checkout, passing_run};

/// Position of `needle` in `page`, failing the test when it is missing.
fn pos(page: &str, needle: &str) -> usize {
    page.find(needle)
        .unwrap_or_else(|| panic!("missing {needle:?} in:\n{page}"))
}

#[tokio::test]
async fn status_page_shows_what_broke_and_escapes_outside_text() {
    let h = Harness::start(None).await;
    let run = failing_checkout();
    let mut old = passing_run("checkout", "open cart");
    old.started_at = run.started_at - chrono::Duration::seconds(60);
    h.record(&old).await;
    h.record(&run).await;
    h.record(&passing_run("browse", "home")).await;

    let resp = h.get("/").await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(content_type(&resp), "text/html");
    let page = resp.text().await.expect("body");

    pos(&page, "name=\"viewport\"");
    pos(&page, "http-equiv=\"refresh\"");
    pos(&page, "2 journeys");
    pos(&page, "1 failing");
    // Failing journeys come first.
    assert!(pos(&page, "id=\"journey-checkout\"") < pos(&page, "id=\"journey-browse\""));
    pos(&page, "b-failing\">failing<");
    pos(&page, "b-passing\">passing<");
    pos(&page, "&ldquo;order ships&rdquo;");
    pos(&page, "backend <strong>fulfillment</strong>");
    pos(&page, "<code>backend_timeout</code>");
    pos(&page, "order never reached &quot;shipped&quot; within 20s");
    assert!(!page.contains(FAILURE_MESSAGE), "message not escaped");
    // The strip runs oldest to newest, each cell linking to its run.
    assert!(
        pos(&page, &format!("href=\"/runs/{}\"", old.run_id))
            < pos(
                &page,
                &format!("class=\"fail\" href=\"/runs/{}\"", run.run_id)
            )
    );
    pos(&page, "<polyline points=");
    pos(&page, "s ago</span>");
    pos(
        &page,
        "Buys a thing &lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;",
    );
    assert!(!page.contains("<script"), "unescaped script tag");
    pos(&page, "href=\"https://runbooks.example.com/checkout\"");
    h.stop().await;
}

#[tokio::test]
async fn status_page_says_so_when_nothing_ran_yet() {
    let h = Harness::start(None).await;
    let page = h.get_text("/", 200).await;
    pos(&page, "b-unknown\">unknown<");
    assert_eq!(page.matches("No runs yet.").count(), 2, "{page}");
    assert_eq!(page.matches("last success never").count(), 2, "{page}");
    pos(&page, "0 failing");
    h.stop().await;
}

#[tokio::test]
async fn run_page_shows_timeline_mismatches_and_evidence() {
    let h = Harness::start(Some("never-shown-admin-token")).await;
    let run = failing_checkout();
    h.record(&run).await;

    let resp = h.get(&format!("/runs/{}", run.run_id)).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(content_type(&resp), "text/html");
    let page = resp.text().await.expect("body");

    pos(&page, "b-fail\">fail<");
    pos(&page, &run.run_id.to_string());
    pos(&page, &format!("href=\"/api/runs/{}\"", run.run_id));
    pos(&page, "href=\"/\"");
    // Captured values, escaped.
    pos(&page, "<code>order_id</code>");
    pos(&page, "ord-&lt;42&gt;");
    // Steps in order, cleanup after them.
    let cart = pos(&page, "<strong>open cart</strong>");
    let ships = pos(&page, "<strong>order ships</strong>");
    let cleanup = pos(&page, "<h3>Cleanup</h3>");
    let cancel = pos(&page, "<strong>cancel order</strong>");
    assert!(cart < ships && ships < cleanup && cleanup < cancel);
    pos(&page, "40 attempts");
    pos(&page, "backend fulfillment");
    pos(&page, "class=\"wf\"");
    pos(&page, "class=\"p-processing\"");
    // The failure: class, message, mismatches.
    pos(&page, "<code>backend_timeout</code>");
    pos(&page, "<th>subject</th><th>expected</th>");
    pos(&page, "<code>$.status</code>");
    pos(&page, "<code>eq &quot;shipped&quot;</code>");
    pos(&page, "<code>&quot;&lt;b&gt;paid&lt;/b&gt;&quot;</code>");
    assert!(!page.contains("<b>paid"), "response text not escaped");
    // The evidence, open for the failing step, with the redacted header as stored.
    pos(&page, "<details open>");
    pos(
        &page,
        "GET http://127.0.0.1:9/api/orders/1\nauthorization: ***\naccept: application/json",
    );
    pos(
        &page,
        "HTTP 200\ncontent-type: application/json\n\n{&quot;status&quot;:&quot;&lt;b&gt;paid&lt;/b&gt;&quot;}",
    );
    assert!(!page.contains("never-shown-admin-token"));
    h.stop().await;
}

#[tokio::test]
async fn run_page_names_where_the_failing_step_is_written() {
    let h = Harness::start(None).await;
    let mut run = failing_checkout();
    for s in run.steps.iter_mut().chain(run.cleanup.iter_mut()) {
        s.source = Some(format!("journeys/<checkout>.yaml:{}:5", s.name.len()));
    }
    h.record(&run).await;
    let page = h.get_text(&format!("/runs/{}", run.run_id), 200).await;
    let ships = pos(&page, "<strong>order ships</strong>");
    let at = pos(
        &page,
        "defined at <code>journeys/&lt;checkout&gt;.yaml:11:5</code>",
    );
    assert!(ships < at, "the source belongs to the failing step");
    // Only the failing step points at its source: passing steps need no directions.
    assert_eq!(page.matches("defined at").count(), 1, "{page}");
    h.stop().await;
}

#[tokio::test]
async fn run_page_is_404_for_unknown_runs_and_400_for_malformed_ids() {
    let h = Harness::start(None).await;
    let page = h
        .get_text(&format!("/runs/{}", uuid::Uuid::new_v4()), 404)
        .await;
    pos(&page, "Run not found");
    let page = h.get_text("/runs/%3Cscript%3E", 400).await;
    pos(&page, "Malformed run id");
    assert!(!page.contains("<script"));
    h.stop().await;
}
