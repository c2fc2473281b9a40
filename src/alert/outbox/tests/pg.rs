//! What only the PostgreSQL outbox has: other processes (a restart, a second
//! replica) on the same tables, the server going away and coming back, and
//! the alerting leader's fence. Each test runs its own throw-away cluster.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

/// A raw connection for the test's own statements.
async fn client(pg: &TestPostgres) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

fn pg_db(pg: &TestPostgres) -> AlertDb {
    AlertDb::start(Backend::Postgres(pg_target(pg))).unwrap()
}

/// Polls `check` every 20 ms for at most 30 s.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A receiver that accepts only while its gate is open (retryable errors
/// otherwise) and forwards what it accepted.
#[derive(Debug)]
struct Gate {
    name: String,
    open: AtomicBool,
    accepted: mpsc::UnboundedSender<Notification>,
}

impl Gate {
    fn new(name: &str, open: bool) -> (Arc<Gate>, mpsc::UnboundedReceiver<Notification>) {
        let (accepted, rx) = mpsc::unbounded_channel();
        let gate = Gate {
            name: name.to_string(),
            open: AtomicBool::new(open),
            accepted,
        };
        (Arc::new(gate), rx)
    }
}

#[async_trait::async_trait]
impl Receiver for Gate {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        if !self.open.load(Ordering::SeqCst) {
            return Err(retryable("closed", None));
        }
        let _ = self.accepted.send(n.clone());
        Ok(())
    }
}

