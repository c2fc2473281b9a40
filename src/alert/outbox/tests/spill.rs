//! The outbox when `alerts.db` cannot be written (issue 12, defect 1): what is
//! committed meanwhile waits in memory, is delivered from there exactly once
//! and in order, is stored when writes work again, and shows in the metrics.
//! Write failures are injected with `PRAGMA query_only` on the outbox's own
//! connection (a real SQLite error on every write; reads keep working, as on a
//! full disk); `tests::start` in `store::tests` covers a real full file system.

use axum::http::StatusCode;
use tokio::sync::Notify;

use super::*;
use crate::alert::receivers::{Webhook, WebhookTarget};

/// Makes every write on the outbox's connection fail (`false`) or work again.
fn set_writable(db: &AlertDb, writable: bool) {
    let mut slot = db.lock();
    let crate::alert::outbox::backend::Db::Sqlite(sqlite) = &mut slot.db else {
        panic!("a SQLite outbox")
    };
    let conn = sqlite.conn.as_mut().unwrap();
    conn.pragma_update(None, "query_only", !writable).unwrap();
}

/// Rows stored in the file, and rows waiting in memory.
async fn stored_and_in_memory(db: &AlertDb) -> (usize, usize) {
    let all = db.pending().await.unwrap();
    let stored = all.iter().filter(|p| p.id > 0).count();
    (stored, all.len() - stored)
}

