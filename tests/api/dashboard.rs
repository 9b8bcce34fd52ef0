//! The dashboard's pages over HTTP: the catalogue on `/`, the permalinked
//! form, chart, tables and downloads on `/d/{slug}`, researcher sign-in by
//! HTTP Basic, and the embeddable chart.

use trustpulse::auth::Role;
use trustpulse::db;

use crate::on_both_stores;

/// Every `attr="…"` value in `html`, unescaped.
fn attributes(html: &str, attr: &str) -> Vec<String> {
    let marker = format!("{attr}=\"");
    html.split(&marker)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|v| v.replace("&#38;", "&").replace("&amp;", "&"))
        .collect()
}

on_both_stores! {
    async fn home_lists_the_surveys_and_the_catalogue_charts(app) {
        db::seed::load_demo(&mut app.store.get().unwrap(), 2_000, 11, |_| {}).unwrap();
        let res = app.get("/?lang=en").await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("Trust in digital government services"));
        assert!(html.contains("Trust in the State Services portal with personal data, by settlement type"));
        let charts: Vec<String> = attributes(&html, "src").into_iter().filter(|s| s.starts_with("/charts/")).collect();
        assert!(charts.len() >= 6, "{charts:?}");
        for src in charts.iter().take(2) {
            let res = app.get(src).await;
            assert_eq!(res.status(), 200, "{src}");
            assert_eq!(res.headers()["content-type"], "image/png");
        }
        for href in attributes(&html, "href").iter().filter(|h| h.starts_with("/d/")).take(3) {
            assert_eq!(app.get(href).await.status(), 200, "{href}");
        }
    }

    async fn the_dashboard_shows_chart_tables_and_downloads_for_its_permalink(app) {
        db::seed::load_demo(&mut app.store.get().unwrap(), 3_000, 5, |_| {}).unwrap();
        let res = app.get("/d/digital-trust?lang=en&question=portal_trust&metric=top2&by=settlement").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"<html lang="en">"#));
        assert!(html.contains(r#"<option value="settlement" selected>"#));
        assert!(html.contains(r#"<option value="top2" selected>"#));
        // Days are for researchers: the public form does not offer them.
        assert!(!html.contains(r#"<option value="day""#));
        let alt = attributes(&html, "alt").into_iter().find(|a| a.contains("latest")).expect("an alt text with the latest value");
        assert!(alt.contains('%') && alt.contains("since"), "{alt}");
        assert!(html.contains(r#"<table id="latest">"#) && html.contains(r#"<table id="shift-table">"#));
        assert!(html.contains("State Duma passes the electronic draft-notice law"));
        // Every download link answers; the microdata is not offered to the public.
        let links: Vec<String> = attributes(&html, "href")
            .into_iter()
            .filter(|h| h.starts_with("/charts/") || h.starts_with("/api/") || h.starts_with("/embed/"))
            .collect();
        assert!(links.len() >= 5, "{links:?}");
        for link in &links {
            assert_eq!(app.get(link).await.status(), 200, "{link}");
        }
        assert!(!html.contains("responses.csv"));
        for src in attributes(&html, "src").iter().filter(|s| s.starts_with("/charts/")) {
            assert_eq!(app.get(src).await.status(), 200, "{src}");
        }

        // A metric that does not fit the chosen question gives way to one that does.
        let html = app.get("/d/digital-trust?lang=en&question=portal_account&metric=top2&option=nope").await.text().await.unwrap();
        assert!(html.contains(r#"<option value="share" selected>"#));
        assert!(html.contains(r#"<option value="active" selected>"#));

        // Russian by default for this survey, and on request.
        let html = app.get("/d/digital-trust").await.text().await.unwrap();
        assert!(html.contains(r#"<html lang="ru">"#) && html.contains("Показатель"));
        assert_eq!(app.get("/d/nope").await.status(), 404);
    }

    async fn researchers_sign_in_with_basic_and_see_exact_figures_and_downloads(app) {
        db::seed::load_demo(&mut app.store.get().unwrap(), 1_000, 9, |_| {}).unwrap();
        // The public page links to the sign-in, which challenges at the root.
        let html = app.get("/d/digital-trust?lang=en").await.text().await.unwrap();
        let signin = attributes(&html, "href").into_iter().find(|h| h.starts_with("/signin?")).expect("a sign-in link");
        assert!(signin.contains("next=%2Fd%2Fdigital-trust"), "{signin}");
        let res = app.get(&signin).await;
        assert_eq!(res.status(), 401);
        let challenges: Vec<_> = res.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        assert!(challenges.iter().any(|c| c.starts_with("Basic")), "{challenges:?}");
        let token = app.token(Role::Researcher);
        let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        for (next, expected) in [
            (signin.as_str(), "/d/digital-trust?"),
            ("/signin?next=//evil.example/x", "/"),
            ("/signin?next=https://evil.example/", "/"),
            ("/signin", "/"),
        ] {
            let res = no_redirects.get(app.url(next)).basic_auth("me", Some(&token)).send().await.unwrap();
            assert_eq!(res.status(), 303, "{next}");
            let location = res.headers()["location"].to_str().unwrap();
            assert!(location.starts_with(expected) && (expected != "/" || location == "/"), "{next} → {location}");
        }
        let res = app
            .client
            .get(app.url("/d/digital-trust?lang=en&interval=day"))
            .basic_auth("me", Some(&token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "private, no-store");
        let html = res.text().await.unwrap();
        assert!(html.contains("Exact figures"));
        assert!(html.contains(r#"<option value="day" selected>"#));
        assert!(html.contains("/api/v1/surveys/digital-trust/responses.csv"));
        let res = app
            .client
            .get(app.url("/d/digital-trust"))
            .basic_auth("me", Some("tp_wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }

    async fn the_embed_page_may_be_framed_and_shows_the_bare_chart(app) {
        db::seed::load_demo(&mut app.store.get().unwrap(), 1_000, 4, |_| {}).unwrap();
        let res = app.get("/embed/digital-trust/leak_worry?lang=en&metric=top2").await;
        assert_eq!(res.status(), 200);
        let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("frame-ancestors *"), "{csp}");
        let html = res.text().await.unwrap();
        assert!(!html.contains("<form"));
        let src = attributes(&html, "src").into_iter().find(|s| s.starts_with("/charts/")).unwrap();
        assert!(src.starts_with("/charts/digital-trust/leak_worry.png?"), "{src}");
        assert_eq!(app.get(&src).await.status(), 200);
        // No chart for a demographic question, an unknown one or survey: an HTML 404.
        for path in ["/embed/digital-trust/age_band", "/embed/digital-trust/nope", "/embed/nope/portal_trust"] {
            let res = app.get(path).await;
            assert_eq!(res.status(), 404, "{path}");
            assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        }
    }
}
