//! Differential test: the service's exact (researcher) figures against the
//! naive implementation of METHODS.md in `naive.rs`, on random stores.
//!
//! Each case stores a few random histories (non-unit base weights, unanswered
//! items, `dk`/`na`, missing demographics, targets, sometimes waves) and asks
//! the series and shifts endpoints for every metric, interval, breakdown,
//! weighting and smoothing, comparing every number to 1e-9 relative.

use chrono::{Duration, NaiveDate};
use diesel::Connection;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use trustpulse::auth::Role;
use trustpulse::db::{self, aggregates};
use trustpulse::submission;
use trustpulse::survey::{Lang, answers};

use crate::helpers::*;
use crate::naive::{self, Data, Interval, Metric, Reading, SeriesQuery, ShiftQuery, Weights};

/// Relative (or, near zero, absolute) tolerance of every comparison.
const TOLERANCE: f64 = 1e-9;
const MIN_CELL: u32 = 10;

/// What a case stores.
#[derive(Debug, Clone, Copy)]
struct Case {
    seeds: &'static [u64],
    waves: bool,
    targets: bool,
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A category drawn with the given weights.
fn pick<'a>(rng: &mut ChaCha8Rng, options: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = options.iter().map(|o| o.1).sum();
    let mut x = rng.random_range(0..total);
    for (code, weight) in options {
        if x < *weight {
            return code;
        }
        x -= weight;
    }
    unreachable!()
}

/// A demographic answer: absent, "prefer not to say", or a skewed option.
fn demographic(rng: &mut ChaCha8Rng, dimension: &str, skew: u32) -> Option<String> {
    let roll = rng.random_range(0..100);
    if roll < 6 {
        return None;
    }
    if roll < 11 {
        return Some("na".into());
    }
    let groups = naive::groups_of(dimension);
    let weighted: Vec<(&str, u32)> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (*g, 3 + (i as u32 + skew) % 3))
        .collect();
    Some(pick(rng, &weighted).to_string())
}

/// A scale answer in [lo, hi] leaning on `lean`, "dk", or absent.
fn scale_answer(
    rng: &mut ChaCha8Rng,
    lo: i64,
    hi: i64,
    lean: f64,
    optional: bool,
) -> Option<Value> {
    let roll = rng.random_range(0..100);
    if optional && roll < 15 {
        return None;
    }
    if roll >= 90 {
        return Some(json!("dk"));
    }
    let u: f64 = rng.random::<f64>().powf(lean);
    Some(json!(
        lo + ((hi - lo + 1) as f64 * u).floor().min((hi - lo) as f64) as i64
    ))
}

fn random_answers(rng: &mut ChaCha8Rng, month: usize) -> Value {
    let mut a = serde_json::Map::new();
    let age = demographic(rng, "age_band", 1);
    let region = demographic(rng, "region", 0);
    let settlement = demographic(rng, "settlement", 2);
    // Answers lean with age and month, so weighting and time matter.
    let older = matches!(age.as_deref(), Some("55-64" | "65+"));
    let lean = if older { 1.6 } else { 0.7 } + 0.2 * month as f64;
    a.insert(
        "portal_account".into(),
        json!(pick(rng, &[("active", 6), ("deleted", 2), ("never", 2)])),
    );
    a.insert(
        "portal_trust".into(),
        scale_answer(rng, 1, 5, lean, false).unwrap(),
    );
    for (code, lo, hi) in [
        ("leak_worry", 1, 5),
        ("evote_intent", 1, 5),
        ("evote_count_trust", 0, 10),
    ] {
        if let Some(v) = scale_answer(rng, lo, hi, 2.0 - lean * 0.5, true) {
            a.insert(code.into(), v);
        }
    }
    if rng.random_range(0..100) < 75 {
        let effect = pick(
            rng,
            &[
                ("more", 3),
                ("same", 5),
                ("less", 2 + month as u32),
                ("stopped", 1),
            ],
        );
        a.insert("summons_effect".into(), json!(effect));
    }
    let roll = rng.random_range(0..100);
    if roll < 12 {
        a.insert("concerns".into(), json!(["none"]));
    } else if roll < 80 {
        let mut chosen: Vec<&str> = [
            "data_leak",
            "identity_theft",
            "draft_notices",
            "surveillance",
            "hard_to_use",
        ]
        .into_iter()
        .filter(|_| rng.random_range(0..100) < 40)
        .collect();
        if chosen.is_empty() {
            chosen.push("surveillance");
        }
        a.insert("concerns".into(), json!(chosen));
    }
    for (code, value) in [
        ("age_band", age),
        ("region", region),
        ("settlement", settlement),
    ] {
        if let Some(v) = value {
            a.insert(code.into(), json!(v));
        }
    }
    Value::Object(a)
}