/// A webhook endpoint on `127.0.0.1:0` that accepts everything and forwards
/// each request's JSON body to the test.
async fn webhook_server() -> (String, mpsc::UnboundedReceiver<serde_json::Value>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(serde_json::from_slice(&body).unwrap());
            StatusCode::OK
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// `status` of each webhook body.
fn statuses(bodies: &[serde_json::Value]) -> Vec<String> {
    bodies
        .iter()
        .map(|b| b["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn firing_and_resolve_while_writes_fail_reach_a_real_webhook_once_in_order() {
    let dir = TempDir::new().unwrap();
    let db = open(&dir);
    let m = metrics();
    let (url, mut bodies) = webhook_server().await;
    let hook = Webhook::new("hook", WebhookTarget::Plain(url), None, None).unwrap();
    let running = Running::start(&db, vec![Arc::new(hook)], &m, fast());

    set_writable(&db, false);
    db.commit("purchase", "firing", &to("hook", &[firing("purchase")]))
        .await
        .unwrap();
    running.handle.wake();
    let first = next_body(&mut bodies).await;
    db.commit("purchase", "ok", &to("hook", &[resolved("purchase")]))
        .await
        .unwrap();
    running.handle.wake();
    let second = next_body(&mut bodies).await;
    assert_eq!(statuses(&[first, second]), ["firing", "resolved"]);
    assert_lines(&m.render(), &["journeyd_alert_commit_failures_total 2"]);

    // Writes work again: the next commit stores the newest state; nothing is re-sent.
    set_writable(&db, true);
    db.commit("purchase", "ok-after", &[]).await.unwrap();
    running.handle.wake();
    running.stop().await;
    assert_eq!(stored_and_in_memory(&db).await, (0, 0));
    assert!(bodies.try_recv().is_err(), "a notification was sent twice");
    let states = db.load_states().await.unwrap();
    assert_eq!(states["purchase"], "ok-after");
    assert_lines(
        &m.render(),
        &[
            "journeyd_alert_notifications_in_memory 0",
            r#"journeyd_store_up{database="alerts"} 1"#,
            r#"journeyd_notifications_total{receiver="hook",result="delivered"} 2"#,
        ],
    );
}

async fn next_body(rx: &mut mpsc::UnboundedReceiver<serde_json::Value>) -> serde_json::Value {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no webhook request within 10 s")
        .unwrap()
}

/// Refuses (retryably) until opened, then accepts; sends what it accepted.
#[derive(Debug)]
struct Gated {
    open: watch::Sender<bool>,
    calls: watch::Sender<usize>,
    accepted: mpsc::UnboundedSender<Notification>,
    /// When set, an accepted delivery first waits for this.
    hold: Option<Arc<Notify>>,
}

#[async_trait::async_trait]
impl Receiver for Gated {
    fn name(&self) -> &str {
        "pager"
    }

    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        self.calls.send_modify(|c| *c += 1);
        if !*self.open.borrow() {
            return Err(retryable("HTTP 503", None));
        }
        if let Some(hold) = &self.hold {
            hold.notified().await;
        }
        let _ = self.accepted.send(n.clone());
        Ok(())
    }
}

fn gated(hold: Option<Arc<Notify>>) -> (Arc<Gated>, mpsc::UnboundedReceiver<Notification>) {
    let (accepted, rx) = mpsc::unbounded_channel();
    let g = Gated {
        open: watch::Sender::new(false),
        calls: watch::Sender::new(0),
        accepted,
        hold,
    };
    (Arc::new(g), rx)
}

async fn wait_calls(g: &Gated, n: usize) {
    let mut calls = g.calls.subscribe();
    let reached = tokio::time::timeout(Duration::from_secs(10), calls.wait_for(|c| *c >= n));
    assert!(matches!(reached.await, Ok(Ok(_))), "fewer than {n} calls");
}

#[tokio::test]
async fn kept_in_memory_while_the_receiver_is_down_then_stored_then_delivered_once() {
    let dir = TempDir::new().unwrap();
    let db = open(&dir);
    let m = metrics();
    let (pager, mut accepted) = gated(None);
    let running = Running::start(&db, vec![pager.clone()], &m, fast());
    // One row stored before the failure: it must still go first.
    db.commit("signup", "firing", &to("pager", &[firing("signup")]))
        .await
        .unwrap();
    set_writable(&db, false);
    db.commit("purchase", "firing", &to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    db.commit("purchase", "ok", &to("pager", &[resolved("purchase")]))
        .await
        .unwrap();
    running.handle.wake();
    wait_calls(&pager, 2).await;
    assert_eq!(stored_and_in_memory(&db).await, (1, 2));
    assert_lines(&m.render(), &["journeyd_alert_notifications_in_memory 2"]);

    set_writable(&db, true);
    db.commit("checkout", "ok", &[]).await.unwrap();
    assert_eq!(stored_and_in_memory(&db).await, (3, 0));
    pager.open.send_replace(true);
    running.handle.wake();
    let got = take(&mut accepted, 3).await;
    running.stop().await;
    assert_eq!(
        got.iter().map(|n| n.event.clone()).collect::<Vec<_>>(),
        [firing("signup"), firing("purchase"), resolved("purchase")]
    );
    assert!(
        accepted.try_recv().is_err(),
        "a notification was sent twice"
    );
    assert_eq!(stored_and_in_memory(&db).await, (0, 0));
    let states = db.load_states().await.unwrap();
    assert_eq!(
        (states["purchase"].as_str(), states["checkout"].as_str()),
        ("ok", "ok")
    );
}

#[tokio::test]
async fn a_row_stored_while_it_is_being_sent_is_not_sent_again() {
    let dir = TempDir::new().unwrap();
    let db = open(&dir);
    let m = metrics();
    let hold = Arc::new(Notify::new());
    let (pager, mut accepted) = gated(Some(hold.clone()));
    pager.open.send_replace(true);
    let running = Running::start(&db, vec![pager.clone()], &m, fast());
    set_writable(&db, false);
    db.commit("purchase", "firing", &to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    running.handle.wake();
    wait_calls(&pager, 1).await;
    // Mid-delivery, writes come back and the spilled row moves to the file.
    set_writable(&db, true);
    db.commit("checkout", "ok", &[]).await.unwrap();
    assert_eq!(stored_and_in_memory(&db).await, (1, 0));
    hold.notify_one();
    let got = take(&mut accepted, 1).await;
    assert!(got[0].id < 0, "sent from memory: {got:?}");
    // The stored copy is the same notification: deleted, never sent.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored_and_in_memory(&db).await != (0, 0) {
        assert!(Instant::now() < deadline, "the stored copy was not deleted");
        tokio::task::yield_now().await;
    }
    running.stop().await;
    assert!(
        accepted.try_recv().is_err(),
        "a notification was sent twice"
    );
    assert_eq!(*pager.calls.borrow(), 1);
}

#[tokio::test]
async fn a_delivered_row_whose_delete_fails_is_not_sent_again() {
    let dir = TempDir::new().unwrap();
    let db = open(&dir);
    let m = metrics();
    let (pager, mut accepted) = gated(None);
    let running = Running::start(&db, vec![pager.clone()], &m, fast());
    db.commit("purchase", "firing", &to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    running.handle.wake();
    wait_calls(&pager, 1).await;
    set_writable(&db, false);
    pager.open.send_replace(true);
    running.handle.wake();
    take(&mut accepted, 1).await;
    // Later work for the same receiver wakes the worker again: the row must not repeat.
    db.commit("purchase", "ok", &to("pager", &[resolved("purchase")]))
        .await
        .unwrap();
    running.handle.wake();
    let got = take(&mut accepted, 1).await;
    assert_eq!(got[0].event, resolved("purchase"));
    set_writable(&db, true);
    db.commit("checkout", "ok", &[]).await.unwrap();
    running.stop().await;
    assert!(
        accepted.try_recv().is_err(),
        "a notification was sent twice"
    );
    assert_eq!(stored_and_in_memory(&db).await, (0, 0));
}

#[tokio::test]
async fn re_sends_coalesce_in_memory_too() {
    let dir = TempDir::new().unwrap();
    let db = open(&dir);
    set_writable(&db, false);
    let mut newer = alert("purchase", 0);
    newer.annotations.insert("summary".into(), "newer".into());
    db.enqueue(&to("am", &[firing("purchase")])).await.unwrap();
    let n = db
        .enqueue(&to("am", &[AlertEvent::Firing(newer.clone())]))
        .await
        .unwrap();
    assert_eq!(n, 0, "the pending re-send takes the newer text");
    let pending = db.pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event, AlertEvent::Firing(newer));
}

#[tokio::test]
async fn start_on_a_full_disk_alerts_from_memory_and_stores_it_when_space_returns() {
    let fs = crate::store::testutil::Tmpfs::mount("4m");
    let path = fs.path().join("alerts.db");
    let db = AlertDb::open(&path).unwrap();
    db.commit("signup", "firing", &[]).await.unwrap();
    drop(db);
    fs.fill();
    let err = AlertDb::open(&path).unwrap_err();
    assert!(matches!(err, OpenError::DiskFull { .. }), "{err:?}");

    let db = AlertDb::start(&path).unwrap();
    assert!(!db.is_open());
    let m = metrics();
    let (pager, mut accepted) = gated(None);
    pager.open.send_replace(true);
    let running = Running::start(&db, vec![pager.clone()], &m, fast());
    assert_lines(&m.render(), &[r#"journeyd_store_up{database="alerts"} 0"#]);
    db.commit("purchase", "firing", &to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    running.handle.wake();
    assert_eq!(take(&mut accepted, 1).await[0].event, firing("purchase"));

    fs.free();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !db.is_open() {
        assert!(
            std::time::Instant::now() < deadline,
            "not reopened within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        db.commit("purchase", "firing", &[]).await.unwrap();
    }
    running.stop().await;
    assert!(
        accepted.try_recv().is_err(),
        "a notification was sent twice"
    );
    let states = db.load_states().await.unwrap();
    assert_eq!(
        (states["signup"].as_str(), states["purchase"].as_str()),
        ("firing", "firing")
    );
    assert_lines(&m.render(), &[r#"journeyd_store_up{database="alerts"} 1"#]);
}

#[test]
fn memory_holds_at_most_max_rows_and_counts_the_rest() {
    use crate::alert::outbox::spill::{MAX_ROWS, Spill};
    let mut spill = Spill::default();
    let rows = encode(&to("pager", &[firing("purchase")])).unwrap();
    let many: Vec<_> = std::iter::repeat_n(rows[0].clone(), MAX_ROWS + 3).collect();
    assert_eq!(spill.commit(Some(("purchase", "firing")), many, 0), 3);
    assert_eq!(spill.depth("pager"), MAX_ROWS as u64);
    // Oldest first, and the head is leased until the worker asks again.
    let (head, depth) = spill.head("pager");
    assert_eq!(
        (head.map(|m| (m.key, m.leased)), depth),
        (Some((1, true)), MAX_ROWS as u64)
    );
}
