//! Group commit: a batch of submissions keeps every rule exact (repeats,
//! spent codes), stores each response once with aggregates equal to a
//! rebuild, and many concurrent requests end up in shared batches.

use serde_json::{Value, json};
use trustpulse::db::aggregates;
use trustpulse::db::responses::Stored;
use trustpulse::submission::{self, Refusal, Submission};
use trustpulse::survey::Access;

use crate::analysis::assert_same;
use crate::helpers::*;
use crate::on_both_stores;

fn submission(sid: Option<uuid::Uuid>, code: Option<&str>, trust: i64) -> Submission {
    let answers = json!({"portal_account": "active", "portal_trust": trust, "region": "volga"});
    Submission {
        submission_id: sid,
        lang: None,
        invitation: code.map(str::to_string),
        answers: answers.as_object().unwrap().clone(),
    }
}

on_both_stores! {
    async fn one_batch_stores_a_twin_once_and_spends_a_code_once(app) {
        let survey_id = app.with_demo_survey();
        let mut conn = app.store.get().unwrap();
        trustpulse::db::surveys::set_access(&mut conn, survey_id, Access::Invitation).unwrap();
        let codes = trustpulse::db::invitations::create(&mut conn, survey_id, None, 2).unwrap();
        let survey = std::sync::Arc::new(trustpulse::db::surveys::find_by_slug(&mut conn, "digital-trust").unwrap().unwrap());
        let (a, b, c) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let checked: Vec<_> = [
            submission(Some(a), Some(&codes[0]), 5),
            // The same submission again, in the same batch: a repeat.
            submission(Some(a), Some(&codes[0]), 5),
            submission(Some(b), Some(&codes[1]), 2),
            // Another submission with a code spent earlier in the batch.
            submission(Some(c), Some(&codes[1]), 3),
            submission(None, None, 4),
            submission(None, Some("not-a-code"), 4),
        ]
        .into_iter()
        .map(|s| submission::check(&survey, s).unwrap())
        .collect();
        let batch: Vec<_> = checked.iter().collect();
        let outcomes = submission::store_batch(&mut conn, &batch).unwrap();
        let first = match &outcomes[0] {
            Ok(Stored::Created(receipt)) => receipt.clone(),
            other => panic!("{other:?}"),
        };
        assert!(matches!(&outcomes[1], Ok(Stored::Repeated(r)) if *r == first), "{:?}", outcomes[1]);
        assert!(matches!(outcomes[2], Ok(Stored::Created(_))), "{:?}", outcomes[2]);
        assert!(matches!(outcomes[3], Err(Refusal::InvitationSpent)), "{:?}", outcomes[3]);
        assert!(matches!(outcomes[4], Err(Refusal::InvitationRequired)), "{:?}", outcomes[4]);
        assert!(matches!(outcomes[5], Err(Refusal::InvitationUnknown)), "{:?}", outcomes[5]);
        assert_eq!(app.response_count(survey_id), 2);

        // A later batch: the stored submission id is a repeat, the code spent.
        let again = [submission::check(&survey, submission(Some(b), Some(&codes[1]), 2)).unwrap()];
        let outcomes = submission::store_batch(&mut conn, &[&again[0]]).unwrap();
        assert!(matches!(outcomes[0], Ok(Stored::Repeated(_))), "{:?}", outcomes[0]);
        assert_eq!(app.response_count(survey_id), 2);

        let kept = aggregates::stored(&mut conn, survey_id).unwrap();
        let scratch = aggregates::scan(&mut conn, survey_id, &survey.definition).unwrap();
        assert_same(&kept, &scratch);
    }

    async fn a_closed_survey_refuses_a_whole_batch_and_stores_nothing(app) {
        let survey_id = app.with_demo_survey();
        let mut conn = app.store.get().unwrap();
        let survey = std::sync::Arc::new(trustpulse::db::surveys::find_by_slug(&mut conn, "digital-trust").unwrap().unwrap());
        // Checked while open, closed before the writer stores them.
        let checked: Vec<_> = (1..=3).map(|t| submission::check(&survey, submission(None, None, t)).unwrap()).collect();
        trustpulse::db::surveys::set_status(&mut conn, survey_id, trustpulse::survey::Status::Closed).unwrap();
        let batch: Vec<_> = checked.iter().collect();
        let outcomes = submission::store_batch(&mut conn, &batch).unwrap();
        assert!(outcomes.iter().all(|o| matches!(o, Err(Refusal::Closed))), "{outcomes:?}");
        assert_eq!(app.response_count(survey_id), 0);
    }

    async fn many_concurrent_submissions_are_stored_in_shared_batches_with_exact_aggregates(app) {
        let survey_id = app.with_demo_survey();
        let version_before = {
            let mut conn = app.store.get().unwrap();
            aggregates::versions(&mut conn, survey_id).unwrap().0
        };
        let bodies: Vec<Value> = (0..200)
            .map(|i| {
                let (region, settlement) = [("volga", "city"), ("central", "town"), ("siberia", "village")][i % 3];
                json!({"submission_id": uuid::Uuid::new_v4(), "answers": {
                    "portal_account": "active", "portal_trust": 1 + i % 5, "leak_worry": 1 + i % 4,
                    "region": region, "settlement": settlement}})
            })
            .collect();
        let requests = bodies.iter().map(|body| app.post_json(SUBMIT, body));
        for res in futures_util::future::join_all(requests).await {
            assert_eq!(res.status(), 201);
        }
        assert_eq!(app.response_count(survey_id), 200);
        let mut conn = app.store.get().unwrap();
        let survey = trustpulse::db::surveys::find_by_slug(&mut conn, "digital-trust").unwrap().unwrap();
        let kept = aggregates::stored(&mut conn, survey_id).unwrap();
        let scratch = aggregates::scan(&mut conn, survey_id, &survey.definition).unwrap();
        assert_same(&kept, &scratch);
        // One version step per stored batch: fewer steps than submissions
        // shows that requests shared batches.
        let steps = aggregates::versions(&mut conn, survey_id).unwrap().0 - version_before;
        assert!((1..200).contains(&steps), "{steps} batches for 200 submissions");
    }
}

