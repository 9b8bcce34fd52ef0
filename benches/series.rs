//! Server-side time of a series request: a weekly weighted series of portal
//! trust by region over the full range, computed from the aggregates exactly
//! as the HTTP handler does (store read, raking, estimation), without HTTP.
//!
//!     cargo bench --bench series                        # 1,000,000 responses
//!     BENCH_RESPONSES=10000000 cargo bench --bench series
//!     BENCH_DB=/tmp/tp.db cargo bench --bench series    # an existing demo store
//!
//! A new store is loaded with `demo` data first (that takes a while), in
//! /tmp/trustpulse-bench-N.db, kept for the next run.

use std::collections::HashMap;
use std::time::Instant;

use trustpulse::analysis::disclosure::Audience;
use trustpulse::analysis::series::{self, Context};
use trustpulse::analysis::{params, weighting};
use trustpulse::db::{self, DatabaseUrl, Store};

fn main() -> anyhow::Result<()> {
    let count: u64 = std::env::var("BENCH_RESPONSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let path =
        std::env::var("BENCH_DB").unwrap_or_else(|_| format!("/tmp/trustpulse-bench-{count}.db"));
    let store = Store::open(&DatabaseUrl::Sqlite(path.clone().into()))?;
    let mut conn = store.get()?;
    let survey = match db::surveys::find_by_slug(&mut conn, "digital-trust")? {
        Some(s) => s,
        None => {
            eprintln!("loading {count} demo responses into {path} …");
            db::seed::load_demo(&mut conn, count, 2024, |_| {})?;
            db::surveys::find_by_slug(&mut conn, "digital-trust")?.expect("just loaded")
        }
    };
    let n = db::responses::count(&mut conn, survey.id)?;
    let targets = db::targets::get(&mut conn, survey.id)?;
    let waves = db::surveys::waves(&mut conn, survey.id)?;
    // Researchers read exact figures; the public perturbed ones (both today).
    let today = chrono::Utc::now().date_naive();
    let audiences = [
        ("exact", Audience::Researcher { today }),
        ("public", Audience::new(true, today)),
    ];
    let cases: [(&str, &[(&str, &str)]); 3] = [
        (
            "weekly weighted by region",
            &[
                ("question", "portal_trust"),
                ("interval", "week"),
                ("by", "region"),
            ],
        ),
        (
            "monthly weighted, no breakdown",
            &[("question", "portal_trust")],
        ),
        (
            "weekly share of a multi-choice option by age",
            &[
                ("question", "concerns"),
                ("metric", "share"),
                ("option", "draft_notices"),
                ("interval", "week"),
                ("by", "age_band"),
            ],
        ),
    ];
    println!("{n} responses in {path}");
    if std::env::var("BENCH_PROBE").is_ok() {
        let t = Instant::now();
        let range =
            db::aggregates::date_range(&mut conn, survey.id, chrono::NaiveDate::MAX)?.unwrap();
        println!("date_range {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let everyone =
            db::aggregates::pieces_raw(&mut conn, survey.id, "", range.0, range.1, range.1)?;
        println!(
            "everyone rows {} in {:.1} ms",
            everyone.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
        let t = Instant::now();
        let w = weighting::weights(&survey, &targets.shares, &waves, &everyone, true)
            .map_err(anyhow::Error::msg)?;
        println!(
            "raking {} periods in {:.1} ms",
            w.reports.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
        // Twice: the second read finds the pages in SQLite's cache.
        for _ in 0..2 {
            let t = Instant::now();
            let rows = db::aggregates::pieces_raw(
                &mut conn,
                survey.id,
                "portal_trust",
                range.0,
                range.1,
                range.1,
            )?;
            println!(
                "question rows {} in {:.1} ms",
                rows.len(),
                t.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    for ((name, pairs), (audience_name, audience)) in cases
        .iter()
        .flat_map(|case| audiences.iter().map(move |a| (case, a)))
    {
        let ctx = Context {
            survey: &survey,
            targets: &targets.shares,
            waves: &waves,
            min_cell: 30,
            audience: *audience,
            memo: None,
            version: Default::default(),
        };
        let query: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let spec = params::parse(&survey.definition, true, !waves.is_empty(), &query, &[])
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut times = Vec::new();
        let mut points = 0;
        for _ in 0..21 {
            let started = Instant::now();
            let s = series::compute(&mut conn, &ctx, &spec)?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            points = s.points.len();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name} ({audience_name}): {points} points, median {:.1} ms (min {:.1}, max {:.1}) over 21 runs",
            times[10], times[0], times[20]
        );
    }
    Ok(())
}
