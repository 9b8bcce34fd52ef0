//! The store: durable SQLite settings, migrations in step on both backends,
//! crash safety, privacy of what is kept, and the demo loader.

use std::collections::BTreeSet;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use trustpulse::db::{self, DbConnection, Store};

use crate::helpers::*;
use crate::on_both_stores;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn columns(conn: &mut DbConnection) -> BTreeSet<(String, String)> {
    let query = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name
             FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
               AND m.name <> '__diesel_schema_migrations'"
        }
        DbConnection::Pg(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'"
        }
    };
    diesel::sql_query(query)
        .load::<Column>(conn)
        .unwrap()
        .into_iter()
        .map(|c| (c.table_name, c.column_name))
        .collect()
}

#[test]
fn every_pooled_sqlite_connection_is_durable_and_checks_foreign_keys() {
    #[derive(QueryableByName)]
    struct Pragma {
        #[diesel(sql_type = BigInt)]
        value: i64,
    }
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    let test_store = TestStore::new(Backend::Sqlite).unwrap();
    let store = Store::open(&test_store.url).unwrap();
    // Hold every connection at once, so each one of the pool is checked.
    let mut held: Vec<_> = (0..store.max_connections())
        .map(|_| store.get().unwrap())
        .collect();
    for conn in held.iter_mut() {
        let pragma = |conn: &mut DbConnection, sql: &str| {
            diesel::sql_query(sql)
                .get_result::<Pragma>(conn)
                .unwrap()
                .value
        };
        assert_eq!(
            pragma(conn, "SELECT synchronous AS value FROM pragma_synchronous"),
            2,
            "synchronous=FULL"
        );
        assert_eq!(
            pragma(
                conn,
                "SELECT foreign_keys AS value FROM pragma_foreign_keys"
            ),
            1
        );
        assert_eq!(
            pragma(conn, "SELECT timeout AS value FROM pragma_busy_timeout"),
            10_000
        );
        let mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result::<Mode>(&mut **conn)
            .unwrap();
        assert_eq!(mode.journal_mode, "wal");
    }
}

#[test]
fn migrations_give_the_same_tables_and_columns_on_both_backends() {
    let sqlite = TestStore::new(Backend::Sqlite).unwrap();
    Store::open(&sqlite.url).unwrap();
    let sqlite_columns = columns(&mut sqlite.connect());
    assert!(sqlite_columns.contains(&("responses".into(), "submitted_date".into())));
    let Some(pg) = TestStore::new(Backend::Postgres) else {
        return;
    };
    Store::open(&pg.url).unwrap();
    assert_eq!(columns(&mut pg.connect()), sqlite_columns);
}

