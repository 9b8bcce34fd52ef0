//! Public figures under attack: the differencing attacks that threshold
//! suppression alone lets through, tried against the public API (perturbed,
//! completed periods, coarse query space) and against a researcher token
//! (exact, so the same attack must succeed there).

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate};
use diesel::Connection;
use trustpulse::auth::Role;
use trustpulse::db::{self, aggregates, responses};
use trustpulse::stats::sums::Sums;
use trustpulse::survey::Lang;

use crate::helpers::*;
use crate::on_both_stores;

const SERIES: &str = "/api/v1/surveys/digital-trust/series";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, k: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % k
    }
}

impl TestApp {
    /// Stores many dated responses at once, with their aggregates (the bulk
    /// path the demo loader uses).
    fn store_many(&self, rows: &[(NaiveDate, Value)]) {
        let mut conn = self.store.get().unwrap();
        let survey = db::surveys::find_by_slug(&mut conn, "digital-trust")
            .unwrap()
            .unwrap();
        let mut pending = aggregates::Pending::default();
        let batch: Vec<responses::NewResponse> = rows
            .iter()
            .map(|(date, answers)| {
                let record_key = responses::new_record_key();
                pending.add_response(
                    &survey.definition,
                    *date,
                    None,
                    answers.as_object().unwrap(),
                    Sums::keyed(1.0, record_key as u32),
                    1,
                );
                responses::NewResponse {
                    id: uuid::Uuid::new_v4().to_string(),
                    survey_id: survey.id,
                    wave_id: None,
                    submitted_date: *date,
                    lang: Lang::Ru.as_str().to_string(),
                    submission_id: None,
                    base_weight: 1.0,
                    answers: answers.to_string(),
                    record_key,
                }
            })
            .collect();
        responses::insert_many(&mut conn, &batch).unwrap();
        conn.transaction(|conn| aggregates::apply_bulk(conn, survey.id, &pending))
            .unwrap();
    }

