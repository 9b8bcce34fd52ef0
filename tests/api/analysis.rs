//! Series, shifts and change points against hand-worked values, on both stores.

use chrono::NaiveDate;
use trustpulse::auth::Role;
use trustpulse::db::{self, aggregates};
use trustpulse::submission;
use trustpulse::survey::{Lang, answers};

use crate::helpers::*;
use crate::on_both_stores;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

impl TestApp {
    /// Stores answers dated `date` (validated, with aggregates), as an import would.
    pub fn store(&self, date: &str, answers: Value, weight: f64) -> String {
        let mut conn = self.store.get().unwrap();
        let survey = db::surveys::find_by_slug(&mut conn, "digital-trust")
            .unwrap()
            .unwrap();
        let valid = answers::validate(&survey.definition, answers.as_object().unwrap()).unwrap();
        submission::store_dated(
            &mut conn,
            &survey,
            day(date),
            None,
            Lang::Ru,
            &valid,
            weight,
        )
        .unwrap()
    }

    /// The demo survey with no targets: series are unweighted.
    pub fn unweighted_demo(&self) -> i32 {
        let id = self.with_demo_survey();
        db::targets::replace(
            &mut self.store.get().unwrap(),
            id,
            &Default::default(),
            None,
        )
        .unwrap();
        id
    }

    /// GET as a researcher: exact figures, today included.
    pub async fn get_exact(&self, path: &str) -> reqwest::Response {
        let token = self.token(Role::Researcher);
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// An exact series (researcher token).
    pub async fn series(&self, query: &str) -> Value {
        let res = self
            .get_exact(&format!("/api/v1/surveys/digital-trust/series?{query}"))
            .await;
        assert_eq!(res.status(), 200, "{query}");
        res.json().await.unwrap()
    }
}

fn trust(v: Value, settlement: &str) -> Value {
    json!({"portal_account": "active", "portal_trust": v, "settlement": settlement})
}

/// Ten answers 1,2,3,4,5,1,2,3,4,5 and one "don't know", in January 2024.
fn store_january(app: &TestApp) {
    for (i, v) in [1, 2, 3, 4, 5, 1, 2, 3, 4, 5].iter().enumerate() {
        app.store(
            &format!("2024-01-{:02}", 3 + i),
            trust(json!(v), "city"),
            1.0,
        );
    }
    app.store("2024-01-20", trust(json!("dk"), "city"), 1.0);
}

async fn spawn_small_cells(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.submit_rate = 100_000;
        s.min_cell = 10;
    })
    .await
}

macro_rules! on_both_stores_small_cells {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                use super::*;
                async fn run($app: TestApp) $body
                #[tokio::test]
                async fn sqlite() { run(spawn_small_cells(Backend::Sqlite).await.unwrap()).await }
                #[tokio::test]
                async fn postgres() { if let Some(app) = spawn_small_cells(Backend::Postgres).await { run(app).await } }
            }
        )*
    };
}

fn point(body: &Value, i: usize) -> &Value {
    &body["points"][i]
}

fn close(v: &Value, expected: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    assert!((got - expected).abs() < 1e-3, "{got} vs {expected}");
}

