//! Hostile input: every request's cost is bounded and bad input is never a 5xx.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trustpulse::auth::Role;

use crate::helpers::*;
use crate::on_both_stores;

/// Query strings from pieces a fuzzer would try: real names with odd values,
/// odd names, extreme dates, repeats, encodings.
fn random_query(seed: &mut u64) -> String {
    let mut next = |k: usize| {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 33) as usize) % k
    };
    const NAMES: [&str; 16] = [
        "question",
        "metric",
        "option",
        "by",
        "interval",
        "from",
        "to",
        "weighted",
        "smooth",
        "event",
        "date",
        "window_days",
        "lang",
        "",
        "%FF",
        "question[]",
    ];
    const VALUES: [&str; 28] = [
        "portal_trust",
        "concerns",
        "comment",
        "age_band",
        "region",
        "mean",
        "share",
        "net",
        "dk",
        "65%2B",
        "day",
        "week",
        "month",
        "wave",
        "0001-01-01",
        "-262143-01-01",
        "9999-12-31",
        "2024-02-30",
        "2024-03-05",
        "true",
        "maybe",
        "0",
        "52",
        "53",
        "99999999999999999999",
        "-1",
        "%00",
        "%F0%9F%98%80",
    ];
    let pairs = 1 + next(6);
    (0..pairs)
        .map(|_| {
            format!(
                "{}={}",
                NAMES[next(NAMES.len())],
                VALUES[next(VALUES.len())]
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

on_both_stores! {
    async fn random_query_strings_never_give_a_server_error(app) {
        app.with_demo_survey();
        app.store("2024-03-05", json!({"portal_account": "active", "portal_trust": 4, "region": "far_east"}), 1.0);
        let researcher = app.token(Role::Researcher);
        let mut seed = 20261201;
        for i in 0..400 {
            let endpoint = ["series", "series.csv", "shifts", "changepoints"][i % 4];
            let query = random_query(&mut seed);
            let path = format!("/api/v1/surveys/digital-trust/{endpoint}?{query}");
            let mut request = app.client.get(app.url(&path));
            if i % 2 == 0 {
                request = request.bearer_auth(&researcher);
            }
            let started = Instant::now();
            let res = request.send().await.unwrap();
            assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
            assert!(started.elapsed() < Duration::from_secs(2), "{path} took {:?}", started.elapsed());
        }
    }

    async fn dates_far_outside_any_survey_are_422_and_ranges_stop_at_the_data(app) {
        app.with_demo_survey();
        app.store("2010-01-04", json!({"portal_account": "active", "portal_trust": 4}), 1.0);
        app.store("2020-01-06", json!({"portal_account": "active", "portal_trust": 2}), 1.0);
        for query in ["from=0001-01-01", "to=-262143-01-01", "from=9999-12-31"] {
            let res = app.get_exact(&format!("/api/v1/surveys/digital-trust/series?question=portal_trust&{query}")).await;
            assert_eq!(res.status(), 422, "{query}");
        }
        // A parameter given twice is refused, not silently resolved.
        let res = app.get_exact("/api/v1/surveys/digital-trust/series?question=portal_trust&weighted=true&weighted=false").await;
        assert_eq!(res.status(), 422);
        assert_eq!(res.json::<Value>().await.unwrap()["details"][0]["problem"], "repeated");
        // A range wider than the data is cut to it: the cost is what is stored.
        let body = app.series("question=portal_trust&interval=month&from=1900-01-01&to=2199-12-31").await;
        assert_eq!(body["meta"]["from"], "2010-01-01");
        assert_eq!(body["meta"]["to"], "2020-01-31");
        // Ten years of days by region is too many points for one answer.
        let res = app.get_exact("/api/v1/surveys/digital-trust/series?question=portal_trust&interval=day&by=region").await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["details"][0]["problem"], "too_many_points");
        assert!(body["details"][0]["message"].as_str().unwrap().contains("coarser interval"));
    }
}

#[tokio::test]
async fn a_body_trickled_byte_by_byte_is_cut_off() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.request_timeout = Duration::from_secs(2);
    })
    .await
    .unwrap();
    app.with_demo_survey();
    let address = app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/v1/surveys/digital-trust/responses HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    loop {
        // One byte a second, far slower than any real client.
        if stream.write_all(b" ").await.is_err() {
            break;
        }
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                break;
            }
            Err(_) => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still open after 10 s"
        );
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