    async fn series_as(&self, token: Option<&str>, query: &str) -> Value {
        let mut request = self.client.get(self.url(&format!("{SERIES}?{query}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let res = request.send().await.unwrap();
        assert_eq!(res.status(), 200, "{query}");
        res.json().await.unwrap()
    }
}

const SMALL_REGIONS: [&str; 5] = ["northwest", "south", "ural", "siberia", "far_east"];
const WEEKS: i64 = 80;

/// 80 weeks from 2024-01-01: 40 answers a week from the central region and
/// 1–4 from each of five small regions; returns the exact count and sum of
/// answers of every small (week, region) cell.
fn small_cells(app: &TestApp, seed: u64) -> HashMap<(NaiveDate, String), (i64, i64)> {
    let mut rng = Lcg(seed);
    let mut rows = Vec::new();
    let mut truth: HashMap<(NaiveDate, String), (i64, i64)> = HashMap::new();
    let start = day("2024-01-01");
    for week in 0..WEEKS {
        let monday = start + Duration::weeks(week);
        let mut add = |region: &str, rng: &mut Lcg| {
            let trust = 1 + rng.below(5) as i64;
            let date = monday + Duration::days(rng.below(7) as i64);
            rows.push((
                date,
                json!({"portal_account": "active", "portal_trust": trust, "region": region}),
            ));
            trust
        };
        for _ in 0..40 {
            add("central", &mut rng);
        }
        for region in SMALL_REGIONS {
            let k = 1 + rng.below(4) as i64;
            for _ in 0..k {
                let trust = add(region, &mut rng);
                let cell = truth.entry((monday, region.to_string())).or_default();
                cell.0 += 1;
                cell.1 += trust;
            }
        }
    }
    app.store_many(&rows);
    truth
}

/// (smooth, period_start, group) → (n, n × value) of every shown point of
/// every smoothing window the API allows (1–52 weeks), weekly by region.
type Windows = HashMap<(i64, NaiveDate, String), (f64, f64)>;

async fn windows(app: &TestApp, token: Option<&str>) -> Windows {
    let mut shown = Windows::new();
    for smooth in 1..=52 {
        let body = app
            .series_as(
                token,
                &format!(
                    "question=portal_trust&interval=week&by=region&weighted=false&smooth={smooth}"
                ),
            )
            .await;
        for p in body["points"].as_array().unwrap() {
            if p["suppressed"] == true {
                continue;
            }
            let (n, v) = (p["n"].as_f64().unwrap(), p["value"].as_f64().unwrap());
            let start = day(p["period_start"].as_str().unwrap());
            shown.insert(
                (smooth, start, p["group"].as_str().unwrap().into()),
                (n, n * v),
            );
        }
    }
    shown
}

/// Every pair of shown windows that differ by exactly one week of one region:
/// (N ending at e) − (N−1 ending at e), and (N ending at w) − (N−1 ending at
/// w−1); each gives that week's (count, sum of answers).
fn decompositions(shown: &Windows, week: NaiveDate, region: &str) -> Vec<(f64, f64)> {
    let mut estimates = Vec::new();
    for n in 2..=52i64 {
        let pairs = [
            (week + Duration::weeks(n - 1), week + Duration::weeks(n - 1)),
            (week, week - Duration::weeks(1)),
        ];
        for (k, (end_a, end_b)) in pairs.into_iter().enumerate() {
            // A window reaching before the first week is cut short.
            if k == 1 && week - Duration::weeks(n - 1) < day("2024-01-01") {
                continue;
            }
            let a = shown.get(&(n, end_a, region.to_string()));
            let b = shown.get(&(n - 1, end_b, region.to_string()));
            if let (Some(a), Some(b)) = (a, b) {
                estimates.push((a.0 - b.0, a.1 - b.1));
            }
        }
    }
    estimates
}

/// The attacker averages every decomposition of each small cell. Returns the
/// share of cells whose count and sum of answers both come out right when
/// rounded, and how many cells had at least one decomposition.
async fn attack(
    app: &TestApp,
    token: Option<&str>,
    truth: &HashMap<(NaiveDate, String), (i64, i64)>,
) -> (f64, usize) {
    let shown = windows(app, token).await;
    let (mut recovered, mut attacked) = (0, 0);
    for ((week, region), (count, sum)) in truth {
        let estimates = decompositions(&shown, *week, region);
        if estimates.is_empty() {
            continue;
        }
        attacked += 1;
        let k = estimates.len() as f64;
        let n = estimates.iter().map(|e| e.0).sum::<f64>() / k;
        let s = estimates.iter().map(|e| e.1).sum::<f64>() / k;
        if n.round() as i64 == *count && s.round() as i64 == *sum {
            recovered += 1;
        }
    }
    (recovered as f64 / attacked.max(1) as f64, attacked)
}

on_both_stores! {
    async fn averaging_every_public_decomposition_does_not_recover_small_weekly_cells(app) {
        app.unweighted_demo();
        let truth = small_cells(&app, 7);
        assert_eq!(truth.len(), 400);
        let (public_rate, attacked) = attack(&app, None, &truth).await;
        assert!(attacked >= 380, "the public windows should reach almost every cell: {attacked}");
        eprintln!("small weekly cells recovered from public figures: {:.1}% of {attacked}", public_rate * 100.0);
        assert!(public_rate < 0.10, "public figures gave away {:.1}% of small cells", public_rate * 100.0);
        // The same requests with a researcher token are exact: the attack works there.
        let token = app.token(Role::Researcher);
        let (exact_rate, _) = attack(&app, Some(&token), &truth).await;
        assert!(exact_rate > 0.99, "exact figures must difference exactly: {exact_rate}");
    }

    async fn a_small_cell_rebuilt_from_public_windows_shows_no_ones_real_answers(app) {
        app.unweighted_demo();
        // Everyone in three small regions answers 5, one to three of them a week.
        let mut rng = Lcg(5);
        let mut rows = Vec::new();
        let start = day("2024-01-01");
        for week in 0..WEEKS {
            let monday = start + Duration::weeks(week);
            for _ in 0..40 {
                rows.push((monday + Duration::days(rng.below(7) as i64), json!({"portal_account": "active", "portal_trust": 1 + rng.below(5), "region": "central"})));
            }
            for region in ["far_east", "siberia", "ural"] {
                for _ in 0..1 + rng.below(3) {
                    rows.push((monday + Duration::days(rng.below(7) as i64), json!({"portal_account": "active", "portal_trust": 5, "region": region})));
                }
            }
        }
        app.store_many(&rows);
        // Share of rebuilt cells of 1-3 respondents that show only real answers.
        let real_only = |shown: &Windows| {
            let (mut small, mut real) = (0, 0);
            for week in 0..WEEKS {
                for region in ["far_east", "siberia", "ural"] {
                    let estimates = decompositions(shown, start + Duration::weeks(week), region);
                    let Some((n, sum)) = estimates.first() else { continue };
                    let n = n.round() as i64;
                    if (1..=3).contains(&n) {
                        small += 1;
                        real += usize::from((sum - 5.0 * n as f64).abs() < 1e-6);
                    }
                }
            }
            (real as f64 / small.max(1) as f64, small)
        };
        let (public_rate, small) = real_only(&windows(&app, None).await);
        eprintln!("rebuilt public cells of 1-3 respondents showing only real answers: {:.0}% of {small}", public_rate * 100.0);
        assert!(small >= 60, "{small}");
        // An added answer is a 5 about a quarter of the time (the piece's own
        // answers are a fifth 5s); real answers alone would be 100%.
        assert!(public_rate < 0.45, "{public_rate}");
        let token = app.token(Role::Researcher);
        let (exact_rate, _) = real_only(&windows(&app, Some(&token)).await);
        assert_eq!(exact_rate, 1.0);
    }

    async fn the_residual_of_a_breakdown_is_not_given_away_by_the_period_total(app) {
        app.unweighted_demo();
        // 30 months; each: 40 city, 35 town, 32 village, and 1–5 who did not say.
        let mut rng = Lcg(11);
        let mut rows = Vec::new();
        let mut residuals = HashMap::new();
        let mut month = day("2023-01-01");
        for _ in 0..30 {
            for (settlement, k) in [("city", 40), ("town", 35), ("village", 32), ("na", 1 + rng.below(5))] {
                for _ in 0..k {
                    let trust = 1 + rng.below(5);
                    let date = month + Duration::days(rng.below(28) as i64);
                    rows.push((date, json!({"portal_account": "active", "portal_trust": trust, "settlement": settlement})));
                }
                if settlement == "na" {
                    residuals.insert(month, k as i64);
                }
            }
            month = (month + Duration::days(32)).with_day(1).unwrap();
        }
        app.store_many(&rows);
        let token = app.token(Role::Researcher);
        let recovered = |total: &Value, groups: &Value| {
            let mut hits = 0;
            for (i, t) in total["points"].as_array().unwrap().iter().enumerate() {
                let start = day(t["period_start"].as_str().unwrap());
                let shown: Vec<&Value> = groups["points"].as_array().unwrap().iter()
                    .filter(|p| p["period_start"] == t["period_start"]).collect();
                if shown.iter().any(|p| p["suppressed"] == true) || t["suppressed"] == true {
                    continue;
                }
                let rest = t["n"].as_i64().unwrap() - shown.iter().map(|p| p["n"].as_i64().unwrap()).sum::<i64>();
                hits += usize::from(rest == residuals[&start]);
                let _ = i;
            }
            hits
        };
        let q = "question=portal_trust&weighted=false&from=2023-01-01&to=2025-06-30";
        let total = app.series_as(None, q).await;
        let groups = app.series_as(None, &format!("{q}&by=settlement")).await;
        let public_hits = recovered(&total, &groups);
        assert!(public_hits <= 3, "the public total minus its groups gave the residual in {public_hits} of 30 months");
        // Exact figures hide a group instead (secondary suppression counts the residual).
        let exact_groups = app.series_as(Some(&token), &format!("{q}&by=settlement")).await;
        let hidden = exact_groups["points"].as_array().unwrap().iter().filter(|p| p["suppressed"] == true).count();
        assert_eq!(hidden, 30, "one group hidden in every month: {exact_groups}");
    }

    async fn day_series_and_free_shift_windows_are_for_researchers_only(app) {
        app.unweighted_demo();
        // The attack: smooth=52 minus smooth=51 over days leaves the one
        // far-east respondent of 2024-03-05 — exact for a researcher, refused
        // for the public.
        let mut rows: Vec<(NaiveDate, Value)> = (0..64)
            .map(|i| (day("2024-01-01") + Duration::days(i), json!({"portal_account": "active", "portal_trust": 3, "region": "far_east"})))
            .collect();
        rows.push((day("2024-03-05"), json!({"portal_account": "active", "portal_trust": 1, "region": "far_east"})));
        app.store_many(&rows);
        let token = app.token(Role::Researcher);
        let pooled = |smooth: i64, to: &str| format!("question=portal_trust&interval=day&by=region&weighted=false&from=2024-01-01&to={to}&smooth={smooth}");
        let last_far_east = |body: &Value| {
            let p = body["points"].as_array().unwrap().iter().rev().find(|p| p["group"] == "far_east").unwrap().clone();
            (p["n"].as_f64().unwrap(), p["n"].as_f64().unwrap() * p["value"].as_f64().unwrap())
        };
        let a = last_far_east(&app.series_as(Some(&token), &pooled(52, "2024-03-05")).await);
        let b = last_far_east(&app.series_as(Some(&token), &pooled(51, "2024-03-04")).await);
        assert_eq!(((a.0 - b.0).round(), (a.1 - b.1).round()), (1.0, 1.0), "one respondent, answer 1");
        assert_eq!(app.get(&format!("{SERIES}?{}", pooled(52, "2024-03-05"))).await.status(), 403);
        for path in [
            "/api/v1/surveys/digital-trust/series?question=portal_trust&interval=day",
            "/api/v1/surveys/digital-trust/series.csv?question=portal_trust&interval=day&by=region",
            "/api/v1/surveys/digital-trust/changepoints?question=portal_trust&interval=day",
            "/api/v1/surveys/digital-trust/shifts?question=portal_trust&date=2024-03-05",
            "/api/v1/surveys/digital-trust/shifts?question=portal_trust&window_days=27",
            "/api/v1/surveys/digital-trust/series?question=region&metric=share&option=ural&interval=week",
            "/api/v1/surveys/digital-trust/series?question=settlement&metric=share&option=village&by=region",
        ] {
            let res = app.get(path).await;
            assert_eq!(res.status(), 403, "{path}");
            let body: Value = res.json().await.unwrap();
            assert!(body["message"].as_str().unwrap().contains("researcher token"), "{body}");
            let exact = app.client.get(app.url(path)).bearer_auth(&token).send().await.unwrap();
            assert_eq!(exact.status(), 200, "{path}");
        }
        // A question broken down by itself would show the made-up answers of
        // its cells (every real one is the group's own name): refused for all.
        let res = app.get("/api/v1/surveys/digital-trust/series?question=region&metric=share&option=ural&by=region&interval=week").await;
        assert_eq!(res.status(), 422);
        assert_eq!(res.json::<Value>().await.unwrap()["details"][0]["problem"], "same_as_question");
    }

    async fn a_suppressed_public_cell_shows_no_count_and_public_meta_says_perturbed(app) {
        app.unweighted_demo();
        let rows: Vec<(NaiveDate, Value)> = (0..40)
            .map(|i| (day("2024-01-10"), json!({"portal_account": "active", "portal_trust": 1 + i % 5, "settlement": if i < 3 { "village" } else { "city" }})))
            .collect();
        app.store_many(&rows);
        let body = app.series_as(None, "question=portal_trust&by=settlement&from=2024-01-01&to=2024-01-31").await;
        assert_eq!(body["meta"]["perturbed"], true);
        assert!(body["meta"]["disclosure"].as_str().unwrap().contains("cell-key"));
        for p in body["points"].as_array().unwrap() {
            if p["suppressed"] == true {
                assert!(p["n"].is_null() && p["n_eff"].is_null() && p["value"].is_null(), "{p}");
            }
        }
        let csv = app.get(&format!("{SERIES}.csv?question=portal_trust&by=settlement&from=2024-01-01&to=2024-01-31")).await.text().await.unwrap();
        assert!(csv.contains(",village,2024-01-01,month,,,,,,true,"), "{csv}");
        let token = app.token(Role::Researcher);
        let exact = app.series_as(Some(&token), "question=portal_trust&by=settlement&from=2024-01-01&to=2024-01-31").await;
        assert_eq!(exact["meta"]["perturbed"], false);
        let village = exact["points"].as_array().unwrap().iter().find(|p| p["group"] == "village").unwrap();
        assert_eq!((village["n"].as_i64(), village["suppressed"].as_bool()), (Some(3), Some(true)));
    }

    async fn repeating_a_public_request_gives_the_same_noise(app) {
        app.unweighted_demo();
        let rows: Vec<(NaiveDate, Value)> = (0..300)
            .map(|i| (day("2024-01-01") + Duration::days(i % 90), json!({"portal_account": "active", "portal_trust": 1 + i % 5})))
            .collect();
        app.store_many(&rows);
        let q = "question=portal_trust&interval=week&weighted=false";
        let first = app.series_as(None, q).await;
        let second = app.series_as(None, q).await;
        assert_eq!(first["points"], second["points"]);
        // A month is the sum of its pieces whichever way it is asked for.
        let a = app.series_as(None, "question=portal_trust&from=2024-02-01&to=2024-02-29").await;
        let b = app.series_as(None, "question=portal_trust&from=2024-02-10&to=2024-02-11").await;
        assert_eq!(a["points"], b["points"]);
    }

    async fn a_public_figure_is_the_same_whichever_range_holds_it(app) {
        // The public's reads are kept whole and cut to each range afterwards;
        // smoothing pools the periods before a range's start as well.
        app.unweighted_demo();
        let settlements = ["city", "town", "village"];
        let rows: Vec<(NaiveDate, Value)> = (0..1500)
            .map(|i| {
                let answers = json!({
                    "portal_account": "active",
                    "portal_trust": 1 + (i * 7) % 5,
                    "settlement": settlements[i as usize % 3],
                });
                (day("2024-01-01") + Duration::days(i % 120), answers)
            })
            .collect();
        app.store_many(&rows);
        for (interval, from) in [("week", "2024-02-12"), ("month", "2024-03-01")] {
            for smooth in [1, 3] {
                let q = format!("question=portal_trust&by=settlement&interval={interval}&weighted=false&smooth={smooth}");
                let whole = app.series_as(None, &q).await;
                let part = app.series_as(None, &format!("{q}&from={from}")).await;
                let tail: Vec<&Value> = whole["points"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["period_start"].as_str().unwrap() >= from)
                    .collect();
                let part: Vec<&Value> = part["points"].as_array().unwrap().iter().collect();
                assert!(!part.is_empty(), "{q}");
                assert_eq!(part, tail, "{q}&from={from}");
            }
        }
    }
}

/// A wave still open: its raking for the public uses completed days only, so
/// an answer given today leaves every published (weighted) figure as it was.
mod todays_answers_do_not_move_public_weights {
    use super::*;
    use trustpulse::submission;

    async fn run(app: TestApp) {
        let survey_id = app.with_demo_survey();
        let mut conn = app.store.get().unwrap();
        let survey = db::surveys::find_by_slug(&mut conn, "digital-trust")
            .unwrap()
            .unwrap();
        let today = trustpulse::submission::local_today(&survey);
        let (opens, closes) = (today - Duration::days(60), today + Duration::days(30));
        let wave =
            db::surveys::insert_wave(&mut conn, survey_id, "open wave", opens, closes).unwrap();
        let targets = serde_json::from_value(
            json!({"settlement": {"city": 0.5, "town": 0.25, "village": 0.25}}),
        )
        .unwrap();
        db::targets::replace(&mut conn, survey_id, &targets, None).unwrap();
        let mut rng = Lcg(3);
        for i in 0..300 {
            let date = opens + Duration::days(rng.below(50) as i64);
            let settlement = ["city", "town", "village"][i % 3];
            let answers = json!({"portal_account": "active", "portal_trust": 1 + rng.below(5), "settlement": settlement, "age_band": "25-34", "region": "central"});
            let valid = trustpulse::survey::answers::validate(
                &survey.definition,
                answers.as_object().unwrap(),
            )
            .unwrap();
            submission::store_dated(&mut conn, &survey, date, Some(wave), Lang::Ru, &valid, 1.0)
                .unwrap();
        }
        drop(conn);
        let path = "/api/v1/surveys/digital-trust/series?question=portal_trust&interval=week&weighted=true";
        let before: Value = app.get(path).await.json().await.unwrap();
        assert_eq!(
            before["meta"]["weighting"]["periods"][0]["raked"], true,
            "{before}"
        );
        assert!(
            before["points"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["suppressed"] == false),
            "{before}"
        );
        for settlement in ["village", "village", "town"] {
            let body = json!({"answers": {"portal_account": "active", "portal_trust": 5, "settlement": settlement}});
            let res = app
                .client
                .post(app.url("/api/v1/surveys/digital-trust/responses"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            let after: Value = app.get(path).await.json().await.unwrap();
            assert_eq!(
                before["points"], after["points"],
                "today's answer moved a public figure"
            );
        }
    }

    #[tokio::test]
    async fn sqlite() {
        run(spawn_app(Backend::Sqlite).await.unwrap()).await
    }

    #[tokio::test]
    async fn postgres() {
        if let Some(app) = spawn_app(Backend::Postgres).await {
            run(app).await
        }
    }
}

/// A survey whose local date runs ahead of UTC (UTC+14): today's answers stay
/// out of every public figure, and a public reading does not move when one
/// more answer arrives.
mod completed_periods_only {
    use super::*;

    async fn run(app: TestApp) {
        let mut def = serde_json::to_value(trustpulse::survey::demo::definition()).unwrap();
        def["slug"] = json!("kiritimati");
        def["timezone"] = json!("Pacific/Kiritimati");
        let admin = app.token(Role::Admin);
        let res = app
            .client
            .post(app.url("/api/v1/surveys"))
            .bearer_auth(&admin)
            .json(&def)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let submit = |trust: i64| {
            let body = json!({"answers": {"portal_account": "active", "portal_trust": trust}});
            let request = app
                .client
                .post(app.url("/api/v1/surveys/kiritimati/responses"))
                .json(&body);
            async move { assert_eq!(request.send().await.unwrap().status(), 201) }
        };
        for _ in 0..40 {
            submit(4).await;
        }
        let researcher = app.token(Role::Researcher);
        for interval in ["week", "month"] {
            let path = format!(
                "/api/v1/surveys/kiritimati/series?question=portal_trust&interval={interval}&weighted=false"
            );
            let public: Value = app.get(&path).await.json().await.unwrap();
            assert!(
                public["points"].as_array().unwrap().is_empty(),
                "today is not public: {public}"
            );
            submit(1).await;
            let again: Value = app.get(&path).await.json().await.unwrap();
            assert_eq!(public["points"], again["points"]);
            assert_eq!(
                public["meta"]["data_version"], again["meta"]["data_version"],
                "today's answer moved the public version"
            );
            assert_eq!(public["meta"]["to"], again["meta"]["to"]);
            let exact: Value = app
                .client
                .get(app.url(&path))
                .bearer_auth(&researcher)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let n = exact["points"].as_array().unwrap().last().unwrap()["n"]
                .as_i64()
                .unwrap();
            assert!(n >= 41, "researchers see today: {exact}");
        }
        // An event today: its shift is pending for the public, whatever the window.
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Pacific::Kiritimati)
            .date_naive();
        let res = app
            .client
            .post(app.url("/api/v1/events"))
            .bearer_auth(&admin)
            .json(&json!({"date": today, "label_ru": "Сегодня", "label_en": "Today"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let shifts: Value = app
            .get("/api/v1/surveys/kiritimati/shifts?question=portal_trust")
            .await
            .json()
            .await
            .unwrap();
        for s in shifts["shifts"].as_array().unwrap() {
            assert_eq!(
                (s["pending"].as_bool(), s["after"]["value"].is_null()),
                (Some(true), true),
                "{s}"
            );
        }
    }

    #[tokio::test]
    async fn sqlite() {
        run(spawn_app(Backend::Sqlite).await.unwrap()).await
    }

    #[tokio::test]
    async fn postgres() {
        if let Some(app) = spawn_app(Backend::Postgres).await {
            run(app).await
        }
    }
}