/// The demo's illustrative targets, or (odd seeds) only two of its margins.
fn targets_for(seed: u64) -> naive::Targets {
    let all: naive::Targets = vec![
        (
            "age_band".into(),
            vec![
                ("18-24", 0.08),
                ("25-34", 0.17),
                ("35-44", 0.19),
                ("45-54", 0.16),
                ("55-64", 0.17),
                ("65+", 0.23),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        ),
        (
            "region".into(),
            vec![
                ("central", 0.27),
                ("northwest", 0.095),
                ("south", 0.115),
                ("north_caucasus", 0.07),
                ("volga", 0.195),
                ("ural", 0.085),
                ("siberia", 0.115),
                ("far_east", 0.055),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        ),
        (
            "settlement".into(),
            vec![("city", 0.52), ("town", 0.23), ("village", 0.25)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        ),
    ];
    if seed % 2 == 1 {
        all.into_iter().filter(|(d, _)| d != "region").collect()
    } else {
        all
    }
}

/// Generates a random history (in memory; the naive side's raw rows).
fn generate(seed: u64, case: Case) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start = day("2024-01-01") + Duration::days(rng.random_range(0..20));
    let months = rng.random_range(3..=4);
    let span = months * 30;
    let waves: Vec<naive::Wave> = if case.waves {
        // Three waves with gaps between them, over the span.
        let third = span / 3;
        (0..3)
            .map(|k| naive::Wave {
                label: format!("W{}", k + 1),
                opens: start + Duration::days(k * third),
                closes: start + Duration::days(k * third + third - rng.random_range(4..10)),
            })
            .collect()
    } else {
        Vec::new()
    };
    let count = rng.random_range(90..130) * months as usize;
    let mut responses = Vec::with_capacity(count);
    for _ in 0..count {
        let (date, wave) = if case.waves {
            let w = rng.random_range(0..waves.len());
            let len = (waves[w].closes - waves[w].opens).num_days();
            (
                waves[w].opens + Duration::days(rng.random_range(0..=len)),
                Some(w),
            )
        } else {
            (start + Duration::days(rng.random_range(0..span)), None)
        };
        let month = ((date - start).num_days() / 30) as usize;
        // Non-unit base weights whose mean differs by month.
        let base_weight = rng.random_range(0.5..3.0) * (1.0 + 0.25 * month as f64);
        responses.push(naive::Response {
            date,
            wave,
            answers: random_answers(&mut rng, month),
            base_weight,
        });
    }
    Data {
        responses,
        waves,
        targets: if case.targets {
            targets_for(seed)
        } else {
            Vec::new()
        },
        min_cell: f64::from(MIN_CELL),
    }
}

/// Stores the history through the service's own storage path.
/// Stores the history: one response at a time through the service's dated
/// store (as an import of single responses does), or in bulk as the demo
/// loader does (much faster in a debug build).
fn store(app: &TestApp, data: &Data, bulk: bool) {
    let mut conn = app.store.get().unwrap();
    let survey_id = db::seed::ensure_demo_survey(&mut conn).unwrap();
    let targets: db::targets::Targets = data
        .targets
        .iter()
        .map(|(d, shares)| (d.clone(), shares.iter().cloned().collect()))
        .collect();
    db::targets::replace(&mut conn, survey_id, &targets, None).unwrap();
    let wave_ids: Vec<i32> = data
        .waves
        .iter()
        .map(|w| {
            db::surveys::insert_wave(&mut conn, survey_id, &w.label, w.opens, w.closes).unwrap()
        })
        .collect();
    let survey = db::surveys::find_by_slug(&mut conn, "digital-trust")
        .unwrap()
        .unwrap();
    let mut sums = aggregates::Pending::default();
    let mut rows = Vec::new();
    for r in &data.responses {
        let valid = answers::validate(&survey.definition, r.answers.as_object().unwrap()).unwrap();
        let wave = r.wave.map(|w| wave_ids[w]);
        if !bulk {
            submission::store_dated(
                &mut conn,
                &survey,
                r.date,
                wave,
                Lang::En,
                &valid,
                r.base_weight,
            )
            .unwrap();
            continue;
        }
        let record_key = db::responses::new_record_key();
        sums.add_response(
            &survey.definition,
            r.date,
            wave,
            valid.as_map(),
            trustpulse::stats::sums::Sums::keyed(r.base_weight, record_key as u32),
            1,
        );
        rows.push(db::responses::NewResponse {
            id: uuid::Uuid::new_v4().to_string(),
            survey_id,
            wave_id: wave,
            submitted_date: r.date,
            lang: "en".into(),
            submission_id: None,
            base_weight: r.base_weight,
            answers: valid.to_json(),
            record_key,
        });
    }
    if bulk {
        db::responses::insert_many(&mut conn, &rows).unwrap();
        conn.transaction(|conn| {
            aggregates::apply_bulk(conn, survey_id, &sums)?;
            aggregates::set_ok(conn, survey_id, true)
        })
        .unwrap();
    }
}

/// Counts comparisons and collects every mismatch (so a failure lists them all).
#[derive(Default)]
struct Compare {
    count: usize,
    mismatches: Vec<String>,
}

impl Compare {
    fn number(&mut self, what: &str, got: &Value, expected: Option<f64>) {
        self.count += 1;
        let ok = match (got.as_f64(), expected) {
            (None, None) => got.is_null(),
            (Some(a), Some(b)) => (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1.0),
            _ => false,
        };
        if !ok {
            self.mismatches
                .push(format!("{what}: service {got}, naive {expected:?}"));
        }
    }

    fn exact<T: std::fmt::Debug + PartialEq>(&mut self, what: &str, got: T, expected: T) {
        self.count += 1;
        if got != expected {
            self.mismatches
                .push(format!("{what}: service {got:?}, naive {expected:?}"));
        }
    }
}

fn metric_params(metric: &Metric) -> String {
    match metric {
        Metric::Mean => "metric=mean".into(),
        Metric::Top2 => "metric=top2".into(),
        Metric::Bottom2 => "metric=bottom2".into(),
        Metric::Net => "metric=net".into(),
        Metric::Share(o) => format!("metric=share&option={o}"),
    }
}

/// Every metric the test asks for: (question, metric).
fn measures() -> Vec<(&'static str, Metric)> {
    vec![
        ("portal_trust", Metric::Mean),
        ("portal_trust", Metric::Top2),
        ("leak_worry", Metric::Bottom2),
        ("evote_count_trust", Metric::Net),
        ("evote_count_trust", Metric::Mean),
        ("evote_intent", Metric::Top2),
        ("leak_worry", Metric::Share("dk".into())),
        ("concerns", Metric::Share("data_leak".into())),
        ("summons_effect", Metric::Share("less".into())),
        ("portal_account", Metric::Share("deleted".into())),
    ]
}

const BYS: [Option<&str>; 4] = [None, Some("age_band"), Some("region"), Some("settlement")];

impl TestApp {
    async fn researcher_get(&self, token: &str, path: &str) -> Value {
        let res = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        res.json().await.unwrap()
    }
}

/// Compares one series request (both readings of METHODS are tried; see `Reading`).
fn compare_series(
    cmp: &mut Compare,
    data: &Data,
    weights: &Weights,
    q: &SeriesQuery,
    body: &Value,
    what: &str,
    reading: Reading,
) {
    let expected = data.series(q, weights, reading);
    let points = body["points"].as_array().unwrap();
    cmp.exact(&format!("{what} point count"), points.len(), expected.len());
    for (p, e) in points.iter().zip(&expected) {
        let at = format!("{what} {} {:?}", e.period_start, e.group);
        cmp.exact(
            &format!("{at} period_start"),
            p["period_start"].as_str().unwrap(),
            e.period_start.to_string().as_str(),
        );
        cmp.exact(
            &format!("{at} group"),
            p["group"].as_str().unwrap(),
            e.group.as_str(),
        );
        cmp.exact(
            &format!("{at} n"),
            p["n"].as_u64().map(|n| n as usize),
            Some(e.n),
        );
        cmp.number(&format!("{at} n_eff"), &p["n_eff"], Some(e.n_eff));
        cmp.number(&format!("{at} value"), &p["value"], e.value);
        cmp.number(&format!("{at} ci_low"), &p["ci_low"], e.ci_low);
        cmp.number(&format!("{at} ci_high"), &p["ci_high"], e.ci_high);
        cmp.exact(
            &format!("{at} suppressed"),
            p["suppressed"].as_bool(),
            Some(e.suppressed),
        );
        cmp.exact(
            &format!("{at} weighted"),
            p["weighted"].as_bool(),
            Some(e.weighted),
        );
    }
}

/// Weighting metadata: per raking period, n, raked and the design effect.
fn compare_weighting(cmp: &mut Compare, weights: &Weights, body: &Value, what: &str) {
    let expected = &weights.periods;
    let reported = body["meta"]["weighting"]["periods"].as_array().unwrap();
    for r in reported {
        let label = r["period"].as_str().unwrap();
        let at = format!("{what} weighting {label}");
        let Some(e) = expected.values().find(|e| e.label == label) else {
            cmp.exact(&format!("{at} known period"), label, "");
            continue;
        };
        cmp.exact(
            &format!("{at} n"),
            r["n"].as_u64().map(|n| n as usize),
            Some(e.n),
        );
        cmp.exact(&format!("{at} raked"), r["raked"].as_bool(), Some(e.raked));
        cmp.number(
            &format!("{at} design_effect"),
            &r["design_effect"],
            e.design_effect,
        );
    }
    // Every raking period of the data is reported (the series covers them all).
    cmp.exact(
        &format!("{what} weighting period count"),
        reported.len(),
        expected.len(),
    );
}

fn compare_shifts(
    cmp: &mut Compare,
    data: &Data,
    weights: &Weights,
    q: &ShiftQuery,
    body: &Value,
    what: &str,
    reading: Reading,
) {
    let expected = data.shifts(q, weights, reading);
    let shifts = body["shifts"].as_array().unwrap();
    cmp.exact(&format!("{what} shift count"), shifts.len(), expected.len());
    for (s, e) in shifts.iter().zip(&expected) {
        let at = format!("{what} {:?}", e.group);
        cmp.exact(
            &format!("{at} group"),
            s["group"].as_str().unwrap(),
            e.group.as_str(),
        );
        for (side, w) in [("before", &e.before), ("after", &e.after)] {
            let sw = &s[side];
            let at = format!("{at} {side}");
            cmp.exact(
                &format!("{at} from"),
                sw["from"].as_str().unwrap(),
                w.from.to_string().as_str(),
            );
            cmp.exact(
                &format!("{at} to"),
                sw["to"].as_str().unwrap(),
                w.to.to_string().as_str(),
            );
            cmp.exact(
                &format!("{at} n"),
                sw["n"].as_u64().map(|n| n as usize),
                Some(w.n),
            );
            cmp.number(&format!("{at} n_eff"), &sw["n_eff"], Some(w.n_eff));
            cmp.number(&format!("{at} value"), &sw["value"], w.value);
            cmp.number(&format!("{at} ci_low"), &sw["ci_low"], w.ci_low);
            cmp.number(&format!("{at} ci_high"), &sw["ci_high"], w.ci_high);
            cmp.exact(
                &format!("{at} weighted"),
                sw["weighted"].as_bool(),
                Some(w.weighted),
            );
        }
        cmp.number(&format!("{at} difference"), &s["difference"], e.difference);
        cmp.number(&format!("{at} ci_low"), &s["ci_low"], e.ci_low);
        cmp.number(&format!("{at} ci_high"), &s["ci_high"], e.ci_high);
        cmp.number(&format!("{at} z"), &s["z"], e.z);
        cmp.number(&format!("{at} p"), &s["p"], e.p);
        cmp.exact(
            &format!("{at} suppressed"),
            s["suppressed"].as_bool(),
            Some(e.suppressed),
        );
    }
}

/// Every request compared under METHODS.
struct Tally {
    strict: Compare,
}

/// One seed's store and a researcher's token, to ask the service with.
struct Asked<'a> {
    app: &'a TestApp,
    token: &'a str,
    data: &'a Data,
    seed: u64,
}

impl Asked<'_> {
    /// Asks for the series `q` and compares every figure with the naive
    /// implementation, and the raking report with `report` when given.
    async fn series(
        &self,
        tally: &mut Tally,
        q: &SeriesQuery,
        weights: &Weights,
        report: Option<&Weights>,
    ) {
        let mut path = format!(
            "/api/v1/surveys/digital-trust/series?question={}&{}&interval={}&weighted={}&smooth={}",
            q.question,
            metric_params(&q.metric),
            q.interval.as_str(),
            q.weighted,
            q.smooth
        );
        if let Some(from) = q.from {
            path.push_str(&format!("&from={from}"));
        }
        if let Some(b) = &q.by {
            path.push_str(&format!("&by={b}"));
        }
        let body = self.app.researcher_get(self.token, &path).await;
        let what = format!("seed {} {path}", self.seed);
        check(tally, self.data, &body, &what, |cmp, data, reading| {
            compare_series(cmp, data, weights, q, &body, &what, reading);
            if let Some(raked) = report {
                compare_weighting(cmp, raked, &body, &what);
            }
        });
    }
}

