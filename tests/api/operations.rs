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
        let res = app.get("/metrics").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["x-request-id"].to_str().unwrap().len() >= 16);
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
        let res = app.client.delete(app.url("/api/v1/events/not-a-number")).send().await.unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");
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
async fn metrics_move_off_the_public_port_when_given_their_own_address() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.metrics_bind = Some("127.0.0.1:0".into())
    })
    .await
    .unwrap();
    assert_eq!(app.get("/metrics").await.status(), 404);
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