fn events(notifications: &[Notification]) -> Vec<AlertEvent> {
    notifications.iter().map(|n| n.event.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_state_and_notifications_committed_together_survive_a_takeover() {
    let pg = TestPostgres::start();
    let first = pg_db(&pg);
    assert!(first.connect().await.unwrap(), "reached and migrated");
    first
        .commit("purchase", "firing", &to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    // Inserts for receiver `boom` fail after the state and the first row of
    // the batch were written: the transaction leaves neither.
    client(&pg)
        .await
        .batch_execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'boom refused'; END $$;
             CREATE TRIGGER boom BEFORE INSERT ON notifications
               FOR EACH ROW WHEN (NEW.receiver = 'boom') EXECUTE FUNCTION boom();",
        )
        .await
        .unwrap();
    let mut batch = to("pager", &[resolved("purchase")]);
    batch.extend(to("boom", &[resolved("purchase")]));
    first.commit("purchase", "ok", &batch).await.unwrap();
    let ids: Vec<i64> = first
        .pending()
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    drop(first);

    // Another process takes over: it sees the first commit whole, and
    // nothing of the refused one (that waited in the first one's memory).
    let second = pg_db(&pg);
    assert_eq!(
        second.load_states().await.unwrap(),
        BTreeMap::from([("purchase".to_string(), "firing".to_string())])
    );
    let pending = second.pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event, firing("purchase"));
    assert_eq!(
        pending[0].id, ids[0],
        "the id (receivers' dedup key) is kept"
    );
    assert!(pending[0].id > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_two_handles_see_the_same_rows_and_a_delivered_row_is_deleted_once() {
    let pg = TestPostgres::start();
    let (a, b) = (pg_db(&pg), pg_db(&pg));
    a.commit(
        "purchase",
        "firing",
        &to("pager", &[firing("purchase"), firing("signup")]),
    )
    .await
    .unwrap();
    let seen_a = a.pending().await.unwrap();
    let seen_b = b.pending().await.unwrap();
    assert_eq!(seen_a, seen_b);
    assert_eq!(b.load_states().await.unwrap()["purchase"], "firing");

    let (pager, mut accepted) = Scripted::new("pager", Vec::new());
    let running = Running::start(&a, vec![pager], &metrics(), fast());
    let got = take(&mut accepted, 2).await;
    running.stop().await;
    let got_ids: Vec<i64> = got.iter().map(|n| n.id).collect();
    let seen_ids: Vec<i64> = seen_b.iter().map(|p| p.id).collect();
    assert_eq!(
        got_ids, seen_ids,
        "delivered under the ids every replica sees"
    );
    assert!(b.pending().await.unwrap().is_empty(), "deleted for both");
    // The other handle finishing the same row again changes nothing.
    b.delete(Key::Row(got_ids[0]), "pager").await.unwrap();
    assert!(accepted.try_recv().is_err(), "a notification came twice");
    let (row, depth) = b.head("pager").await.unwrap();
    assert_eq!((row, depth), (None, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_commits_while_postgres_is_down_wait_in_memory_in_order_and_are_stored_once_it_returns()
{
    let pg = TestPostgres::start();
    let db = pg_db(&pg);
    let m = metrics();
    db.set_metrics(Arc::clone(&m));
    let (pager, mut paged) = Gate::new("pager", true);
    let (later, mut chat) = Gate::new("later", false);
    let receivers: Vec<Arc<dyn Receiver>> = vec![pager, later.clone()];
    let running = Running::start(&db, receivers, &m, fast());

    let mut first = to("pager", &[firing("purchase")]);
    first.extend(to("later", &[firing("purchase")]));
    db.commit("purchase", "firing", &first).await.unwrap();
    running.handle.wake();
    let before = take(&mut paged, 1).await;
    assert!(before[0].id > 0, "stored first");
    until("the pager's queue is read as empty", async || {
        db.pending()
            .await
            .unwrap()
            .iter()
            .all(|p| p.receiver != "pager")
    })
    .await;

    let matchers = BTreeMap::from([("journey".to_string(), "contract".to_string())]);
    let now = Utc::now();
    let silence = db
        .add_silence(&matchers, now, now + TimeDelta::hours(1), "ops", "deploy")
        .await
        .unwrap();
    assert_eq!(db.active_silences(now).await.unwrap()[0].id, silence);

    pg.stop();
    // A silence keeps working while PostgreSQL is away.
    let silences = db.active_silences(Utc::now()).await.unwrap();
    assert_eq!(silences.iter().map(|s| s.id).collect::<Vec<_>>(), [silence]);
    let during = [firing("signup"), resolved("purchase")];
    db.commit("signup", "firing", &to("pager", &during[..1]))
        .await
        .unwrap();
    let mut second = to("pager", &during[1..]);
    second.extend(to("later", &during[1..]));
    db.commit("purchase", "ok", &second).await.unwrap();
    assert_eq!(db.in_memory(), 3);
    assert!(!db.is_healthy());
    // `later` accepts from now on, but its stored row is unreachable: its
    // spilled resolve must wait for it, not overtake it.
    later.open.store(true, Ordering::SeqCst);
    running.handle.wake();
    // Delivered from memory while PostgreSQL is down, in order.
    let from_memory = take(&mut paged, 2).await;
    assert_eq!(events(&from_memory), during);
    assert!(from_memory.iter().all(|n| n.id < 0), "{from_memory:?}");
    let text = m.render();
    assert_lines(&text, &[r#"journeyd_store_up{database="alerts"} 0"#]);
    assert!(
        !text.contains("journeyd_alert_commit_failures_total 0"),
        "{text}"
    );

    let pg = pg.restart();
    until("what waited in memory is stored", async || {
        db.in_memory() == 0 && db.is_healthy()
    })
    .await;
    // A new process sees the states committed during the outage; `later`
    // gets its stored row, then the one that waited in memory, stored after it.
    let other = pg_db(&pg);
    let states = other.load_states().await.unwrap();
    assert_eq!(
        (states["purchase"].as_str(), states["signup"].as_str()),
        ("ok", "firing")
    );
    let got = take(&mut chat, 2).await;
    assert_eq!(events(&got), [firing("purchase"), resolved("purchase")]);
    assert!(
        got[0].id > 0 && got[1].id > got[0].id,
        "stored in order: {got:?}"
    );
    until("everything delivered is deleted", async || {
        other.pending().await.unwrap().is_empty()
    })
    .await;
    running.stop().await;
    assert!(paged.try_recv().is_err(), "a notification came twice");
    assert!(chat.try_recv().is_err(), "a notification came twice");
    assert_lines(&m.render(), &[r#"journeyd_store_up{database="alerts"} 1"#]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_start_while_postgres_is_down_alerts_from_memory_and_stores_it_when_it_returns() {
    let pg = TestPostgres::start();
    pg.stop();
    let db = pg_db(&pg);
    assert!(!db.connect().await.unwrap(), "not reachable, not an error");
    db.commit("purchase", "firing", &to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    assert_eq!(db.in_memory(), 1);
    let (pager, mut accepted) = Gate::new("pager", true);
    let running = Running::start(&db, vec![pager], &metrics(), fast());
    let got = take(&mut accepted, 1).await;
    assert_eq!(events(&got), [firing("purchase")]);

    let pg = pg.restart();
    until("the state is stored", async || {
        db.is_healthy() && pg_db(&pg).load_states().await.is_ok_and(|s| s.len() == 1)
    })
    .await;
    running.stop().await;
    assert!(pg_db(&pg).pending().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_fenced_handle_whose_term_is_stale_cannot_write() {
    let pg = TestPostgres::start();
    let old = pg_db(&pg);
    assert!(old.connect().await.unwrap());
    let sql = client(&pg).await;
    sql.execute(
        "INSERT INTO fleet_roles (role, owner, term, expires_at)
         VALUES ('alerting', 'replica-a', 1, now() + interval '30 seconds')",
        &[],
    )
    .await
    .unwrap();
    old.set_fence(Some(("replica-a".into(), 1)));
    old.commit("purchase", "v1", &to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    let id = old.pending().await.unwrap()[0].id;

    // Another replica takes over alerting with a new term.
    sql.execute(
        "UPDATE fleet_roles SET owner = 'replica-b', term = 2 WHERE role = 'alerting'",
        &[],
    )
    .await
    .unwrap();
    let fenced = |r: Result<(), StoreError>| {
        assert!(
            matches!(&r, Err(StoreError::Fenced { owner, term: 1, .. }) if owner == "replica-a"),
            "{r:?}"
        );
    };
    fenced(
        old.commit("purchase", "v2", &to("pager", &[resolved("purchase")]))
            .await,
    );
    fenced(
        old.enqueue(&to("pager", &[firing("signup")]))
            .await
            .map(drop),
    );
    fenced(old.reschedule(Key::Row(id), 1, 0, "HTTP 503").await);
    fenced(old.delete(Key::Row(id), "pager").await);
    assert_eq!(old.in_memory(), 0, "a deposed leader keeps nothing");

    let new = pg_db(&pg);
    assert_eq!(new.load_states().await.unwrap()["purchase"], "v1");
    let pending = new.pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].id, pending[0].attempts), (id, 0));
    // The leader of the current term writes.
    new.set_fence(Some(("replica-b".into(), 2)));
    new.commit("purchase", "v2", &to("pager", &[resolved("purchase")]))
        .await
        .unwrap();
    assert_eq!(new.pending().await.unwrap().len(), 2);
    // Without a fence (single replica), writes are not checked.
    old.set_fence(None);
    assert_eq!(
        old.enqueue(&to("pager", &[firing("signup")]))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_alert_tables_from_a_newer_journeyd_are_refused_at_connect() {
    let pg = TestPostgres::start();
    assert!(pg_db(&pg).connect().await.unwrap());
    client(&pg)
        .await
        .execute(
            "INSERT INTO journeyd_schema_migrations (version) VALUES ($1)",
            &[&(crate::store::postgres::SCHEMA_VERSION + 1)],
        )
        .await
        .unwrap();
    let err = pg_db(&pg).connect().await.unwrap_err();
    assert!(matches!(err, OpenError::TooNew { .. }), "{err:?}");
    assert!(!err.to_string().contains("postgres@"), "no user in {err}");
}
