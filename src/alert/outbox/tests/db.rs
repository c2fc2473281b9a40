//! The database alone: atomic commits, reopening, coalescing, silences, and
//! refusing files that are not ours.

use super::*;

on_both_backends!(
    commit_writes_state_and_notifications_together,
    states_survive_reopening_and_removed_journeys_are_forgotten,
    resends_of_a_pending_firing_are_coalesced,
    silences_match_their_labels_and_expire,
    silences_ended_longer_ago_than_the_retention_are_pruned_when_one_is_added,
);

fn receivers_and_events(pending: &[Pending]) -> Vec<(String, AlertEvent)> {
    pending
        .iter()
        .map(|p| (p.receiver.clone(), p.event.clone()))
        .collect()
}

async fn commit_writes_state_and_notifications_together(fx: Fixture) {
    let db = fx.open();
    let mut sent = to("pager", &[firing("purchase")]);
    sent.extend(to("chat", &[firing("purchase")]));
    db.commit("purchase", r#"{"phase":"firing"}"#, &sent)
        .await
        .unwrap();

    let states = db.load_states().await.unwrap();
    assert_eq!(
        states,
        BTreeMap::from([("purchase".to_string(), r#"{"phase":"firing"}"#.to_string())])
    );
    let pending = db.pending().await.unwrap();
    assert_eq!(receivers_and_events(&pending), sent);
    let labels = &alert("purchase", 0).labels;
    assert!(pending.iter().all(|p| p.fingerprint == fingerprint(labels)));
    assert!(
        pending
            .iter()
            .all(|p| p.attempts == 0 && p.last_error.is_none())
    );
    assert!(pending[0].id < pending[1].id);

    // A second transition replaces the state and adds its rows after the first.
    db.commit(
        "purchase",
        r#"{"phase":"ok"}"#,
        &to("pager", &[resolved("purchase")]),
    )
    .await
    .unwrap();
    assert_eq!(
        db.load_states().await.unwrap()["purchase"],
        r#"{"phase":"ok"}"#
    );
    let pending = db.pending().await.unwrap();
    assert_eq!(pending.len(), 3);
    assert_eq!(pending[2].event, resolved("purchase"));
}

#[tokio::test]
async fn failed_commit_leaves_neither_state_nor_notifications() {
    let dir = TempDir::new().unwrap();
    let db = open(&dir);
    db.commit("purchase", "v1", &to("pager", &[firing("purchase")]))
        .await
        .unwrap();
    // A second connection makes inserts for receiver `boom` fail, after the
    // state and the first row of the batch were already written.
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER boom BEFORE INSERT ON outbox WHEN NEW.receiver = 'boom'
         BEGIN SELECT RAISE(ABORT, 'boom refused'); END;",
    )
    .unwrap();

    let mut batch = to("pager", &[resolved("purchase")]);
    batch.extend(to("boom", &[resolved("purchase")]));
    // The commit does not fail the caller: what the file refused waits in memory
    // (tests::spill), and the file itself is untouched.
    db.commit("purchase", "v2", &batch).await.unwrap();
    db.commit("signup", "v1", &batch).await.unwrap();

    assert_eq!(
        db.load_states().await.unwrap(),
        BTreeMap::from([("purchase".to_string(), "v1".to_string())]),
        "the failed commits changed a state in the file"
    );
    let pending = db.pending().await.unwrap();
    let (stored, in_memory): (Vec<_>, Vec<_>) = pending.into_iter().partition(|p| p.id > 0);
    assert_eq!(
        receivers_and_events(&stored),
        to("pager", &[firing("purchase")]),
        "the failed commits left rows in the file"
    );
    assert_eq!(in_memory.len(), 4, "both batches wait in memory");
}

async fn states_survive_reopening_and_removed_journeys_are_forgotten(fx: Fixture) {
    let db = fx.open();
    for journey in ["purchase", "signup", "old"] {
        db.commit(journey, journey, &to("pager", &[firing(journey)]))
            .await
            .unwrap();
    }
    drop(db);

    let db = fx.open();
    assert_eq!(db.load_states().await.unwrap().len(), 3);
    let removed = db
        .remove_journeys(&["purchase".to_string(), "signup".to_string()])
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let states = db.load_states().await.unwrap();
    assert_eq!(states.keys().collect::<Vec<_>>(), ["purchase", "signup"]);
    // The removed journey's notification is still delivered.
    let pending = db.pending().await.unwrap();
    assert_eq!(pending.len(), 3);
    assert_eq!(pending[2].event, firing("old"));
}

async fn resends_of_a_pending_firing_are_coalesced(fx: Fixture) {
    let db = fx.open();
    let first = db.enqueue(&to("am", &[firing("purchase")])).await.unwrap();
    assert_eq!(first, 1);
    // The same alert again, identical or with refreshed text: no new row.
    assert_eq!(
        db.enqueue(&to("am", &[firing("purchase")])).await.unwrap(),
        0
    );
    let mut newer = alert("purchase", 0);
    newer
        .annotations
        .insert("failure_streak".into(), "7".into());
    let refreshed = AlertEvent::Firing(newer);
    let batch = to("am", &[refreshed.clone(), refreshed.clone()]);
    assert_eq!(db.enqueue(&batch).await.unwrap(), 0);
    let pending = db.pending().await.unwrap();
    assert_eq!(
        receivers_and_events(&pending),
        to("am", std::slice::from_ref(&refreshed))
    );

    // Other receivers, other alerts and other starts are not the same notification.
    let mut restarted = alert("purchase", 0);
    restarted.starts_at = at(5);
    let others = [
        ("chat".to_string(), firing("purchase")),
        ("am".to_string(), firing("signup")),
        ("am".to_string(), AlertEvent::Firing(restarted)),
    ];
    assert_eq!(db.enqueue(&others).await.unwrap(), 3);

    // After a queued resolve, firing again is news.
    db.commit("signup", "ok", &to("am", &[resolved("signup")]))
        .await
        .unwrap();
    assert_eq!(db.enqueue(&to("am", &[firing("signup")])).await.unwrap(), 1);
    let pending = db.pending().await.unwrap();
    assert_eq!(pending.len(), 6);
    assert_eq!(pending[0].event, refreshed, "kept its place in the queue");
}

async fn silences_match_their_labels_and_expire(fx: Fixture) {
    let db = fx.open();
    let matchers = BTreeMap::from([
        ("journey".to_string(), "purchase".to_string()),
        ("severity".to_string(), "critical".to_string()),
    ]);
    let id = db
        .add_silence(&matchers, at(0), at(60), "ops@example.com", "deploy")
        .await
        .unwrap();
    let empty = db
        .add_silence(&BTreeMap::new(), at(0), at(60), "x", "no matchers")
        .await
        .unwrap();

    assert!(
        db.active_silences(at(-1)).await.unwrap().is_empty(),
        "not started"
    );
    assert!(
        db.active_silences(at(60)).await.unwrap().is_empty(),
        "ended"
    );
    let active = db.active_silences(at(1)).await.unwrap();
    assert_eq!(active.iter().map(|s| s.id).collect::<Vec<_>>(), [id, empty]);
    let silence = &active[0];
    assert_eq!(
        (
            silence.starts_at,
            silence.ends_at,
            silence.created_by.as_str(),
            silence.comment.as_str()
        ),
        (at(0), at(60), "ops@example.com", "deploy")
    );
    let purchase = alert("purchase", 0).labels;
    assert!(silence.matches(&purchase));
    assert!(!silence.matches(&alert("signup", 0).labels));
    let mut warning = purchase.clone();
    warning.insert("severity".into(), "warning".into());
    assert!(!silence.matches(&warning));
    assert!(
        !active[1].matches(&purchase),
        "an empty silence matches nothing"
    );

    assert!(db.expire_silence(id, at(2)).await.unwrap());
    assert!(
        !db.expire_silence(id, at(3)).await.unwrap(),
        "already ended"
    );
    assert!(
        !db.expire_silence(999, at(3)).await.unwrap(),
        "no such silence"
    );
    let active = db.active_silences(at(3)).await.unwrap();
    assert_eq!(active.iter().map(|s| s.id).collect::<Vec<_>>(), [empty]);

    // A silence expired before it started never comes into force.
    let later = db
        .add_silence(&matchers, at(100), at(200), "x", "later")
        .await
        .unwrap();
    assert!(db.expire_silence(later, at(4)).await.unwrap());
    assert!(db.active_silences(at(150)).await.unwrap().is_empty());
}

#[test]
fn open_creates_the_file_and_refuses_other_files() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("state/alerts.db");
    drop(AlertDb::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = AlertDb::open(&path).unwrap_err();
    assert!(matches!(err, OpenError::TooNew { .. }), "{err:?}");
    assert!(err.to_string().contains("newer journeyd"), "{err}");

    // The run history (another application id) is not an alert database.
    let history = dir.path().join("history.db");
    let conn = rusqlite::Connection::open(&history).unwrap();
    conn.execute_batch("PRAGMA application_id = 1246907993; CREATE TABLE runs (x);")
        .unwrap();
    drop(conn);
    let err = AlertDb::open(&history).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::NotOurs {
                database: Database::Alerts,
                application_id: 1_246_907_993,
                ..
            }
        ),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(err.contains("not journeyd's alert database"), "{err}");
    assert!(err.contains("history.db"), "{err}");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "x".repeat(4096)).unwrap();
    let err = AlertDb::open(&text).unwrap_err();
    assert!(matches!(err, OpenError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("not a SQLite database"), "{err}");
}

/// The run history and the alert database refuse each other's file. (Here, not in the
/// store's tests: the outbox depends on the store, never the other way round.)
#[tokio::test]
async fn each_database_refuses_the_other() {
    use crate::store::{Database, OpenError, Store, StoreOptions};
    let dir = tempfile::TempDir::new().unwrap();
    let history = dir.path().join("journeyd.db");
    let alerts = dir.path().join("alerts.db");
    Store::open(StoreOptions::new(history.clone()))
        .unwrap()
        .close()
        .await;
    drop(AlertDb::open(alerts.as_path()).unwrap());
    let err = AlertDb::open(history.as_path()).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::NotOurs {
                database: Database::Alerts,
                ..
            }
        ),
        "{err:?}"
    );
    let err = Store::open(StoreOptions::new(alerts)).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::NotOurs {
                database: Database::RunHistory,
                ..
            }
        ),
        "{err:?}"
    );
}

