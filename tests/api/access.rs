//! Tokens and roles, the admin API, invitations, abuse limits, form safety,
//! security headers and the OpenAPI document.

use std::collections::BTreeSet;

use diesel::prelude::*;
use trustpulse::auth::Role;
use trustpulse::db;
use trustpulse::survey::SurveyDefinition;

use crate::helpers::*;
use crate::on_both_stores;

const FORM: &str = "/s/digital-trust";

impl TestApp {
    pub fn token(&self, role: Role) -> String {
        let today = chrono::Utc::now().date_naive();
        db::tokens::create(&mut self.store.get().unwrap(), role, "test", today)
            .unwrap()
            .1
    }

    pub fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }
}

fn other_survey() -> Value {
    let mut def = serde_json::to_value(trustpulse::survey::demo::definition()).unwrap();
    def["slug"] = json!("panel-2027");
    def
}

fn problems(body: &Value) -> Vec<String> {
    body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d["field"].as_str().or(d["question"].as_str()).unwrap_or(""),
                d["problem"].as_str().unwrap()
            )
        })
        .collect()
}

on_both_stores! {
    async fn admin_routes_say_401_without_a_token_and_403_below_admin(app) {
        let res = app.post_json("/api/v1/surveys", &other_survey()).await;
        assert_eq!(res.status(), 401);
        let challenges: Vec<&str> = res.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(challenges, ["Bearer", r#"Basic realm="trustpulse""#]);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "unauthorized");

        let garbage = app.admin(reqwest::Method::POST, "/api/v1/surveys", "tp_nope").json(&other_survey()).send().await.unwrap();
        assert_eq!(garbage.status(), 401);
        let forged = format!("tp_{}_{}", "0".repeat(12), "0".repeat(64));
        assert_eq!(app.admin(reqwest::Method::POST, "/api/v1/surveys", &forged).json(&other_survey()).send().await.unwrap().status(), 401);

        let researcher = app.token(Role::Researcher);
        let res = app.admin(reqwest::Method::POST, "/api/v1/surveys", &researcher).json(&other_survey()).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "forbidden");

        let admin = app.token(Role::Admin);
        // HTTP Basic with the token as the password works too (browser links).
        let res = app.client.post(app.url("/api/v1/surveys")).basic_auth("anyone", Some(&admin)).json(&other_survey()).send().await.unwrap();
        assert_eq!(res.status(), 201);
    }

    async fn a_revoked_token_stops_working_on_the_next_request(app) {
        let admin = app.token(Role::Admin);
        let list = |app: &TestApp| db::tokens::list(&mut app.store.get().unwrap()).unwrap();
        assert_eq!(list(&app)[0].last_used_on, None);
        let res = app.admin(reqwest::Method::GET, "/api/v1/surveys/digital-trust/waves", &admin).send().await.unwrap();
        assert_eq!(res.status(), 404, "authorised, then no such survey");
        assert_eq!(list(&app)[0].last_used_on, Some(chrono::Utc::now().date_naive()), "last use kept as a date");
        let id = list(&app)[0].id;
        assert!(db::tokens::revoke(&mut app.store.get().unwrap(), id).unwrap());
        let res = app.admin(reqwest::Method::GET, "/api/v1/surveys/digital-trust/waves", &admin).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }

    async fn a_definition_round_trips_and_bad_ones_are_422_by_field(app) {
        let admin = app.token(Role::Admin);
        let res = app.admin(reqwest::Method::POST, "/api/v1/surveys", &admin).json(&other_survey()).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let got: Value = app.get("/api/v1/surveys/panel-2027").await.json().await.unwrap();
        let sent: SurveyDefinition = serde_json::from_value(other_survey()).unwrap();
        let mut definition = got.clone();
        for state in ["status", "access", "synthetic_responses"] {
            definition.as_object_mut().unwrap().remove(state);
        }
        let back: SurveyDefinition = serde_json::from_value(definition).unwrap();
        assert_eq!(back, sent);
        // What GET returns can be posted back as it is.
        let mut again = got.clone();
        again["slug"] = json!("panel-2028");
        assert_eq!(app.admin(reqwest::Method::POST, "/api/v1/surveys", &admin).json(&again).send().await.unwrap().status(), 201);
        let dup = app.admin(reqwest::Method::POST, "/api/v1/surveys", &admin).json(&other_survey()).send().await.unwrap();
        assert_eq!(dup.status(), 409);

        let mut bad = other_survey();
        bad["slug"] = json!("bad survey");
        bad["questions"][0]["code"] = json!("portal_trust");
        bad["questions"][6]["options"][1]["code"] = json!("data_leak");
        bad["questions"][3]["scale"]["max"] = json!(1);
        let res = app.admin(reqwest::Method::POST, "/api/v1/surveys", &admin).json(&bad).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let found = problems(&res.json().await.unwrap());
        for expected in ["slug:invalid_code", "questions[1].code:duplicate_code", "questions[6].options[1].code:duplicate_code", "questions[3].scale:out_of_range"] {
            assert!(found.contains(&expected.to_string()), "{expected} not in {found:?}");
        }
        let res = app.admin(reqwest::Method::POST, "/api/v1/surveys", &admin).json(&json!({"slug": "x"})).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert_eq!(problems(&res.json().await.unwrap()), ["title:wrong_shape"]);
    }

    async fn a_survey_body_means_every_field_it_sends(app) {
        let admin = app.token(Role::Admin);
        let post = |body: Value| { let request = app.admin(reqwest::Method::POST, "/api/v1/surveys", &admin).json(&body); async move { request.send().await.unwrap() } };
        let mut closed_panel = other_survey();
        closed_panel["access"] = json!("invitation");
        closed_panel["status"] = json!("closed");
        assert_eq!(post(closed_panel).await.status(), 201);
        let got: Value = app.get("/api/v1/surveys/panel-2027").await.json().await.unwrap();
        assert_eq!((got["access"].as_str(), got["status"].as_str()), (Some("invitation"), Some("closed")));
        // A typo anywhere is named, never dropped.
        let mut typo = other_survey();
        typo["slug"] = json!("panel-2029");
        typo["acess"] = json!("invitation");
        let res = post(typo).await;
        assert_eq!(res.status(), 422);
        assert_eq!(problems(&res.json().await.unwrap()), ["acess:wrong_shape"]);
        let mut nested = other_survey();
        nested["slug"] = json!("panel-2030");
        nested["questions"][0]["requird"] = json!(true);
        let res = post(nested).await;
        assert_eq!(res.status(), 422);
        assert_eq!(problems(&res.json().await.unwrap()), ["requird:wrong_shape"]);
        let mut bad = other_survey();
        bad["slug"] = json!("panel-2031");
        bad["access"] = json!("everyone");
        assert_eq!(problems(&post(bad).await.json().await.unwrap()), ["access:invalid"]);
        // PUT honours them too; synthetic_responses is read-only.
        let mut open_again = got.clone();
        open_again["access"] = json!("open");
        open_again["status"] = json!("open");
        let res = app.admin(reqwest::Method::PUT, "/api/v1/surveys/panel-2027", &admin).json(&open_again).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["access"], "open");
        open_again["synthetic_responses"] = json!(true);
        let res = app.admin(reqwest::Method::PUT, "/api/v1/surveys/panel-2027", &admin).json(&open_again).send().await.unwrap();
        assert_eq!(problems(&res.json().await.unwrap()), ["synthetic_responses:read_only"]);
        // Events refuse unknown fields and dates no calendar needs.
        let res = app.admin(reqwest::Method::POST, "/api/v1/events", &admin).json(&json!({"date": "2024-01-01", "label_ru": "x", "label_en": "x", "url": "https://x"})).send().await.unwrap();
        assert_eq!(problems(&res.json().await.unwrap()), ["url:wrong_shape"]);
        let res = app.admin(reqwest::Method::POST, "/api/v1/events", &admin).json(&json!({"date": "-262143-01-01", "label_ru": "x", "label_en": "x"})).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let res = app.admin(reqwest::Method::POST, "/api/v1/events", &admin).json(&json!({"date": "0001-01-01", "label_ru": "x", "label_en": "x"})).send().await.unwrap();
        assert_eq!(problems(&res.json().await.unwrap()), ["date:out_of_range"]);
    }

    async fn a_question_with_answers_may_change_its_labels_but_not_its_structure(app) {
        app.with_demo_survey();
        let admin = app.token(Role::Admin);
        assert_eq!(app.submit(json!({"portal_account": "active", "portal_trust": 4, "leak_worry": 2})).await.status(), 201);
        let put = |def: &Value| { let request = app.admin(reqwest::Method::PUT, "/api/v1/surveys/digital-trust", &admin).json(def); async move { request.send().await.unwrap() } };
        let mut def: Value = app.get("/api/v1/surveys/digital-trust").await.json().await.unwrap();
        def["questions"][2]["prompt"]["en"] = json!("How worried are you about leaks?");
        def["questions"][2]["scale"]["high"]["ru"] = json!("5 — очень");
        let res = put(&def).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["questions"][2]["prompt"]["en"], "How worried are you about leaks?");

        let mut changed = def.clone();
        changed["questions"][2]["scale"]["max"] = json!(7);
        let res = put(&changed).await;
        assert_eq!(res.status(), 409);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "answered_question_changed");
        // Removing an answered question is a change too; an unanswered one may change.
        let mut removed = def.clone();
        removed["questions"].as_array_mut().unwrap().remove(0);
        assert_eq!(put(&removed).await.status(), 409);
        // Retiring an answered question takes it off the form and keeps its history.
        let mut retired = def.clone();
        retired["questions"][2]["retired"] = json!(true);
        assert_eq!(put(&retired).await.status(), 200);
        let html = app.get("/s/digital-trust").await.text().await.unwrap();
        assert!(!html.contains(r#"id="q-leak_worry""#));
        let res = app.submit(json!({"portal_account": "active", "portal_trust": 4, "leak_worry": 2})).await;
        assert_eq!(res.status(), 422);
        assert_eq!(res.json::<Value>().await.unwrap()["details"][0]["problem"], "unknown_question");
        let got: Value = app.get("/api/v1/surveys/digital-trust").await.json().await.unwrap();
        assert_eq!(got["questions"][2]["retired"], true);
        let mut unanswered = def.clone();
        unanswered["questions"][3]["scale"]["max"] = json!(7);
        assert_eq!(put(&unanswered).await.status(), 200);
    }

    async fn admins_close_and_reopen_a_survey(app) {
        app.with_demo_survey();
        let admin = app.token(Role::Admin);
        let patch = |body: Value| { let request = app.admin(reqwest::Method::PATCH, "/api/v1/surveys/digital-trust", &admin).json(&body); async move { request.send().await.unwrap() } };
        assert_eq!(patch(json!({"status": "closed"})).await.status(), 200);
        let res = app.submit(minimal_answers()).await;
        assert_eq!(res.status(), 409);
        assert_eq!(app.get("/s/digital-trust").await.status(), 409);
        assert_eq!(patch(json!({"status": "open"})).await.status(), 200);
        assert_eq!(app.submit(minimal_answers()).await.status(), 201);
        assert_eq!(patch(json!({"status": "ajar"})).await.status(), 422);
    }

    async fn waves_never_overlap_and_keep_their_responses(app) {
        app.with_demo_survey();
        let admin = app.token(Role::Admin);
        let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Moscow).date_naive();
        let day = |d: i64| (today + chrono::Duration::days(d)).to_string();
        let post = |body: Value| { let request = app.admin(reqwest::Method::POST, "/api/v1/surveys/digital-trust/waves", &admin).json(&body); async move { request.send().await.unwrap() } };
        let res = post(json!({"label": "W1", "opens": day(-3), "closes": day(3)})).await;
        assert_eq!(res.status(), 201);
        let w1 = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let res = post(json!({"label": "W2", "opens": day(3), "closes": day(9)})).await;
        assert_eq!(res.status(), 422);
        assert_eq!(problems(&res.json().await.unwrap()), ["opens:overlaps"]);
        let res = post(json!({"label": "W2", "opens": day(20), "closes": day(10)})).await;
        assert_eq!(problems(&res.json().await.unwrap()), ["closes:before_opens"]);
        let res = post(json!({"label": "W2", "opens": day(10), "closes": day(20)})).await;
        assert_eq!(res.status(), 201);
        let w2 = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let list: Value = app.admin(reqwest::Method::GET, "/api/v1/surveys/digital-trust/waves", &admin).send().await.unwrap().json().await.unwrap();
        assert_eq!(list["waves"].as_array().unwrap().len(), 2);

        assert_eq!(app.submit(minimal_answers()).await.status(), 201);
        let delete = |id: i64| { let request = app.admin(reqwest::Method::DELETE, &format!("/api/v1/surveys/digital-trust/waves/{id}"), &admin); async move { request.send().await.unwrap() } };
        assert_eq!(delete(w1).await.status(), 409, "W1 has a response");
        assert_eq!(delete(w2).await.status(), 204);
        assert_eq!(delete(w2).await.status(), 404);
    }

    async fn events_are_added_checked_and_deleted(app) {
        let admin = app.token(Role::Admin);
        let post = |body: Value| { let request = app.admin(reqwest::Method::POST, "/api/v1/events", &admin).json(&body); async move { request.send().await.unwrap() } };
        let event = json!({"date": "2024-09-01", "label_ru": "Новый закон", "label_en": "New law", "source_url": "https://example.org/law"});
        let res = post(event.clone()).await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        assert_eq!(post(event).await.status(), 409);
        let res = post(json!({"date": "2024-09-02", "label_ru": " ", "label_en": "x", "source_url": "ftp://x"})).await;
        assert_eq!(problems(&res.json().await.unwrap()), ["label_ru:invalid", "source_url:invalid_url"]);
        assert_eq!(post(json!({"date": "2024-13-01", "label_ru": "a", "label_en": "b"})).await.status(), 422);
        let events: Value = app.get("/api/v1/events").await.json().await.unwrap();
        assert_eq!(events["events"][0]["source_url"], "https://example.org/law");
        let delete = || { let request = app.admin(reqwest::Method::DELETE, &format!("/api/v1/events/{id}"), &admin); async move { request.send().await.unwrap() } };
        assert_eq!(delete().await.status(), 204);
        assert_eq!(delete().await.status(), 404);
    }

    async fn targets_are_validated_published_and_removable(app) {
        app.with_demo_survey();
        let admin = app.token(Role::Admin);
        let demo: Value = app.get("/api/v1/surveys/digital-trust/targets").await.json().await.unwrap();
        assert!(demo["source"].as_str().unwrap().starts_with("Illustrative"));
        assert_eq!(demo["targets"]["settlement"]["village"], 0.25);
        let put = |body: Value| { let request = app.admin(reqwest::Method::PUT, "/api/v1/surveys/digital-trust/targets", &admin).json(&body); async move { request.send().await.unwrap() } };
        let res = put(json!({"targets": {"settlement": {"city": 0.6, "town": 0.3, "village": 0.2}, "comment": {"x": 1.0}}})).await;
        assert_eq!(res.status(), 422);
        assert_eq!(problems(&res.json().await.unwrap()), ["targets.comment:unknown_dimension", "targets.settlement:sum_not_one"]);
        // What GET returns, PUT takes back, source included.
        assert_eq!(put(demo.clone()).await.status(), 200);
        let now: Value = app.get("/api/v1/surveys/digital-trust/targets").await.json().await.unwrap();
        assert_eq!(now, demo);
        let res = put(json!({"targets": {"settlement": {"city": 0.5, "town": 0.3, "village": 0.2}}, "source": "Census 2021"})).await;
        assert_eq!(res.status(), 200);
        let now: Value = app.get("/api/v1/surveys/digital-trust/targets").await.json().await.unwrap();
        assert_eq!(now, json!({"targets": {"settlement": {"city": 0.5, "town": 0.3, "village": 0.2}}, "source": "Census 2021"}));
        // The source is shown with weighted series.
        let series = app.get_exact("/api/v1/surveys/digital-trust/series?question=portal_trust").await.json::<Value>().await.unwrap();
        assert_eq!(series["meta"]["weighting"]["source"], "Census 2021");
        // The bare map of older clients, or a typo, is refused by name.
        let res = put(json!({"settlement": {"city": 0.5, "town": 0.3, "village": 0.2}})).await;
        assert_eq!(res.status(), 422);
        assert_eq!(problems(&res.json().await.unwrap()), ["settlement:wrong_shape"]);
        let res = put(json!({"targets": {}, "sorce": "x"})).await;
        assert_eq!(problems(&res.json().await.unwrap()), ["sorce:wrong_shape"]);
        assert_eq!(put(json!({"targets": {}})).await.status(), 200);
        let now: Value = app.get("/api/v1/surveys/digital-trust/targets").await.json().await.unwrap();
        assert_eq!(now["targets"], json!({}));
    }

    async fn an_invitation_answers_once_and_leaves_no_link_to_its_response(app) {
        let survey_id = app.with_demo_survey();
        let admin = app.token(Role::Admin);
        app.admin(reqwest::Method::PATCH, "/api/v1/surveys/digital-trust", &admin).json(&json!({"access": "invitation"})).send().await.unwrap();
        let res = app.admin(reqwest::Method::POST, "/api/v1/surveys/digital-trust/invitations", &admin).json(&json!({"count": 3})).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let codes: Vec<String> = serde_json::from_value(res.json::<Value>().await.unwrap()["codes"].clone()).unwrap();
        assert_eq!(codes.len(), 3);
        for bad in [json!({"count": 0}), json!({"count": 10001}), json!({"count": 2, "colour": "red"})] {
            let res = app
                .admin(reqwest::Method::POST, "/api/v1/surveys/digital-trust/invitations", &admin)
                .json(&bad)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 422, "{bad}");
        }

        let with_code = |code: Option<&str>| {
            let mut body = json!({"answers": minimal_answers()});
            if let Some(code) = code { body["invitation"] = json!(code); }
            let request = app.client.post(app.url(SUBMIT)).json(&body);
            async move { request.send().await.unwrap() }
        };
        assert_eq!(with_code(None).await.status(), 403);
        assert_eq!(with_code(Some("AAAA-BBBB-CCCC")).await.status(), 403);
        let res = with_code(Some(&codes[0])).await;
        assert_eq!(res.status(), 201);
        let response_id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let again = with_code(Some(&codes[0].to_lowercase())).await;
        assert_eq!(again.status(), 409);
        assert_eq!(again.json::<Value>().await.unwrap()["error"], "invitation_spent");

        // The form: no code, a spent code, then a good one through to the end.
        assert_eq!(app.get("/s/digital-trust?lang=en").await.status(), 403);
        let res = app.get(&format!("/s/digital-trust?lang=en&i={}", codes[0])).await;
        assert_eq!(res.status(), 409);
        assert!(res.text().await.unwrap().contains("already been used"));
        let path = format!("/s/digital-trust?lang=en&i={}", codes[1]);
        let form = app.render_form(&path).await;
        assert_eq!(hidden_field(&form.html, "invitation").as_deref(), Some(codes[1].as_str()));
        let res = app.post_form(FORM, &[
            ("submission_id", &form.submission_id), ("form_token", &form.form_token), ("invitation", &codes[1]),
            ("lang", "en"), ("portal_account", "never"), ("portal_trust", "1"),
        ]).await;
        assert_eq!(res.status(), 303);
        assert_eq!(app.get(&path).await.status(), 409);
        assert_eq!(app.response_count(survey_id), 2);

        // Unlinkable: a spent code is a hash and a flag, and a response names no code.
        use trustpulse::db::schema::{invitations, responses};
        let mut conn = app.store.get().unwrap();
        let spent: Vec<(i32, bool, String)> = invitations::table.order(invitations::id).select((invitations::id, invitations::spent, invitations::code_hash)).load(&mut *conn).unwrap();
        assert_eq!(spent.iter().map(|r| r.1).collect::<Vec<_>>(), [true, true, false]);
        for (_, _, hash) in &spent {
            assert!(!codes.iter().any(|c| hash.contains(c.as_str())), "codes are stored hashed");
        }
        let row: (String, Option<i32>, String) = responses::table.find(&response_id).select((responses::id, responses::wave_id, responses::answers)).first(&mut *conn).unwrap();
        assert!(!row.2.contains(&codes[0]));
        assert!(!spent.iter().any(|(id, _, hash)| row.2.contains(hash.as_str()) || row.1 == Some(*id)));
    }

    async fn a_code_for_one_wave_does_not_answer_another(app) {
        let survey_id = app.with_demo_survey();
        let admin = app.token(Role::Admin);
        let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Moscow).date_naive();
        let mut conn = app.store.get().unwrap();
        let later = db::surveys::insert_wave(&mut conn, survey_id, "later", today + chrono::Duration::days(30), today + chrono::Duration::days(40)).unwrap();
        db::surveys::insert_wave(&mut conn, survey_id, "now", today, today).unwrap();
        app.admin(reqwest::Method::PATCH, "/api/v1/surveys/digital-trust", &admin).json(&json!({"access": "invitation"})).send().await.unwrap();
        let res = app.admin(reqwest::Method::POST, "/api/v1/surveys/digital-trust/invitations", &admin).json(&json!({"count": 1, "wave": later})).send().await.unwrap();
        let code = res.json::<Value>().await.unwrap()["codes"][0].as_str().unwrap().to_string();
        let res = app.post_json(SUBMIT, &json!({"invitation": code, "answers": minimal_answers()})).await;
        assert_eq!(res.status(), 403);
        let res = app.admin(reqwest::Method::POST, "/api/v1/surveys/digital-trust/invitations", &admin).json(&json!({"count": 1, "wave": 99999})).send().await.unwrap();
        assert_eq!(res.status(), 422);
    }

    async fn a_form_without_a_valid_token_is_refused_with_every_answer_kept(app) {
        let survey_id = app.with_demo_survey();
        let form = app.render_form("/s/digital-trust?lang=en").await;
        let answers = [("lang", "en"), ("portal_account", "deleted"), ("portal_trust", "2"), ("comment", "my words")];
        let mut fields = vec![("submission_id", form.submission_id.as_str())];
        fields.extend_from_slice(&answers);
        let res = app.post_form(FORM, &fields).await;
        assert_eq!(res.status(), 403);
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"name="portal_account" value="deleted" checked"#));
        assert!(html.contains("my words"));
        let fresh = hidden_field(&html, "form_token").unwrap();
        assert_ne!(fresh, form.form_token);
        // A token made for another render does not fit this submission id.
        let other = app.render_form(FORM).await;
        let mut forged = vec![("submission_id", form.submission_id.as_str()), ("form_token", other.form_token.as_str())];
        forged.extend_from_slice(&answers);
        assert_eq!(app.post_form(FORM, &forged).await.status(), 403);
        assert_eq!(app.response_count(survey_id), 0);
        // The fresh form that came back goes through.
        let sid = hidden_field(&html, "submission_id").unwrap();
        let mut retry = vec![("submission_id", sid.as_str()), ("form_token", fresh.as_str())];
        retry.extend_from_slice(&answers);
        assert_eq!(app.post_form(FORM, &retry).await.status(), 303);
        assert_eq!(app.response_count(survey_id), 1);
    }

    async fn an_admin_removes_a_spam_response(app) {
        let survey_id = app.with_demo_survey();
        let admin = app.token(Role::Admin);
        let id = app.submit(minimal_answers()).await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let delete = || { let request = app.admin(reqwest::Method::DELETE, &format!("/api/v1/surveys/digital-trust/responses/{id}"), &admin); async move { request.send().await.unwrap() } };
        assert_eq!(delete().await.status(), 204);
        assert_eq!(app.response_count(survey_id), 0);
        assert_eq!(delete().await.status(), 404);
    }

    async fn html_and_json_carry_the_security_headers(app) {
        app.with_demo_survey();
        for path in ["/s/digital-trust", "/api/v1/surveys", "/healthz"] {
            let res = app.get(path).await;
            let h = res.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{path}: {csp}");
            assert!(!csp.contains("unsafe-inline"));
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert_eq!(h["referrer-policy"], "no-referrer");
        }
    }
}