/// Sets the demo survey to invitations only, makes `n` codes and answers
/// each through the API, one at a time; returns the response ids in order.
async fn answer_by_invitation(app: &TestApp, n: usize) -> Vec<String> {
    let survey_id = app.with_demo_survey();
    let mut conn = app.store.get().unwrap();
    trustpulse::db::surveys::set_access(&mut conn, survey_id, Access::Invitation).unwrap();
    let codes = trustpulse::db::invitations::create(&mut conn, survey_id, None, n).unwrap();
    let mut ids = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let body = json!({"invitation": code, "answers": {"portal_account": "active", "portal_trust": 1 + i % 5}});
        let res = app.post_json(SUBMIT, &body).await;
        assert_eq!(res.status(), 201);
        ids.push(
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    ids
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

fn texts(conn: &mut trustpulse::db::DbConnection, sql: &str) -> Vec<String> {
    use diesel::RunQueryDsl;
    let trustpulse::db::DbConnection::Pg(c) = conn else {
        panic!("PostgreSQL only")
    };
    diesel::sql_query(sql)
        .load::<Text>(c)
        .unwrap()
        .into_iter()
        .map(|t| t.value)
        .collect()
}

#[tokio::test]
async fn on_postgres_no_transaction_id_links_a_code_to_its_response_and_compaction_erases_arrival_order()
 {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let ids = answer_by_invitation(&app, 12).await;
    let mut conn = app.store.get().unwrap();
    // The attack as found: join spent codes to responses on the writing transaction.
    let join = "SELECT r.id AS value FROM invitations i JOIN responses r ON r.xmin = i.xmin";
    assert_eq!(
        texts(&mut conn, join),
        Vec::<String>::new(),
        "a code shares a transaction id with its response"
    );
    // Before compaction the live store still orders responses by arrival
    // (the README says so); this is what compaction must erase.
    let by_xmin = texts(
        &mut conn,
        "SELECT id AS value FROM responses ORDER BY xmin::text::bigint, ctid",
    );
    assert_eq!(by_xmin, ids, "before compaction xmin follows arrival");

    let today = trustpulse::submission::local_today(
        &trustpulse::db::surveys::find_by_slug(&mut conn, "digital-trust")
            .unwrap()
            .unwrap(),
    );
    let survey_id = trustpulse::db::surveys::find_by_slug(&mut conn, "digital-trust")
        .unwrap()
        .unwrap()
        .id;
    trustpulse::db::compaction::compact_through(&mut conn, survey_id, today).unwrap();

    assert_eq!(texts(&mut conn, join), Vec::<String>::new());
    assert_eq!(
        texts(
            &mut conn,
            "SELECT count(DISTINCT xmin::text)::text AS value FROM responses"
        ),
        ["1"]
    );
    assert_eq!(
        texts(
            &mut conn,
            "SELECT count(DISTINCT xmin::text)::text AS value FROM invitations WHERE spent"
        ),
        ["1"]
    );
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(
        texts(&mut conn, "SELECT id AS value FROM responses ORDER BY ctid"),
        sorted,
        "rows sit in id order"
    );
    assert_ne!(
        texts(&mut conn, "SELECT id AS value FROM responses ORDER BY ctid"),
        ids
    );
    // Figures are unchanged by the rewrite.
    let survey = trustpulse::db::surveys::find_by_slug(&mut conn, "digital-trust")
        .unwrap()
        .unwrap();
    assert_same(
        &aggregates::stored(&mut conn, survey.id).unwrap(),
        &aggregates::scan(&mut conn, survey.id, &survey.definition).unwrap(),
    );
    assert_eq!(app.response_count(survey.id), 12);
}

#[tokio::test]
async fn on_sqlite_the_write_ahead_log_keeps_no_response_after_compaction() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let ids = answer_by_invitation(&app, 12).await;
    let trustpulse::db::DatabaseUrl::Sqlite(path) = &app.test_store.url else {
        unreachable!()
    };
    let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
    let found = || {
        let bytes = std::fs::read(&wal).unwrap_or_default();
        ids.iter()
            .filter(|id| bytes.windows(id.len()).any(|w| w == id.as_bytes()))
            .count()
    };
    // The scan works: the log holds the new responses until compaction.
    assert!(found() > 0, "the log held no response before compaction");
    let mut conn = app.store.get().unwrap();
    let survey = trustpulse::db::surveys::find_by_slug(&mut conn, "digital-trust")
        .unwrap()
        .unwrap();
    let today = trustpulse::submission::local_today(&survey);
    assert!(trustpulse::db::compaction::compact_through(&mut conn, survey.id, today).unwrap() >= 1);
    assert_eq!(found(), 0, "responses left in {}", wal.display());
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    assert_eq!(app.response_count(survey.id), 12);
    // Compacted days are not done again.
    assert_eq!(
        trustpulse::db::compaction::compact_through(&mut conn, survey.id, today).unwrap(),
        0
    );
}
