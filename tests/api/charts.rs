//! Charts over HTTP: PNG and SVG of series and shifts, ETags and 304s,
//! bounded sizes, clear errors, the audience's figures, and the CLI's bytes.

use trustpulse::auth::Role;
use trustpulse::db;

use crate::helpers::*;
use crate::on_both_stores;
use crate::roundtrip::cli;

const CHART: &str = "/charts/digital-trust/portal_trust";

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().expect("a PNG");
    (reader.info().width, reader.info().height)
}

on_both_stores! {
    async fn charts_draw_the_public_figures_and_answer_304_while_they_stand(app) {
        db::seed::load_demo(&mut app.store.get().unwrap(), 3_000, 5, |_| {}).unwrap();
        let res = app.get(&format!("{CHART}.png?metric=top2&lang=en&width=800&height=500")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/png");
        assert_eq!(res.headers()["cache-control"], "public, max-age=300");
        let series: serde_json::Value = app.get("/api/v1/surveys/digital-trust/series?question=portal_trust&metric=top2").await.json().await.unwrap();
        assert_eq!(res.headers()["x-data-version"].to_str().unwrap(), series["meta"]["data_version"].to_string());
        let etag = res.headers()["etag"].to_str().unwrap().to_string();
        assert!(etag.starts_with('"') && etag.len() > 20, "{etag}");
        assert_eq!(png_size(&res.bytes().await.unwrap()), (800, 500));

        // The same request with the client's copy: 304, no body.
        let res = app
            .client
            .get(app.url(&format!("{CHART}.png?metric=top2&lang=en&width=800&height=500")))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);
        assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
        assert!(res.bytes().await.unwrap().is_empty());
        // `*` is not a tag: the request is checked and answered.
        let res = app
            .client
            .get(app.url(&format!("{CHART}.png?metric=top2&interval=day")))
            .header("If-None-Match", "*")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);

        // Sizes are bounded.
        let res = app.get(&format!("{CHART}.png?metric=top2&width=100000&height=1")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(png_size(&res.bytes().await.unwrap()), (2400, 320));

        // SVG: the question, its events and what the figures are, in the language asked.
        let svg = app.get(&format!("{CHART}.svg?metric=top2&lang=en")).await.text().await.unwrap();
        assert!(svg.starts_with("<svg") || svg.contains("<svg"));
        assert!(svg.contains("How much do you trust the State Services portal"), "{}", &svg[..400]);
        assert!(svg.contains("Partial mobilisation announced"));
        assert!(svg.contains("perturbed"));
        assert!(svg.contains("synthetic demo data"));
        assert!(svg.contains("opt-in sample"), "the footnote says what the intervals do not cover");
        let ru = app.get(&format!("{CHART}.svg?metric=top2&lang=ru&events=false")).await.text().await.unwrap();
        assert!(ru.contains("Насколько вы доверяете порталу госуслуг"));
        assert!(!ru.contains("мобилизация"));

        // The shift chart: a difference with its p beside each event.
        let res = app.get(&format!("{CHART}/shifts.svg?metric=top2&lang=en")).await;
        assert_eq!(res.status(), 200);
        let shifts = res.text().await.unwrap();
        assert!(shifts.contains("State Duma passes the electronic draft-notice law"));
        assert!(shifts.contains("(p "), "no p-value drawn");
        let res = app.get(&format!("{CHART}/shifts.png?metric=top2")).await;
        assert_eq!(res.status(), 200);
        assert!(png_size(&res.bytes().await.unwrap()).1 >= 320);
    }

    async fn chart_requests_with_bad_parameters_get_clear_errors(app) {
        app.with_demo_survey();
        for (query, status) in [
            ("metric=bogus", 422),
            ("metric=top2&width=wide", 422),
            ("metric=top2&lang=de", 422),
            ("metric=top2&events=maybe", 422),
            ("metric=top2&question=leak_worry", 422),
            ("metric=top2&unknown=1", 422),
            ("metric=top2&interval=day", 403),
            ("metric=top2&metric=mean", 422),
        ] {
            let res = app.get(&format!("{CHART}.png?{query}")).await;
            assert_eq!(res.status(), status, "{query}");
            let body: serde_json::Value = res.json().await.unwrap();
            assert!(body["error"].is_string(), "{query}: {body}");
        }
        assert_eq!(app.get("/charts/digital-trust/portal_trust.gif").await.status(), 404);
        assert_eq!(app.get("/charts/digital-trust/portal_trust/other.png").await.status(), 404);
        assert_eq!(app.get("/charts/nope/portal_trust.png").await.status(), 404);
        assert_eq!(app.get("/charts/digital-trust/nope.png").await.status(), 404);
        assert_eq!(app.get("/charts/digital-trust/nope/shifts.png").await.status(), 404);
        assert_eq!(app.get(&format!("{CHART}/shifts.png?metric=top2&events=false")).await.status(), 422);
    }

    async fn researchers_get_exact_charts_named_apart_from_the_public_ones(app) {
        let survey_id = app.with_demo_survey();
        db::seed::load_demo(&mut app.store.get().unwrap(), 1_000, 7, |_| {}).unwrap();
        let token = app.token(Role::Researcher);
        let exact = |app: &TestApp| {
            app.client
                .get(app.url(&format!("{CHART}.svg?metric=top2&interval=day&lang=en")))
                .basic_auth("anyone", Some(token.clone()))
                .send()
        };
        let res = exact(&app).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "private, no-cache");
        let first = res.headers()["etag"].to_str().unwrap().to_string();
        let svg = res.text().await.unwrap();
        assert!(svg.contains("Exact figures"));
        let public = app.get(&format!("{CHART}.svg?metric=top2")).await;
        assert_ne!(public.headers()["etag"].to_str().unwrap(), first);

        // A new answer today changes the exact figures' name, not the public one's.
        let public_tag = public.headers()["etag"].to_str().unwrap().to_string();
        assert_eq!(app.submit(minimal_answers()).await.status(), 201);
        let res = exact(&app).await.unwrap();
        assert_ne!(res.headers()["etag"].to_str().unwrap(), first);
        let public = app.get(&format!("{CHART}.svg?metric=top2")).await;
        assert_eq!(public.headers()["etag"].to_str().unwrap(), public_tag);
        assert!(app.response_count(survey_id) > 1_000);
    }

    async fn render_writes_the_bytes_the_chart_url_serves(app) {
        db::seed::load_demo(&mut app.store.get().unwrap(), 2_000, 3, |_| {}).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (file, extra) in [("chart.svg", vec![]), ("shifts.svg", vec!["--shifts"])] {
            let out = dir.path().join(file);
            let mut args = vec!["render", "--survey", "digital-trust", "--question", "portal_trust"];
            args.extend(extra.iter().copied());
            args.extend(["--out", out.to_str().unwrap(), "metric=top2", "lang=en", "by=settlement"]);
            let output = cli(&app.test_store, &args);
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            let path = if extra.is_empty() { format!("{CHART}.svg") } else { format!("{CHART}/shifts.svg") };
            let served = app.get(&format!("{path}?metric=top2&lang=en&by=settlement")).await.bytes().await.unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), served.to_vec(), "{file}");
        }
        let output = cli(&app.test_store, &["render", "--survey", "digital-trust", "--question", "portal_trust", "--out", "x.gif"]);
        assert!(!output.status.success());
    }
}