async fn run_seed(app: &TestApp, seed: u64, case: Case, tally: &mut Tally) {
    let data = generate(seed, case);
    // One seed goes through the one-response store, the others in bulk.
    store(app, &data, seed != 21);
    let token = app.token(Role::Researcher);
    let raked = data.weights(true, naive::METHODS);
    let unit = data.weights(false, naive::METHODS);
    let weights_for = |weighted: bool| if weighted { &raked } else { &unit };
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut intervals = vec![Interval::Day, Interval::Week, Interval::Month];
    if case.waves {
        intervals.push(Interval::Wave);
    }
    let first = data.responses.iter().map(|r| r.date).min().unwrap();
    let last = data.responses.iter().map(|r| r.date).max().unwrap();
    let mut k = seed as usize;
    for (question, metric) in measures() {
        for interval in &intervals {
            // Two requests per metric and interval, rotating through every
            // breakdown, weighting and smoothing.
            for weighted in [true, false] {
                k += 1;
                let by = BYS[k % 4];
                let smooth = if (k / 4).is_multiple_of(2) { 1 } else { 3 };
                let q = SeriesQuery {
                    question: question.into(),
                    metric: metric.clone(),
                    by: by.map(String::from),
                    interval: *interval,
                    weighted,
                    smooth,
                    from: None,
                };
                let report = (weighted && !data.targets.is_empty()).then_some(&raked);
                let asked = Asked {
                    app,
                    token: &token,
                    data: &data,
                    seed,
                };
                asked.series(tally, &q, weights_for(weighted), report).await;
            }
        }
        // A range starting mid-history: its first periods pool the ones
        // before it when smoothed.
        let span = (last - first).num_days();
        for interval in [Interval::Week, Interval::Month] {
            k += 1;
            let by = BYS[k % 4];
            let (weighted, smooth) = (k.is_multiple_of(2), if k.is_multiple_of(3) { 3 } else { 1 });
            let from = first + Duration::days(rng.random_range(span / 3..span * 2 / 3));
            let q = SeriesQuery {
                question: question.into(),
                metric: metric.clone(),
                by: by.map(String::from),
                interval,
                weighted,
                smooth,
                from: Some(from),
            };
            let asked = Asked {
                app,
                token: &token,
                data: &data,
                seed,
            };
            asked.series(tally, &q, weights_for(weighted), None).await;
        }
        // A shift around a random date with a random window.
        let date = first + Duration::days(rng.random_range(span / 4..span * 3 / 4));
        let window_days = rng.random_range(7..=45);
        k += 1;
        let by = BYS[k % 4];
        let weighted = !k.is_multiple_of(3);
        let q = ShiftQuery {
            question: question.into(),
            metric: metric.clone(),
            by: by.map(String::from),
            weighted,
            date,
            window_days,
        };
        let mut path = format!(
            "/api/v1/surveys/digital-trust/shifts?question={question}&{}&date={date}&window_days={window_days}&weighted={weighted}",
            metric_params(&metric)
        );
        if let Some(b) = by {
            path.push_str(&format!("&by={b}"));
        }
        let body = app.researcher_get(&token, &path).await;
        let what = format!("seed {seed} {path}");
        check(tally, &data, &body, &what, |cmp, data, reading| {
            compare_shifts(cmp, data, weights_for(weighted), &q, &body, &what, reading);
        });
    }
    // The microdata: every response's date, base weight and final weight,
    // as the naive raking gives them (rows compared as sorted multisets:
    // the file orders by random id).
    let text = app
        .client
        .get(app.url("/api/v1/surveys/digital-trust/responses.csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut got: Vec<(String, String, String)> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_string(), r[4].to_string(), r[5].to_string())
        })
        .collect();
    got.sort();
    // Final weights: raked where targets exist, else the base weights.
    let mut expected: Vec<(String, String, String)> = data
        .responses
        .iter()
        .zip(&raked.w)
        .map(|(r, w)| {
            let base = r.base_weight;
            (r.date.to_string(), format!("{base:.6}"), format!("{w:.6}"))
        })
        .collect();
    expected.sort();
    let what = format!("seed {seed} microdata weights");
    check(tally, &data, &Value::Null, &what, |cmp, _, _| {
        cmp.exact(&format!("{what}: rows"), got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            cmp.exact(&what, g, e);
        }
    });
}

