//! Health, metrics, request ids and shutdown.

use std::time::Duration;

use crate::helpers::*;
use crate::on_both_stores;

on_both_stores! {
    async fn health_reports_a_reachable_store(app) {
        let res = app.get("/healthz").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
    }

    async fn metrics_count_requests_by_route_and_stored_responses(app) {
        app.with_demo_survey();
        assert_eq!(app.submit(minimal_answers()).await.status(), 201);
        assert_eq!(app.submit(json!({})).await.status(), 422);
        let health = app.get("/healthz").await;
        assert!(health.headers()["x-request-id"].to_str().unwrap().len() >= 16);
        let metrics = app.metrics_address.clone().unwrap();
        let res = app.client.get(format!("{metrics}/metrics")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        for line in [
            r#"trustpulse_http_requests_total{method="POST",route="/api/v1/surveys/{slug}/responses",status="201"} 1"#,
            r#"trustpulse_http_requests_total{method="POST",route="/api/v1/surveys/{slug}/responses",status="422"} 1"#,
            r#"trustpulse_responses_stored_total{survey="digital-trust"} 1"#,
            "trustpulse_db_pool_connections_in_use ",
            r#"trustpulse_http_request_duration_seconds_bucket{method="POST",route="/api/v1/surveys/{slug}/responses",status="201",le="+Inf"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }

    async fn a_malformed_path_is_a_json_404(app) {
        let admin = app.token(trustpulse::auth::Role::Admin);
        let res = app.client.delete(app.url("/api/v1/events/not-a-number")).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");
    }

    async fn unknown_paths_are_a_json_404_and_wrong_methods_a_json_405_with_security_headers(app) {
        for (method, path, status, error) in [
            (reqwest::Method::GET, "/no/such/page", 404, "not_found"),
            (reqwest::Method::DELETE, "/api/v1/surveys", 405, "method_not_allowed"),
            (reqwest::Method::PUT, "/api/v1/surveys/digital-trust/series", 405, "method_not_allowed"),
            (reqwest::Method::POST, "/healthz", 405, "method_not_allowed"),
            (reqwest::Method::from_bytes(b"BREW").unwrap(), "/s/digital-trust", 405, "method_not_allowed"),
        ] {
            let res = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), status, "{method} {path}");
            assert_eq!(res.headers()["x-content-type-options"], "nosniff");
            assert!(res.headers().contains_key("content-security-policy"));
            assert_eq!(res.json::<Value>().await.unwrap()["error"], error, "{method} {path}");
        }
    }

    async fn made_up_methods_share_one_metrics_label(app) {
        for i in 0..50 {
            let method = reqwest::Method::from_bytes(format!("X{i}").as_bytes()).unwrap();
            app.client.request(method, app.url("/healthz")).send().await.unwrap();
        }
        let metrics = app.metrics_address.clone().unwrap();
        let text = app.client.get(format!("{metrics}/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(text.contains(r#"method="other",route="/healthz",status="405"} 50"#), "{text}");
        assert!(!text.contains("X49"));
    }

    async fn a_non_ascii_authorization_header_is_refused_not_ignored(app) {
        app.with_demo_survey();
        let value = reqwest::header::HeaderValue::from_bytes("Bearer tp_\u{e9}".as_bytes()).unwrap();
        let res = app.client.get(app.url("/api/v1/surveys/digital-trust/series?question=portal_trust"))
            .header(reqwest::header::AUTHORIZATION, value).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }

    async fn survey_definitions_and_events_are_public(app) {
        app.with_demo_survey();
        let body: Value = app.get("/api/v1/surveys/digital-trust").await.json().await.unwrap();
        assert_eq!(body["timezone"], "Europe/Moscow");
        assert_eq!(body["status"], "open");
        assert_eq!(body["questions"][1]["options"][0], json!({"code": "dk", "label": {"ru": "Затрудняюсь ответить", "en": "Don't know"}, "non_substantive": true}));
        let list: Value = app.get("/api/v1/surveys").await.json().await.unwrap();
        assert_eq!(list["surveys"].as_array().unwrap().len(), 1);
        let events: Value = app.get("/api/v1/events").await.json().await.unwrap();
        assert_eq!(events["events"][1]["date"], "2023-04-11");
        assert_eq!(app.get("/api/v1/surveys/none").await.status(), 404);
    }
}

#[tokio::test]
async fn metrics_are_never_served_on_the_public_port() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");
    let metrics = app.metrics_address.clone().unwrap();
    let res = app
        .client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("trustpulse_db_pool_connections_max")
    );
}

#[tokio::test]
async fn health_is_503_when_the_postgres_database_goes_away() {
    let Some(mut app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.test_store.drop_database();
    // The store is checked at most every 250 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "unavailable");
}

#[test]
fn the_server_stops_gracefully_on_sigterm() {
    let store = TestStore::new(Backend::Sqlite).unwrap();
    let mut server = ServerProcess::start(&store, "server.log", &[]);
    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(Duration::from_secs(15))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_wrong_postgres_password_is_reported_in_postgres_own_words() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_trustpulse"))
        .args([
            "--database-url",
            "postgres://nobody:wrong@127.0.0.1:1/none",
            "migrate",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("127.0.0.1") && stderr.contains("connection"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("wrong"),
        "the password is never printed: {stderr}"
    );
}

#[test]
fn a_minimum_cell_below_ten_is_refused_at_start() {
    let store = TestStore::new(Backend::Sqlite).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_trustpulse"))
        .args([
            "--database-url",
            &store.url_string(),
            "serve",
            "--bind",
            "127.0.0.1:0",
        ])
        .env("TRUSTPULSE_MIN_CELL", "5")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("TRUSTPULSE_MIN_CELL must be 10 or more")
    );
}

#[tokio::test]
async fn at_info_the_log_keeps_no_time_of_any_answer() {
    let store = TestStore::new(Backend::Sqlite).unwrap();
    let opened = trustpulse::db::Store::open(&store.url).unwrap();
    trustpulse::db::seed::load_demo(&mut opened.get().unwrap(), 0, 1, |_| {}).unwrap();
    drop(opened);
    let server = ServerProcess::start(
        &store,
        "info.log",
        &[("RUST_LOG", "info"), ("TRUSTPULSE_LOG_SUMMARY", "1")],
    );
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.address);
    let health = || async { client.get(url("/healthz")).send().await.unwrap().status() };
    assert_eq!(health().await, 200);
    let res = client
        .post(url("/api/v1/surveys/digital-trust/responses"))
        .json(&serde_json::json!({"answers": {"portal_account": "active", "portal_trust": 4}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        client
            .get(url("/s/digital-trust"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The summary of the window is written by the first request after it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(health().await, 200);
    let mut log = String::new();
    for _ in 0..50 {
        log = server.log();
        if log.contains("requests in the last window") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The two health checks, not the submission or the form.
    assert!(log.contains("requests=2 "), "{log}");
    for route in [
        "route=/api/v1/surveys/{slug}/responses",
        "route=/s/{slug}",
        "route=/healthz",
    ] {
        assert!(!log.contains(route), "{route} logged at INFO:\n{log}");
    }
}