/// Ids of every stored silence, ended or not, read past the outbox.
async fn silence_ids(fx: &Fixture) -> Vec<i64> {
    const SQL: &str = "SELECT id FROM silences ORDER BY id";
    match fx {
        Fixture::Sqlite(dir) => {
            let c = rusqlite::Connection::open(dir.path().join("alerts.db")).unwrap();
            let mut stmt = c.prepare(SQL).unwrap();
            let rows = stmt.query_map([], |r| r.get::<_, i64>(0)).unwrap();
            rows.collect::<Result<Vec<i64>, _>>().unwrap()
        }
        Fixture::Pg(pg) => {
            let (c, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            let rows = c.query(SQL, &[]).await.unwrap();
            rows.iter().map(|r| r.get::<_, i64>(0)).collect()
        }
    }
}

async fn silences_ended_longer_ago_than_the_retention_are_pruned_when_one_is_added(fx: Fixture) {
    let db = fx.open();
    let m = BTreeMap::from([("journey".to_string(), "purchase".to_string())]);
    let retention = SILENCE_RETENTION.num_minutes();
    let old = db
        .add_silence(&m, at(0), at(60), "a", "ended")
        .await
        .unwrap();
    let edge = db
        .add_silence(&m, at(0), at(50_000), "b", "expired by hand")
        .await
        .unwrap();
    assert!(db.expire_silence(edge, at(61)).await.unwrap());
    let recent = db
        .add_silence(&m, at(0), at(2_000), "c", "ended recently")
        .await
        .unwrap();
    assert_eq!(
        silence_ids(&fx).await,
        [old, edge, recent],
        "nothing is pruned before a new silence"
    );

    // `old` ended one minute more than the retention before `now`; `edge` exactly
    // the retention before it: the first goes, the second stays.
    let now = at(61 + retention);
    let new = db
        .add_silence(&m, now, at(61 + 2 * retention), "d", "new")
        .await
        .unwrap();
    assert_eq!(silence_ids(&fx).await, [edge, recent, new]);
    let active: Vec<i64> = db
        .active_silences(now)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(active, [new], "pruning never touches a silence in force");
}

/// The engine asks for the silences after every run; they are read again at
/// least every second, at once after an add or an end, and never used past
/// the end of one of them.
#[tokio::test]
async fn silences_in_force_are_read_again_after_a_change_an_end_or_a_second() {
    let dir = TempDir::new().unwrap();
    let db = AlertDb::open(dir.path().join("alerts.db")).unwrap();
    let matchers = BTreeMap::from([("journey".to_string(), "purchase".to_string())]);
    let ids = |v: Vec<crate::alert::outbox::Silence>| v.iter().map(|s| s.id).collect::<Vec<_>>();
    assert!(db.active_silences(at(0)).await.unwrap().is_empty());
    let id = db.add_silence(&matchers, at(0), at(10), "x", "now").await.unwrap();
    assert_eq!(ids(db.active_silences(at(0)).await.unwrap()), [id], "an add shows at once");
    // One starting later than it was added shows within a second of its start.
    let later = db.add_silence(&matchers, at(5), at(8), "x", "later").await.unwrap();
    assert_eq!(ids(db.active_silences(at(4)).await.unwrap()), [id]);
    assert_eq!(ids(db.active_silences(at(5)).await.unwrap()), [id, later]);
    assert_eq!(ids(db.active_silences(at(9)).await.unwrap()), [id], "ended at 8");
    assert!(db.expire_silence(id, at(9)).await.unwrap());
    assert!(db.active_silences(at(9)).await.unwrap().is_empty(), "an end shows at once");
}