on_both_stores_small_cells! {
    async fn a_monthly_mean_top2_net_and_dk_share_match_hand_worked_values(app) {
        app.unweighted_demo();
        store_january(&app);
        // mean 3, SE = √(10/9 · 20/100) = 0.471405, t(0.975, 9) = 2.262157
        let body = app.series("question=portal_trust&from=2024-01-01&to=2024-01-31").await;
        assert_eq!(body["meta"]["metric"], "mean");
        assert_eq!(body["meta"]["weighting"]["weighted"], false);
        let p = point(&body, 0);
        assert_eq!((p["period_start"].as_str(), p["n"].as_i64(), p["suppressed"].as_bool()), (Some("2024-01-01"), Some(10), Some(false)));
        close(&p["value"], 3.0);
        close(&p["ci_low"], 1.933609);
        close(&p["ci_high"], 4.066391);
        close(&p["n_eff"], 10.0);
        // top2: 4 of 10 = 40%, Wilson at 10 = [16.818, 68.7326]
        let p = app.series("question=portal_trust&metric=top2&from=2024-01-01&to=2024-01-31").await;
        close(&point(&p, 0)["value"], 40.0);
        close(&point(&p, 0)["ci_low"], 16.818);
        close(&point(&p, 0)["ci_high"], 68.7326);
        // net: 4 − 4 = 0 points
        let p = app.series("question=portal_trust&metric=net&from=2024-01-01&to=2024-01-31").await;
        close(&point(&p, 0)["value"], 0.0);
        // "don't know" over every answer: 1 of 11, Wilson = [1.6232, 37.7358]
        let p = app.series("question=portal_trust&metric=share&option=dk&from=2024-01-01&to=2024-01-31").await;
        assert_eq!(point(&p, 0)["n"], 11);
        close(&point(&p, 0)["value"], 100.0 / 11.0);
        close(&point(&p, 0)["ci_low"], 1.6232);
        close(&point(&p, 0)["ci_high"], 37.7358);
    }

    async fn empty_periods_are_points_with_n_zero_and_the_range_widens_to_whole_periods(app) {
        app.unweighted_demo();
        store_january(&app);
        app.store("2024-03-05", trust(json!(4), "city"), 1.0);
        let body = app.series("question=portal_trust&from=2024-01-15&to=2024-03-02").await;
        assert_eq!(body["meta"]["from"], "2024-01-01");
        assert_eq!(body["meta"]["to"], "2024-03-31");
        let points = body["points"].as_array().unwrap();
        assert_eq!(points.len(), 3);
        assert_eq!(points[1]["period_start"], "2024-02-01");
        assert_eq!((points[1]["n"].as_i64(), points[1]["suppressed"].as_bool(), points[1]["value"].is_null()), (Some(0), Some(true), true));
        // March has one answer: below the minimum cell, suppressed with no value.
        assert_eq!((points[2]["n"].as_i64(), points[2]["suppressed"].as_bool(), points[2]["value"].is_null()), (Some(1), Some(true), true));
        let weekly = app.series("question=portal_trust&interval=week&from=2024-01-03&to=2024-01-03").await;
        assert_eq!(weekly["meta"]["from"], "2024-01-01");
        assert_eq!(weekly["meta"]["to"], "2024-01-07");
        assert_eq!(weekly["points"][0]["n"], 5);
    }

    async fn one_hidden_group_also_hides_the_next_smallest(app) {
        app.unweighted_demo();
        for i in 0..12 { app.store("2024-01-10", trust(json!(1 + i % 5), "city"), 1.0); }
        for i in 0..3 { app.store("2024-01-10", trust(json!(1 + i % 5), "town"), 1.0); }
        for i in 0..11 { app.store("2024-01-10", trust(json!(1 + i % 5), "village"), 1.0); }
        let body = app.series("question=portal_trust&by=settlement&from=2024-01-01&to=2024-01-31").await;
        let shown: Vec<(String, bool)> = body["points"].as_array().unwrap().iter()
            .map(|p| (p["group"].as_str().unwrap().to_string(), p["suppressed"].as_bool().unwrap())).collect();
        assert_eq!(shown, [("city".to_string(), false), ("town".to_string(), true), ("village".to_string(), true)]);
        assert!(body["points"][2]["value"].is_null());
        assert_eq!(body["meta"]["groups"], json!(["city", "town", "village"]));
    }

    async fn raking_to_targets_moves_a_share_as_worked_by_hand(app) {
        let survey_id = app.with_demo_survey();
        db::targets::replace(&mut app.store.get().unwrap(), survey_id,
            &serde_json::from_value(json!({"settlement": {"city": 0.5, "town": 0.5}})).unwrap(), None).unwrap();
        for _ in 0..20 { app.store("2024-01-10", trust(json!(5), "city"), 1.0); }
        for _ in 0..10 { app.store("2024-01-11", trust(json!(1), "town"), 1.0); }
        // Unweighted top2 = 20/30; raked, each settlement carries half: 50%.
        // g(city) = 0.75, g(town) = 1.5: n_eff = 30² / (20·0.75² + 10·1.5²) = 26.667.
        let body = app.series("question=portal_trust&metric=top2&from=2024-01-01&to=2024-01-31").await;
        let p = point(&body, 0);
        assert_eq!(p["weighted"], true);
        close(&p["value"], 50.0);
        close(&p["n_eff"], 80.0 / 3.0);
        close(&p["ci_low"], 32.2577);
        close(&p["ci_high"], 67.7423);
        let period = &body["meta"]["weighting"]["periods"][0];
        assert_eq!((period["period"].as_str(), period["raked"].as_bool()), (Some("2024-01"), Some(true)));
        close(&period["design_effect"], 1.125);
        let plain = app.series("question=portal_trust&metric=top2&from=2024-01-01&to=2024-01-31&weighted=false").await;
        close(&point(&plain, 0)["value"], 200.0 / 3.0);
        assert_eq!(point(&plain, 0)["weighted"], false);
    }

    async fn a_period_that_cannot_be_raked_says_so_and_uses_base_weights(app) {
        let survey_id = app.with_demo_survey();
        db::targets::replace(&mut app.store.get().unwrap(), survey_id,
            &serde_json::from_value(json!({"settlement": {"city": 0.5, "town": 0.5}})).unwrap(), None).unwrap();
        for _ in 0..12 { app.store("2024-01-10", trust(json!(5), "city"), 1.0); }
        let body = app.series("question=portal_trust&metric=top2&from=2024-01-01&to=2024-01-31").await;
        let period = &body["meta"]["weighting"]["periods"][0];
        assert_eq!(period["raked"], false);
        assert!(period["failure"].as_str().unwrap().contains("town"));
        assert_eq!(point(&body, 0)["weighted"], false);
        close(&point(&body, 0)["value"], 100.0);
        let csv = app.get_exact("/api/v1/surveys/digital-trust/series.csv?question=portal_trust&metric=top2&from=2024-01-01&to=2024-01-31").await.text().await.unwrap();
        assert!(csv.lines().nth(1).unwrap().ends_with(",false,false"), "{csv}");
    }

    async fn smoothing_pools_periods_and_re_estimates(app) {
        app.unweighted_demo();
        for _ in 0..10 { app.store("2024-01-10", trust(json!(5), "city"), 1.0); }
        for _ in 0..30 { app.store("2024-02-10", trust(json!(1), "city"), 1.0); }
        // Pooled Jan+Feb: 10 of 40 in top2 = 25% (not the 50% mean of 100% and 0%).
        let body = app.series("question=portal_trust&metric=top2&smooth=2&from=2024-01-01&to=2024-02-29").await;
        close(&point(&body, 1)["value"], 25.0);
        assert_eq!(point(&body, 1)["n"], 40);
    }

    async fn the_csv_has_the_contract_columns_and_the_json_numbers(app) {
        app.unweighted_demo();
        store_january(&app);
        let res = app.get_exact("/api/v1/surveys/digital-trust/series.csv?question=portal_trust&by=settlement&from=2024-01-01&to=2024-01-31").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let text = res.text().await.unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), "survey,question,metric,option,group_by,group,period_start,interval,n,n_eff,value,ci_low,ci_high,suppressed,weighted");
        assert_eq!(lines.next().unwrap(), "digital-trust,portal_trust,mean,,settlement,city,2024-01-01,month,10,10,3,1.933608886717113,4.0663911132828865,false,false");
        assert_eq!(lines.next().unwrap(), "digital-trust,portal_trust,mean,,settlement,town,2024-01-01,month,0,0,,,,true,false");
    }

    async fn ill_fitting_series_parameters_are_422_and_an_unknown_survey_404(app) {
        app.with_demo_survey();
        for (query, field) in [
            ("question=concerns&metric=mean", "metric"),
            ("question=portal_account&metric=share", "option"),
            ("question=nope", "question"),
            ("question=portal_trust&from=2024-02-01&to=2024-01-01", "from"),
            ("question=portal_trust&interval=wave", "interval"),
            ("question=portal_trust&by=portal_account", "by"),
        ] {
            let res = app.get_exact(&format!("/api/v1/surveys/digital-trust/series?{query}")).await;
            assert_eq!(res.status(), 422, "{query}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["details"][0]["field"], field, "{query}");
        }
        assert_eq!(app.get("/api/v1/surveys/nope/series?question=portal_trust").await.status(), 404);
    }

    async fn aggregates_kept_incrementally_equal_aggregates_built_from_scratch(app) {
        let survey_id = app.with_demo_survey();
        // Submissions, dated stores with odd weights, and removals, interleaved.
        let mut ids = Vec::new();
        for i in 0..40 {
            let account = ["active", "deleted", "never"][i % 3];
            let age = ["18-24", "65+", "na"][i % 3];
            let concerns = if i % 4 == 0 { json!(["none"]) } else { json!(["data_leak", "surveillance"]) };
            let count_trust = if i % 2 == 0 { json!("dk") } else { json!(i % 11) };
            let answers = json!({"portal_account": account, "portal_trust": 1 + i % 5, "concerns": concerns,
                "age_band": age, "region": "ural", "evote_count_trust": count_trust});
            if i % 2 == 0 {
                let res = app.submit(answers).await;
                ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string());
            } else {
                ids.push(app.store(&format!("2023-0{}-1{}", 1 + i % 9, i % 10), answers, 0.25 + (i as f64) / 7.0));
            }
        }
        let mut conn = app.store.get().unwrap();
        let survey = db::surveys::find_by_slug(&mut conn, "digital-trust").unwrap().unwrap();
        for id in ids.iter().step_by(3) {
            assert!(submission::remove(&mut conn, &survey, id).unwrap());
        }
        let kept = aggregates::stored(&mut conn, survey_id).unwrap();
        let scratch = aggregates::scan(&mut conn, survey_id, &survey.definition).unwrap();
        assert_same(&kept, &scratch);
        aggregates::rebuild(&mut conn, survey_id, &survey.definition).unwrap();
        assert_same(&aggregates::stored(&mut conn, survey_id).unwrap(), &scratch);
    }
}