#[test]
fn migration_folders_have_the_same_names_for_both_backends() {
    let names = |dir: &str| -> BTreeSet<String> {
        std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

#[test]
fn a_response_row_holds_nothing_that_could_identify_a_respondent() {
    let store = TestStore::new(Backend::Sqlite).unwrap();
    Store::open(&store.url).unwrap();
    let response_columns: BTreeSet<String> = columns(&mut store.connect())
        .into_iter()
        .filter(|(t, _)| t == "responses")
        .map(|(_, c)| c)
        .collect();
    let expected: BTreeSet<String> = [
        "id",
        "survey_id",
        "wave_id",
        "submitted_date",
        "lang",
        "submission_id",
        "base_weight",
        "answers",
        "record_key",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(
        response_columns, expected,
        "no address, agent, device or time-of-day column"
    );
    for (table, column) in columns(&mut store.connect()) {
        for word in column.split('_') {
            let banned = [
                "ip", "address", "addr", "agent", "ua", "cookie", "device", "time",
            ];
            assert!(
                !banned.contains(&word),
                "{table}.{column} could identify a respondent"
            );
        }
    }
}

fn up_down_up(backend: Backend) {
    let Some(store) = TestStore::new(backend) else {
        return;
    };
    Store::open(&store.url).unwrap();
    let mut conn = store.connect();
    let before = columns(&mut conn);
    db::revert_all_migrations(&mut conn).unwrap();
    assert!(columns(&mut conn).is_empty(), "down removes every table");
    db::run_migrations(&mut conn).unwrap();
    assert_eq!(columns(&mut conn), before);
}

/// A store of the release before record keys: its responses get keys and its
/// aggregates are rebuilt with key sums at the next start, equal to a scan.
fn an_older_store_gets_record_keys_and_rebuilt_aggregates(backend: Backend) {
    let Some(test_store) = TestStore::new(backend) else {
        return;
    };
    let store = Store::open(&test_store.url).unwrap();
    let mut conn = store.get().unwrap();
    let id = db::seed::load_demo(&mut conn, 300, 7, |_| {}).unwrap();
    drop(conn);
    drop(store);
    let mut conn = test_store.connect();
    db::revert_migrations_through(&mut conn, "20261201000004").unwrap();
    drop(conn);
    let store = Store::open(&test_store.url).unwrap();
    let mut conn = store.get().unwrap();
    let keys: Vec<i64> = db::schema::responses::table
        .select(db::schema::responses::record_key)
        .load(&mut conn)
        .unwrap();
    assert_eq!(keys.len(), 300);
    assert!(
        keys.iter().filter(|k| **k == 0).count() <= 1,
        "keys assigned"
    );
    assert!(keys.iter().all(|k| (0..1 << 32).contains(k)));
    let survey = db::surveys::find_by_slug(&mut conn, "digital-trust")
        .unwrap()
        .unwrap();
    let kept = db::aggregates::stored(&mut conn, id).unwrap();
    let scratch = db::aggregates::scan(&mut conn, id, &survey.definition).unwrap();
    assert_eq!(kept.entries().len(), scratch.entries().len());
    for (a, b) in kept.entries().iter().zip(scratch.entries()) {
        assert_eq!((&a.0, a.1, a.4), (&b.0, b.1, b.4));
    }
    assert!(kept.entries().iter().any(|e| e.4 != 0), "key sums kept");
}

#[test]
fn an_older_store_gets_record_keys_and_rebuilt_aggregates_on_sqlite() {
    an_older_store_gets_record_keys_and_rebuilt_aggregates(Backend::Sqlite);
}

#[test]
fn an_older_store_gets_record_keys_and_rebuilt_aggregates_on_postgres() {
    an_older_store_gets_record_keys_and_rebuilt_aggregates(Backend::Postgres);
}

#[test]
fn migrations_go_up_down_and_up_again_on_sqlite() {
    up_down_up(Backend::Sqlite);
}

#[test]
fn migrations_go_up_down_and_up_again_on_postgres() {
    up_down_up(Backend::Postgres);
}

fn demo_loads_once_and_then_only_adds_responses(backend: Backend) {
    let Some(test_store) = TestStore::new(backend) else {
        return;
    };
    let store = Store::open(&test_store.url).unwrap();
    let mut conn = store.get().unwrap();
    let id = db::seed::load_demo(&mut conn, 0, 1, |_| {}).unwrap();
    assert_eq!(db::seed::load_demo(&mut conn, 0, 1, |_| {}).unwrap(), id);
    assert_eq!(db::responses::count(&mut conn, id).unwrap(), 0);
    assert!(
        !db::surveys::find_by_slug(&mut conn, "digital-trust")
            .unwrap()
            .unwrap()
            .synthetic
    );
    let mut seen = Vec::new();
    db::seed::load_demo(&mut conn, 12_345, 1, |n| seen.push(n)).unwrap();
    assert_eq!(seen, [5_000, 10_000, 12_345], "progress after each batch");
    db::seed::load_demo(&mut conn, 100, 1, |_| {}).unwrap();
    assert_eq!(db::responses::count(&mut conn, id).unwrap(), 12_445);
    assert_eq!(db::surveys::list(&mut conn).unwrap().len(), 1);
    assert_eq!(db::events::list(&mut conn).unwrap().len(), 4);
    let survey = db::surveys::find_by_slug(&mut conn, "digital-trust")
        .unwrap()
        .unwrap();
    assert!(survey.synthetic);
    // Bulk sums (first written fresh, then merged row by row) equal a rebuild.
    let stored = db::aggregates::stored(&mut conn, id).unwrap();
    let scratch = db::aggregates::scan(&mut conn, id, &survey.definition).unwrap();
    assert_eq!(stored.piece_rows(), scratch.piece_rows());
    assert_eq!(stored.day_rows(), scratch.day_rows());
}

#[test]
fn the_demo_loads_once_and_then_only_adds_responses_on_sqlite() {
    demo_loads_once_and_then_only_adds_responses(Backend::Sqlite);
}

#[test]
fn the_demo_loads_once_and_then_only_adds_responses_on_postgres() {
    demo_loads_once_and_then_only_adds_responses(Backend::Postgres);
}

async fn nothing_identifying_reaches_the_store_or_the_logs(backend: Backend) {
    let Some(test_store) = TestStore::new(backend) else {
        return;
    };
    {
        let mut conn = Store::open(&test_store.url).unwrap().get().unwrap();
        db::seed::ensure_demo_survey(&mut conn).unwrap();
    }
    let mut server = ServerProcess::start(&test_store, "server.log", &[]);
    // The client comes from 127.0.0.2, so its address is unlike the server's own.
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .user_agent("PrivacyProbe/9.9")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let submission_id = uuid::Uuid::new_v4().to_string();
    let res = client
        .post(format!("{}{SUBMIT}", server.address))
        .header("x-forwarded-for", "203.0.113.77")
        .json(&json!({"submission_id": submission_id, "answers": minimal_answers()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let response_id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let form = client
        .get(format!(
            "{}/s/digital-trust?lang=en&i=SECRETINVITE42",
            server.address
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form_sid = hidden_field(&form, "submission_id").unwrap();
    let form_token = hidden_field(&form, "form_token").unwrap();
    let res = client
        .post(format!("{}/s/digital-trust", server.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "submission_id={form_sid}&form_token={form_token}&lang=en&portal_account=never&portal_trust=2"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(15)).is_some());

    let log = server.log();
    assert!(
        log.contains("route=/api/v1/surveys/{slug}/responses"),
        "requests are logged: {log}"
    );
    let mut haystacks = vec![("log", log.into_bytes())];
    if let Some(path) = test_store.sqlite_path() {
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            if let Ok(bytes) = std::fs::read(&file) {
                haystacks.push(("database file", bytes));
            }
        }
    }
    for (what, bytes) in &haystacks {
        let text = String::from_utf8_lossy(bytes);
        for secret in [
            "127.0.0.2",
            "203.0.113.77",
            "PrivacyProbe",
            "SECRETINVITE42",
        ] {
            assert!(!text.contains(secret), "{what} contains {secret}");
        }
        if *what == "log" {
            for id in [&response_id, &submission_id, &form_sid] {
                assert!(
                    !text.contains(id.as_str()),
                    "the log names a response or submission id"
                );
            }
        }
    }
}

#[tokio::test]
async fn nothing_identifying_reaches_the_store_or_the_logs_on_sqlite() {
    nothing_identifying_reaches_the_store_or_the_logs(Backend::Sqlite).await;
}

#[tokio::test]
async fn nothing_identifying_reaches_the_store_or_the_logs_on_postgres() {
    nothing_identifying_reaches_the_store_or_the_logs(Backend::Postgres).await;
}

on_both_stores! {
    async fn the_store_survives_many_concurrent_submissions(app) {
        let survey_id = app.with_demo_survey();
        let bodies: Vec<Value> = (0..40)
            .map(|i| {
                let mut answers = minimal_answers();
                answers["portal_trust"] = json!(1 + i % 5);
                json!({ "answers": answers })
            })
            .collect();
        let requests = bodies.iter().map(|body| app.post_json(SUBMIT, body));
        for res in futures_util::future::join_all(requests).await {
            assert_eq!(res.status(), 201);
        }
        assert_eq!(app.response_count(survey_id), 40);
    }
}