/// Compares one request under METHODS.
fn check(
    tally: &mut Tally,
    data: &Data,
    _body: &Value,
    _what: &str,
    compare: impl Fn(&mut Compare, &Data, Reading),
) {
    let mut strict = Compare::default();
    compare(&mut strict, data, naive::METHODS);
    tally.strict.count += strict.count;
    tally.strict.mismatches.extend(strict.mismatches);
}

async fn run_case(backend: Backend, case: Case) {
    let started = std::time::Instant::now();
    let mut tally = Tally {
        strict: Compare::default(),
    };
    for &seed in case.seeds {
        let Some(app) = spawn_app_with(backend, |s| {
            s.submit_rate = 100_000;
            s.min_cell = MIN_CELL;
        })
        .await
        else {
            return;
        };
        run_seed(&app, seed, case, &mut tally).await;
    }
    // Straight to stderr: how much was compared.
    eprintln!(
        "differential {backend:?} {case:?}: {} comparisons in {:.1}s",
        tally.strict.count,
        started.elapsed().as_secs_f64(),
    );
    let m = &tally.strict.mismatches;
    assert!(
        m.is_empty(),
        "{} of {} figures differ from METHODS.md:\n{}",
        m.len(),
        tally.strict.count,
        m.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

macro_rules! differential_cases {
    ($($name:ident: $case:expr;)*) => {
        $(
            mod $name {
                use super::*;
                #[tokio::test]
                async fn sqlite() { run_case(Backend::Sqlite, $case).await }
                #[tokio::test]
                async fn postgres() { run_case(Backend::Postgres, $case).await }
            }
        )*
    };
}

differential_cases! {
    raked_per_month: Case { seeds: &[1, 2], waves: false, targets: true };
    raked_per_wave: Case { seeds: &[11, 12], waves: true, targets: true };
    base_weights_without_targets: Case { seeds: &[21], waves: false, targets: false };
}