/// Equal up to floating-point rounding of the weight sums.
pub fn assert_same(a: &aggregates::Pending, b: &aggregates::Pending) {
    let (fa, fb) = (a.entries(), b.entries());
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!((&x.0, x.1, x.4), (&y.0, y.1, y.4));
        assert!(
            (x.2 - y.2).abs() < 1e-9 && (x.3 - y.3).abs() < 1e-9,
            "{x:?} vs {y:?}"
        );
    }
}

on_both_stores_small_cells! {
    async fn a_shift_around_a_date_matches_the_hand_calculation(app) {
        app.unweighted_demo();
        // 14 days before 2024-02-01: 8 of 20 in top2 (40%); 14 days from it: 4 of 20 (20%).
        for i in 0..20 { app.store(&format!("2024-01-{}", 18 + i % 14), trust(json!(if i < 8 { 5 } else { 1 }), "city"), 1.0); }
        for i in 0..20 { app.store(&format!("2024-02-{:02}", 1 + i % 14), trust(json!(if i < 4 { 5 } else { 1 }), "town"), 1.0); }
        // Outside both windows: must not count.
        app.store("2024-01-17", trust(json!(5), "city"), 1.0);
        app.store("2024-02-15", trust(json!(5), "city"), 1.0);
        let body: Value = app.get_exact("/api/v1/surveys/digital-trust/shifts?question=portal_trust&metric=top2&date=2024-02-01&window_days=14").await.json().await.unwrap();
        let s = &body["shifts"][0];
        assert_eq!((s["before"]["n"].as_i64(), s["after"]["n"].as_i64()), (Some(20), Some(20)));
        assert_eq!((s["before"]["from"].as_str(), s["before"]["to"].as_str()), (Some("2024-01-18"), Some("2024-01-31")));
        assert_eq!((s["after"]["from"].as_str(), s["after"]["to"].as_str()), (Some("2024-02-01"), Some("2024-02-14")));
        close(&s["before"]["value"], 40.0);
        close(&s["after"]["value"], 20.0);
        // SE_d = √(0.24/19 + 0.16/19)·100 = 14.5095; z = −1.3784; p = 0.16808
        close(&s["difference"], -20.0);
        close(&s["z"], -1.378405);
        close(&s["p"], 0.168078);
        close(&s["ci_low"], -48.438146);
        close(&s["ci_high"], 8.438146);
        assert_eq!(s["suppressed"], false);
        assert!(body["meta"]["multiple_comparisons"].is_null());
    }

    async fn a_step_in_a_series_is_found_as_a_change_point_with_pooled_segments(app) {
        app.unweighted_demo();
        for month in 1..=6 {
            for i in 0..30 {
                let high = if month <= 3 { i < 27 } else { i < 3 };
                app.store(&format!("2024-{month:02}-1{}", i % 9), trust(json!(if high { 5 } else { 1 }), "city"), 1.0);
            }
        }
        let body: Value = app.get_exact("/api/v1/surveys/digital-trust/changepoints?question=portal_trust&metric=top2&from=2024-01-01&to=2024-06-30").await.json().await.unwrap();
        assert!(body["meta"]["exploratory"].as_str().unwrap().starts_with("Exploratory"));
        let g = &body["groups"][0];
        assert_eq!(g["points_used"], 6);
        assert_eq!(g["changes"].as_array().unwrap().len(), 1);
        assert_eq!(g["changes"][0]["period_start"], "2024-04-01");
        // Pooled: 81 of 90 = 90% before, 9 of 90 = 10% after; shift −80 points.
        assert_eq!(g["segments"][0]["n"], 90);
        close(&g["segments"][0]["value"], 90.0);
        close(&g["segments"][1]["value"], 10.0);
        close(&g["changes"][0]["shift"], -80.0);
        assert!(g["penalty"].as_f64().unwrap() > 0.0);
    }

    async fn shift_parameters_that_do_not_fit_are_422(app) {
        app.with_demo_survey();
        for (query, field) in [
            ("question=portal_trust&interval=week", "interval"),
            ("question=portal_trust&event=1&date=2024-01-01", "date"),
            ("question=portal_trust&event=99999", "event"),
            ("question=portal_trust&window_days=0", "window_days"),
        ] {
            let res = app.get_exact(&format!("/api/v1/surveys/digital-trust/shifts?{query}")).await;
            assert_eq!(res.status(), 422, "{query}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["details"][0]["field"], field, "{query}");
        }
    }
}

#[tokio::test]
async fn the_demo_shows_portal_trust_falling_after_the_draft_notice_law() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    db::seed::load_demo(&mut app.store.get().unwrap(), 20_000, 2024, |_| {}).unwrap();
    let events: Value = app.get("/api/v1/events").await.json().await.unwrap();
    let law = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["date"] == "2023-04-11")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let body: Value = app
        .get(&format!(
            "/api/v1/surveys/digital-trust/shifts?question=portal_trust&event={law}"
        ))
        .await
        .json()
        .await
        .unwrap();
    let s = &body["shifts"][0];
    assert_eq!(
        s["event"]["label_en"],
        "State Duma passes the electronic draft-notice law"
    );
    assert_eq!(
        s["before"]["weighted"], true,
        "the demo is raked to its illustrative targets"
    );
    let (d, high, p) = (
        s["difference"].as_f64().unwrap(),
        s["ci_high"].as_f64().unwrap(),
        s["p"].as_f64().unwrap(),
    );
    assert!(d < -0.15 && high < 0.0 && p < 0.001, "{s}");
    // Every event at once, each with its own test.
    let all: Value = app
        .get("/api/v1/surveys/digital-trust/shifts?question=portal_trust")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["shifts"].as_array().unwrap().len(), 4);
    assert!(
        all["meta"]["multiple_comparisons"]
            .as_str()
            .unwrap()
            .contains("not adjusted")
    );
}

