//! Submission latency over HTTP, against a store that already holds demo
//! responses, alone and while series requests run: every submission updates
//! the aggregates in its own transaction (SQLite, synchronous=FULL).
//!
//!     BENCH_DB=/tmp/trustpulse-bench-1000000.db cargo bench --bench submissions
//!
//! (Run `cargo bench --bench series` first to create that store.)

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::json;
use trustpulse::config::Settings;
use trustpulse::db::{DatabaseUrl, Store};

fn percentiles(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    format!(
        "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n = {})",
        at(0.5),
        at(0.95),
        at(0.99),
        at(1.0),
        ms.len()
    )
}

async fn submit_many(client: reqwest::Client, url: String, count: usize) -> Vec<f64> {
    let mut times = Vec::with_capacity(count);
    for i in 0..count {
        let body = json!({"answers": {"portal_account": "active", "portal_trust": 1 + i % 5, "leak_worry": 4,
            "concerns": ["data_leak"], "age_band": "25-34", "region": "volga", "settlement": "town"}});
        let started = Instant::now();
        let res = client.post(&url).json(&body).send().await.expect("POST");
        assert_eq!(res.status(), 201);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times
}

fn main() -> anyhow::Result<()> {
    let path =
        std::env::var("BENCH_DB").unwrap_or_else(|_| "/tmp/trustpulse-bench-1000000.db".into());
    let url = DatabaseUrl::Sqlite(path.clone().into());
    let store = Store::open(&url)?;
    let mut settings = Settings::new(url);
    settings.submit_rate = 1_000_000;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base = format!("http://{}", listener.local_addr()?);
        for server in trustpulse::start_server(settings, store, listener, None)? {
            tokio::spawn(server);
        }
        let client = reqwest::Client::new();
        let submit = format!("{base}/api/v1/surveys/digital-trust/responses");
        println!("store: {path}");
        let alone = submit_many(client.clone(), submit.clone(), 500).await;
        println!("500 submissions one after another: {}", percentiles(alone));

        let reader = {
            let client = client.clone();
            let series = format!("{base}/api/v1/surveys/digital-trust/series?question=portal_trust&interval=week&by=region");
            tokio::spawn(async move {
                let mut served = 0;
                let stop = Instant::now() + Duration::from_secs(600);
                while Instant::now() < stop {
                    if client.get(&series).send().await.map(|r| r.status().is_success()).unwrap_or(false) {
                        served += 1;
                    }
                    if served % 1000 == 999 {
                        break;
                    }
                }
                served
            })
        };
        let clients: Vec<_> = (0..4).map(|_| tokio::spawn(submit_many(client.clone(), submit.clone(), 125))).collect();
        let mut busy = Vec::new();
        for c in clients {
            busy.extend(c.await?);
        }
        reader.abort();
        println!("500 submissions from 4 clients while series requests run: {}", percentiles(busy));
        anyhow::Ok(())
    })
}
