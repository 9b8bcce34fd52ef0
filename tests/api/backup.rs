//! Online backups: `trustpulse backup` copies a SQLite store while the
//! service takes submissions; the copy is a consistent store of its own.

use std::collections::HashMap;

use serde_json::Value;
use trustpulse::analysis::service::{self, Reader};
use trustpulse::db::{self, DatabaseUrl, Store, aggregates};

use crate::analysis::assert_same;
use crate::helpers::*;
use crate::roundtrip::cli;

fn series(store: &Store) -> Value {
    let mut conn = store.get().unwrap();
    let loaded = service::load(&mut conn, "digital-trust").unwrap();
    let query: HashMap<String, String> = [
        ("question", "portal_trust"),
        ("interval", "week"),
        ("by", "region"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut answer = serde_json::to_value(
        Reader::new(&loaded, false, 30)
            .series_json(&mut conn, &query)
            .unwrap(),
    )
    .unwrap();
    answer["meta"]["generated_at"] = Value::Null;
    answer
}

#[tokio::test]
async fn a_backup_taken_while_submissions_arrive_is_a_consistent_store() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let survey_id = db::seed::load_demo(&mut app.store.get().unwrap(), 3_000, 6, |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let during = dir.path().join("during.db");

    // Submissions keep arriving while the copy is written.
    let writer = {
        let (client, url) = (
            app.client.clone(),
            app.url("/api/v1/surveys/digital-trust/responses"),
        );
        tokio::spawn(async move {
            for i in 0..150 {
                let body = serde_json::json!({"answers": {"portal_account": "active", "portal_trust": 1 + i % 5}});
                let res = client.post(&url).json(&body).send().await.unwrap();
                assert_eq!(res.status(), 201);
            }
        })
    };
    let (test_store, path) = (app.test_store.url_string(), during.clone());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_trustpulse"))
            .args([
                "--database-url",
                &test_store,
                "backup",
                "--out",
                path.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    writer.await.unwrap();
    let after = app.response_count(survey_id);
    assert_eq!(after, 3_150);

    // The copy opens as a store: every response it holds is counted once in
    // aggregates equal to those built from its rows (one consistent moment).
    let copy = Store::open(&DatabaseUrl::Sqlite(during.clone())).unwrap();
    let mut conn = copy.get().unwrap();
    let held = db::responses::count(&mut conn, survey_id).unwrap();
    assert!((3_000..=after).contains(&held), "{held}");
    let survey = db::surveys::find_by_slug(&mut conn, "digital-trust")
        .unwrap()
        .unwrap();
    let kept = aggregates::stored(&mut conn, survey_id).unwrap();
    assert_same(
        &kept,
        &aggregates::scan(&mut conn, survey_id, &survey.definition).unwrap(),
    );
    assert!(
        !dir.path().join("during.db-wal").exists()
            || std::fs::metadata(dir.path().join("during.db-wal"))
                .unwrap()
                .len()
                == 0
    );

    // With the service quiet, the copy's figures are the store's.
    let quiet = dir.path().join("quiet.db");
    let output = cli(
        &app.test_store,
        &["backup", "--out", quiet.to_str().unwrap()],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let copy = Store::open(&DatabaseUrl::Sqlite(quiet.clone())).unwrap();
    assert_eq!(
        db::responses::count(&mut copy.get().unwrap(), survey_id).unwrap(),
        after
    );
    let (ours, theirs) = (series(&copy), series(&app.store));
    for key in ours["meta"].as_object().unwrap().keys() {
        assert_eq!(ours["meta"][key], theirs["meta"][key], "meta.{key}");
    }
    assert!(
        ours["points"] == theirs["points"],
        "the copy's points differ"
    );

    // A backup never overwrites a file.
    let output = cli(
        &app.test_store,
        &["backup", "--out", quiet.to_str().unwrap()],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("exists"));
}

#[tokio::test]
async fn a_postgresql_store_is_pointed_to_pg_dump() {
    let Some(store) = TestStore::new(Backend::Postgres) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = cli(
        &store,
        &["backup", "--out", dir.path().join("x.db").to_str().unwrap()],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
}