on_both_stores! {
    async fn random_histories_keep_the_stored_aggregates_equal_to_a_rebuild(app) {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let survey_id = app.unweighted_demo();
        let mut runner = TestRunner::new(Config { cases: 6, ..Config::default() });
        let history = prop::collection::vec((0u32..40, 1i64..=5, prop::sample::select(vec!["city", "town", "na"]), prop::sample::select(vec![1.0, 0.4, 3.5]), any::<bool>()), 1..25);
        runner
            .run(&history, |steps| {
                let mut conn = app.store.get().unwrap();
                let survey = db::surveys::find_by_slug(&mut conn, "digital-trust").unwrap().unwrap();
                let mut added = Vec::new();
                for (offset, value, settlement, weight, keep) in &steps {
                    let date = (day("2024-03-20") + chrono::Duration::days(i64::from(*offset))).to_string();
                    let id = app.store(&date, trust(json!(value), settlement), *weight);
                    if !keep {
                        added.push(id);
                    }
                }
                for id in added {
                    assert!(submission::remove(&mut conn, &survey, &id).unwrap());
                }
                let kept = aggregates::stored(&mut conn, survey_id).unwrap();
                let scratch = aggregates::scan(&mut conn, survey_id, &survey.definition).unwrap();
                assert_same(&kept, &scratch);
                Ok(())
            })
            .unwrap();
    }
}

