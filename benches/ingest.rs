//! The bare batched insert that the HTTP ingest is measured against: the
//! same submissions as benches/ingest.lua, checked and stored by the same
//! code (responses and aggregates, durable commits), 64 per transaction, with
//! no HTTP and no queue. Prints submissions per second.
//!
//!     BENCH_DB=sqlite:///tmp/tp-ingest.db BENCH_SECONDS=15 cargo bench --bench ingest
//!     BENCH_DB=postgres://postgres@127.0.0.1:5432/tp_ingest cargo bench --bench ingest
//!
//! benches/ingest.sh runs it beside the HTTP load on copies of one store.

use std::time::{Duration, Instant};

use serde_json::json;
use trustpulse::db::{DatabaseUrl, Store, surveys};
use trustpulse::submission::{self, Submission};

const BATCH: usize = 64;

/// The body benches/ingest.lua sends as its `count`-th request.
fn submission(thread: u64, count: u64, run: u64) -> Submission {
    const ACCOUNTS: [&str; 3] = ["active", "deleted", "never"];
    const AGES: [&str; 6] = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"];
    const REGIONS: [&str; 8] = [
        "central",
        "northwest",
        "south",
        "north_caucasus",
        "volga",
        "ural",
        "siberia",
        "far_east",
    ];
    const SETTLEMENTS: [&str; 3] = ["city", "town", "village"];
    let n = count * 7919 + thread * 104_729;
    let pick = |list: &[&'static str], k: u64| list[(k % list.len() as u64) as usize];
    let id = format!("{count:08x}-{run:04x}-4{thread:03x}-8000-{n:012x}");
    let answers = json!({
        "portal_account": pick(&ACCOUNTS, n),
        "portal_trust": 1 + n % 5,
        "leak_worry": 1 + (n / 5) % 5,
        "concerns": ["data_leak"],
        "age_band": pick(&AGES, n / 3),
        "region": pick(&REGIONS, n / 7),
        "settlement": pick(&SETTLEMENTS, n / 11),
    });
    Submission {
        submission_id: Some(uuid::Uuid::parse_str(&id).expect("a UUID")),
        lang: None,
        invitation: None,
        answers: answers.as_object().expect("an object").clone(),
    }
}

fn main() -> anyhow::Result<()> {
    let url = std::env::var("BENCH_DB").unwrap_or_else(|_| "sqlite:///tmp/tp-ingest.db".into());
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let store = Store::open(&DatabaseUrl::parse(&url).map_err(anyhow::Error::msg)?)?;
    let mut conn = store.get()?;
    let survey = std::sync::Arc::new(
        surveys::find_by_slug(&mut conn, "digital-trust")?.ok_or_else(|| {
            anyhow::anyhow!("no demo survey in {url}: run `trustpulse demo` first")
        })?,
    );
    // A run number the HTTP load never uses, so no submission is a repeat.
    let run = 0xb000
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
            % 0x1000;
    let (started, deadline) = (Instant::now(), Duration::from_secs(seconds));
    let (mut stored, mut count) = (0usize, 0u64);
    let mut commit_ms = Vec::new();
    while started.elapsed() < deadline {
        let checked: Vec<_> = (0..BATCH)
            .map(|_| {
                count += 1;
                submission::check(&survey, submission(0, count, run))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let batch: Vec<_> = checked.iter().collect();
        let t = Instant::now();
        let outcomes = submission::store_batch(&mut conn, &batch)?;
        commit_ms.push(t.elapsed().as_secs_f64() * 1e3);
        stored += outcomes.iter().filter(|o| o.is_ok()).count();
    }
    let elapsed = started.elapsed().as_secs_f64();
    commit_ms.sort_by(f64::total_cmp);
    println!(
        "bare batched insert: {stored} submissions in {elapsed:.1} s = {:.0}/s ({BATCH} per transaction; batch p50 {:.1} ms, p99 {:.1} ms)",
        stored as f64 / elapsed,
        commit_ms[commit_ms.len() / 2],
        commit_ms[commit_ms.len() * 99 / 100],
    );
    Ok(())
}