#[tokio::test]
async fn a_form_rendered_by_one_instance_is_accepted_by_another() {
    let first = spawn_app(Backend::Sqlite).await.unwrap();
    let survey_id = first.with_demo_survey();
    let form = first.render_form(FORM).await;
    // A second server on the same store: the form key lives in the store.
    let second_store = db::Store::open(&first.test_store.url).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let settings = trustpulse::config::Settings::new(first.test_store.url.clone());
    for server in trustpulse::start_server(settings, second_store, listener, None).unwrap() {
        tokio::spawn(server);
    }
    let res = first
        .client
        .post(format!("{address}{FORM}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("submission_id", form.submission_id.as_str()),
                ("form_token", form.form_token.as_str()),
                ("portal_account", "active"),
                ("portal_trust", "3"),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(first.response_count(survey_id), 1);
}

#[tokio::test]
async fn submissions_over_the_rate_get_429_with_retry_after_and_the_form_keeps_its_answers() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.submit_rate = 3)
        .await
        .unwrap();
    let survey_id = app.with_demo_survey();
    for _ in 0..3 {
        assert_eq!(app.submit(minimal_answers()).await.status(), 201);
    }
    let res = app.submit(minimal_answers()).await;
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "rate_limited");
    let res = app
        .post_rendered(
            "/s/digital-trust?lang=en",
            &[
                ("lang", "en"),
                ("portal_account", "never"),
                ("comment", "kept"),
            ],
        )
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"value="never" checked"#) && html.contains("kept"));
    assert_eq!(app.response_count(survey_id), 3);
}

