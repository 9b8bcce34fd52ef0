//! `POST /api/v1/surveys/{slug}/responses`

use chrono::Utc;
use trustpulse::db;
use trustpulse::survey::Status;

use crate::helpers::*;
use crate::on_both_stores;

fn moscow_today() -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Moscow)
        .date_naive()
}

on_both_stores! {
    async fn a_valid_response_is_stored_with_a_random_id_and_the_local_date(app) {
        let survey_id = app.with_demo_survey();
        let res = app.submit(json!({
            "portal_account": "deleted", "portal_trust": "dk", "evote_count_trust": 0,
            "concerns": ["surveillance", "data_leak"], "comment": "  Всё ок  ", "region": "ural"
        })).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        let id = uuid::Uuid::parse_str(body["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 4, "ids are random UUIDv4, never time-ordered");
        assert_eq!(body["submitted_date"], json!(moscow_today().to_string()));
        let mut conn = app.store.get().unwrap();
        let stored: Value = serde_json::from_str(
            &db::responses::answers_of(&mut conn, &id.to_string()).unwrap().unwrap(),
        ).unwrap();
        assert_eq!(stored, json!({
            "portal_account": "deleted", "portal_trust": "dk", "evote_count_trust": 0,
            "concerns": ["data_leak", "surveillance"], "comment": "Всё ок", "region": "ural"
        }));
        assert_eq!(app.response_count(survey_id), 1);
    }

    async fn every_invalid_answer_is_named_in_one_422_and_nothing_is_stored(app) {
        let survey_id = app.with_demo_survey();
        let res = app.submit(json!({
            "portal_trust": 7,
            "leak_worry": "often",
            "evote_intent": 2.5,
            "summons_effect": 3,
            "concerns": ["data_leak", "data_leak"],
            "comment": "x".repeat(1001),
            "region": "mars",
            "shoe_size": 42
        })).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid");
        let found: Vec<(String, String)> = body["details"].as_array().unwrap().iter()
            .map(|d| (d["question"].as_str().unwrap().to_string(), d["problem"].as_str().unwrap().to_string()))
            .collect();
        let expected = [
            ("portal_account", "required"),
            ("portal_trust", "out_of_range"),
            ("leak_worry", "unknown_option"),
            ("evote_intent", "wrong_type"),
            ("summons_effect", "wrong_type"),
            ("concerns", "duplicate_option"),
            ("comment", "too_long"),
            ("region", "unknown_option"),
            ("shoe_size", "unknown_question"),
        ];
        let expected: Vec<(String, String)> = expected.iter().map(|(q, p)| (q.to_string(), p.to_string())).collect();
        assert_eq!(found, expected);
        assert!(body["details"][0]["message"].as_str().unwrap().len() > 5);
        assert_eq!(app.response_count(survey_id), 0);
    }

    async fn an_exclusive_option_cannot_be_combined_and_an_empty_choice_is_refused(app) {
        app.with_demo_survey();
        for (concerns, problem) in [(json!(["none", "hard_to_use"]), "exclusive_combined"), (json!([]), "empty_choice")] {
            let mut answers = minimal_answers();
            answers["concerns"] = concerns;
            let res = app.submit(answers).await;
            assert_eq!(res.status(), 422);
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["details"][0]["problem"], problem);
        }
    }

    async fn malformed_json_is_400_and_a_wrong_content_type_is_415(app) {
        app.with_demo_survey();
        let res = app.client.post(app.url(SUBMIT)).header("content-type", "application/json")
            .body("{\"answers\": {").send().await.unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "malformed");
        let res = app.client.post(app.url(SUBMIT)).header("content-type", "text/plain")
            .body(json!({"answers": minimal_answers()}).to_string()).send().await.unwrap();
        assert_eq!(res.status(), 415);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "unsupported_media_type");
    }

    async fn a_badly_shaped_submission_names_its_fields(app) {
        app.with_demo_survey();
        let res = app.post_json(SUBMIT, &json!({"submission_id": "nope", "lang": "de", "answers": [], "extra": 1})).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        let fields: Vec<&str> = body["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["submission_id", "lang", "answers", "extra"]);
    }

    async fn an_unknown_survey_is_404(app) {
        let res = app.post_json("/api/v1/surveys/nope/responses", &json!({"answers": {}})).await;
        assert_eq!(res.status(), 404);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");
    }

    async fn a_closed_survey_is_409_and_stores_nothing(app) {
        let survey_id = app.with_demo_survey();
        db::surveys::set_status(&mut app.store.get().unwrap(), survey_id, Status::Closed).unwrap();
        let res = app.submit(minimal_answers()).await;
        assert_eq!(res.status(), 409);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "survey_closed");
        assert_eq!(app.response_count(survey_id), 0);
    }

    async fn a_repeated_submission_id_returns_the_first_receipt_and_stores_nothing(app) {
        let survey_id = app.with_demo_survey();
        let sid = uuid::Uuid::new_v4().to_string();
        let first = app.post_json(SUBMIT, &json!({"submission_id": sid, "answers": minimal_answers()})).await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        // Whatever the rest of the body says, even invalid answers.
        let again = app.post_json(SUBMIT, &json!({"submission_id": sid, "answers": {"portal_trust": 99}})).await;
        assert_eq!(again.status(), 200);
        assert_eq!(again.json::<Value>().await.unwrap(), first);
        assert_eq!(app.response_count(survey_id), 1);
    }

    async fn concurrent_duplicates_of_one_submission_store_one_response(app) {
        let survey_id = app.with_demo_survey();
        let body = json!({"submission_id": uuid::Uuid::new_v4(), "answers": minimal_answers()});
        let requests = (0..8).map(|_| app.post_json(SUBMIT, &body));
        let responses = futures_util::future::join_all(requests).await;
        let mut ids = std::collections::HashSet::new();
        for res in responses {
            assert!(res.status() == 201 || res.status() == 200, "{}", res.status());
            ids.insert(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string());
        }
        assert_eq!(ids.len(), 1);
        assert_eq!(app.response_count(survey_id), 1);
    }

    async fn a_body_over_the_limit_is_413(app) {
        app.with_demo_survey();
        let mut answers = minimal_answers();
        answers["comment"] = json!("x".repeat(70_000));
        let res = app.submit(answers).await;
        assert_eq!(res.status(), 413);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "too_large");
    }

    async fn with_waves_a_response_needs_an_open_wave_and_belongs_to_it(app) {
        let survey_id = app.with_demo_survey();
        let today = moscow_today();
        let mut conn = app.store.get().unwrap();
        let next = db::surveys::insert_wave(&mut conn, survey_id, "next", today + chrono::Duration::days(10), today + chrono::Duration::days(20)).unwrap();
        let res = app.submit(minimal_answers()).await;
        assert_eq!(res.status(), 409);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "no_open_wave");
        assert!(body["message"].as_str().unwrap().contains(&(today + chrono::Duration::days(10)).to_string()));

        let current = db::surveys::insert_wave(&mut conn, survey_id, "now", today - chrono::Duration::days(1), today).unwrap();
        assert_ne!(current, next);
        let res = app.submit(minimal_answers()).await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        use diesel::prelude::*;
        use trustpulse::db::schema::responses;
        let wave: Option<i32> = responses::table.find(&id).select(responses::wave_id).first(&mut *conn).unwrap();
        assert_eq!(wave, Some(current));
    }

    async fn the_language_is_checked_and_stored(app) {
        app.with_demo_survey();
        let res = app.post_json(SUBMIT, &json!({"lang": "en", "answers": minimal_answers()})).await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        use diesel::prelude::*;
        use trustpulse::db::schema::responses;
        let lang: String = responses::table.find(&id).select(responses::lang).first(&mut *app.store.get().unwrap()).unwrap();
        assert_eq!(lang, "en");
    }
}