on_both_stores_small_cells! {
    async fn a_survey_with_waves_has_one_point_per_wave(app) {
        let survey_id = app.unweighted_demo();
        let mut conn = app.store.get().unwrap();
        let first = db::surveys::insert_wave(&mut conn, survey_id, "W1", day("2024-01-01"), day("2024-01-20")).unwrap();
        let second = db::surveys::insert_wave(&mut conn, survey_id, "W2", day("2024-02-10"), day("2024-03-05")).unwrap();
        let survey = db::surveys::find_by_slug(&mut conn, "digital-trust").unwrap().unwrap();
        for (wave, date, value, count) in [(first, "2024-01-05", 5, 12), (second, "2024-02-20", 1, 10), (second, "2024-03-02", 5, 10)] {
            for _ in 0..count {
                let valid = answers::validate(&survey.definition, trust(json!(value), "city").as_object().unwrap()).unwrap();
                submission::store_dated(&mut conn, &survey, day(date), Some(wave), Lang::En, &valid, 1.0).unwrap();
            }
        }
        let body = app.series("question=portal_trust&metric=top2&interval=wave").await;
        let points = body["points"].as_array().unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!((points[0]["period_start"].as_str(), points[0]["n"].as_i64()), (Some("2024-01-01"), Some(12)));
        close(&points[0]["value"], 100.0);
        // The second wave spans two months and is one point: 10 of 20.
        assert_eq!((points[1]["period_start"].as_str(), points[1]["n"].as_i64()), (Some("2024-02-10"), Some(20)));
        close(&points[1]["value"], 50.0);
    }
}