/// `(METHOD, /path)` of every `/api/` route the server registers: the route
/// table `configure` builds the app from.
fn api_routes() -> BTreeSet<(String, String)> {
    trustpulse::routes::route_table()
        .into_iter()
        .filter(|(path, _)| path.starts_with("/api/"))
        .flat_map(|(path, methods)| {
            methods
                .into_iter()
                .map(move |m| (m.to_string(), path.to_string()))
        })
        .collect()
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

#[tokio::test]
async fn the_openapi_document_describes_every_api_route_and_the_server_serves_each_operation() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    app.with_demo_survey();
    let admin = app.token(Role::Admin);
    // Real ids for the paths that name one, so that each operation reaches
    // its handler: a response (before any wave: then every day takes one),
    // a wave without responses, an event.
    let receipt: Value = app.submit(minimal_answers()).await.json().await.unwrap();
    let response_id = receipt["id"].as_str().unwrap().to_string();
    let send = |method: reqwest::Method, path: &str, body: Value| {
        app.admin(method, path, &admin).json(&body).send()
    };
    let wave: Value = send(
        reqwest::Method::POST,
        "/api/v1/surveys/digital-trust/waves",
        json!({"label": "w", "opens": "2031-01-01", "closes": "2031-01-31"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let event: Value = send(
        reqwest::Method::POST,
        "/api/v1/events",
        json!({"date": "2024-05-01", "label_ru": "x", "label_en": "x"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();

    let res = app.get("/api/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for scheme in ["bearerAuth", "basicAuth"] {
        assert_eq!(
            doc["components"]["securitySchemes"][scheme]["type"], "http",
            "{scheme}"
        );
    }
    assert!(doc["components"]["schemas"]["Error"]["properties"]["details"].is_object());
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routed = api_routes();
    assert!(routed.len() >= 20, "{routed:?}");
    let api_documented: BTreeSet<_> = documented
        .iter()
        .filter(|(_, p)| p.starts_with("/api/"))
        .cloned()
        .collect();
    assert_eq!(api_documented, routed, "documented vs routed");

    // On the live server: each documented operation reaches a handler (no
    // router 404 or 405) and answers a status the document lists for it;
    // every other method on a documented path is 405; an unknown path 404.
    let concrete = |path: &str| {
        let id = if path.starts_with("/api/v1/events/") {
            event["id"].to_string()
        } else if path.contains("/waves/") {
            wave["id"].to_string()
        } else {
            response_id.clone()
        };
        let query = if path.ends_with("/series")
            || path.ends_with("/series.csv")
            || path.ends_with("/shifts")
            || path.ends_with("/changepoints")
        {
            "?question=portal_trust"
        } else {
            ""
        };
        format!(
            "{}{query}",
            path.replace("{slug}", "digital-trust").replace("{id}", &id)
        )
    };
    for (method, path) in &documented {
        let op = &doc["paths"][path][method.to_lowercase()];
        let mut request = app.admin(method.parse().unwrap(), &concrete(path), &admin);
        if op.get("requestBody").is_some() {
            request = request.json(&json!({}));
        }
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        assert!(
            status != 404 && status != 405,
            "{method} {path}: {status} {}",
            res.text().await.unwrap()
        );
        assert!(
            op["responses"].get(status.to_string()).is_some(),
            "{method} {path} answered {status}, which it does not document"
        );
    }
    // A parameter no endpoint takes: refused (422) where the query is read,
    // ignored elsewhere; either way a status the document lists.
    for (method, path) in documented.iter().filter(|(m, _)| m == "GET") {
        let url = concrete(path);
        let url = format!("{url}{}zz=1", if url.contains('?') { '&' } else { '?' });
        let status = app
            .admin(reqwest::Method::GET, &url, &admin)
            .send()
            .await
            .unwrap()
            .status();
        let op = &doc["paths"][path]["get"];
        assert!(
            op["responses"].get(status.as_str()).is_some(),
            "{method} {url} answered {status}, which it does not document"
        );
    }
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        for method in METHODS
            .iter()
            .filter(|m| !documented.contains(&(m.to_string(), path.clone())))
        {
            let res = app
                .admin(method.parse().unwrap(), &concrete(path), &admin)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 405, "{method} {path}");
        }
    }
    assert_eq!(app.get("/api/v1/no-such-resource").await.status(), 404);
}

#[tokio::test]
async fn a_client_too_slow_to_send_its_request_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.request_timeout = std::time::Duration::from_millis(500)
    })
    .await
    .unwrap();
    let address = app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"POST /api/v1/surveys/digital-trust/responses HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the server kept a half-sent request open");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}
