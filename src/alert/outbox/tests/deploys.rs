//! Deploys in the database: stored across a reopen, listed by time, pruned by age.

use super::*;

on_both_backends!(
    deploys_survive_a_reopen_and_list_newest_first_within_the_range,
    adding_a_deploy_deletes_those_past_the_retention,
);

fn deploy(version: &str) -> NewDeploy {
    NewDeploy {
        service: "checkout".into(),
        backends: vec!["payment".into()],
        journeys: vec!["purchase".into()],
        version: version.into(),
        description: "retry on 502".into(),
    }
}

async fn deploys_survive_a_reopen_and_list_newest_first_within_the_range(fx: Fixture) {
    let db = fx.open();
    for (m, v) in [(0, "v1"), (10, "v2"), (20, "v3")] {
        let d = db.add_deploy(deploy(v), at(m)).await.unwrap();
        assert_eq!((d.version.as_str(), d.at), (v, at(m)));
    }
    drop(db);
    let db = fx.open();
    let all = db.deploys_between(at(-1), at(30), 10).await.unwrap();
    let versions: Vec<&str> = all.iter().map(|d| d.version.as_str()).collect();
    assert_eq!(versions, ["v3", "v2", "v1"]);
    assert_eq!(all[0].backends, ["payment"]);
    assert_eq!(all[0].journeys, ["purchase"]);
    assert_eq!(all[0].description, "retry on 502");
    let some = db.deploys_between(at(5), at(10), 10).await.unwrap();
    assert_eq!(some.len(), 1, "both ends included, nothing outside");
    assert_eq!(some[0].version, "v2");
    assert_eq!(
        db.deploys_between(at(-1), at(30), 2).await.unwrap().len(),
        2
    );
}

async fn adding_a_deploy_deletes_those_past_the_retention(fx: Fixture) {
    let db = fx.open();
    db.add_deploy(deploy("old"), at(0)).await.unwrap();
    let later = at(0) + DEPLOY_RETENTION + TimeDelta::minutes(1);
    db.add_deploy(deploy("new"), later).await.unwrap();
    let all = db.deploys_between(at(-1), later, 10).await.unwrap();
    let versions: Vec<&str> = all.iter().map(|d| d.version.as_str()).collect();
    assert_eq!(versions, ["new"]);
}