on_both_stores! {
    async fn kept_store_reads_never_outlive_the_data_they_were_read_from(app) {
        trustpulse::db::seed::load_demo(&mut app.store.get().unwrap(), 2_000, 3, |_| {}).unwrap();
        let weekly = "question=portal_trust&interval=week";
        let total = |v: &Value| v["points"].as_array().unwrap().iter().filter_map(|p| p["n"].as_i64()).sum::<i64>();
        // The same request twice: the second is served from kept reads, equal.
        let first = app.series(weekly).await;
        let again = app.series(weekly).await;
        assert_eq!(first["points"], again["points"]);
        let public_path = "/api/v1/surveys/digital-trust/series?question=portal_trust&interval=month";
        let public: Value = app.get(public_path).await.json().await.unwrap();
        let today = trustpulse::submission::local_today(
            &trustpulse::db::surveys::find_by_slug(&mut app.store.get().unwrap(), "digital-trust").unwrap().unwrap(),
        );
        let shifts_path = format!(
            "/api/v1/surveys/digital-trust/shifts?question=portal_trust&date={}&window_days=7",
            today - chrono::Duration::days(2)
        );
        let after_n = |v: &Value| v["shifts"][0]["after"]["n"].as_i64().unwrap();
        let shifts_before: Value = app.get_exact(&shifts_path).await.json().await.unwrap();
        let again: Value = app.get_exact(&shifts_path).await.json().await.unwrap();
        assert_eq!(shifts_before["shifts"], again["shifts"]);
        // A new answer today: the researcher's figures follow at once, with
        // its weight raked in; the public's stay as they were.
        assert_eq!(app.submit(minimal_answers()).await.status(), 201);
        let after = app.series(weekly).await;
        assert_eq!(total(&after), total(&first) + 1);
        let shifts_after: Value = app.get_exact(&shifts_path).await.json().await.unwrap();
        assert_eq!(after_n(&shifts_after), after_n(&shifts_before) + 1);
        assert_ne!(after["meta"]["data_version"], first["meta"]["data_version"]);
        let public_after: Value = app.get(public_path).await.json().await.unwrap();
        assert_eq!(public_after["points"], public["points"]);
        assert_eq!(public_after["meta"]["weighting"], public["meta"]["weighting"]);
    }
}
