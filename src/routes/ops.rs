//! Health, metrics and static assets.

use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, Store};
use crate::error::AppResult;
use crate::routes::with_conn;
use crate::telemetry::Metrics;

/// Whether the store answers.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(pattern = "^(ok|unavailable)$")]
    status: &'static str,
    /// `store_unreachable` when the status is `unavailable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

/// The last store check: `/healthz` under load checks the store at most
/// once per `HEALTH_FRESH`, and callers meanwhile share the answer.
#[derive(Default)]
pub struct HealthProbe {
    last: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

const HEALTH_FRESH: Duration = Duration::from_millis(250);

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Store health (checked at most every 250 ms)",
    responses(
        (status = 200, description = "The store answers", body = Health),
        (status = 503, description = "The store is unavailable", body = Health),
    )
)]
pub async fn get_health(store: web::Data<Store>, probe: web::Data<HealthProbe>) -> HttpResponse {
    let healthy = {
        let mut last = probe.last.lock().await;
        match *last {
            Some((at, healthy)) if at.elapsed() < HEALTH_FRESH => healthy,
            _ => {
                let healthy = match with_conn(&store, |conn| Ok(db::ping(conn)?)).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "health check failed");
                        false
                    }
                };
                *last = Some((Instant::now(), healthy));
                healthy
            }
        }
    };
    if healthy {
        HttpResponse::Ok().json(Health {
            status: "ok",
            error: None,
        })
    } else {
        HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable",
            error: Some("store_unreachable"),
        })
    }
}

pub async fn get_metrics(
    metrics: web::Data<Metrics>,
    store: web::Data<Store>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render(&store)))
}

const STYLESHEET: &str = include_str!("../../assets/site.css");

pub async fn get_stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(STYLESHEET)
}

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    summary = "This document",
    responses((status = 200, description = "OpenAPI 3.1", body = Object))
)]
pub async fn get_openapi() -> HttpResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| {
        crate::openapi::document()
            .to_json()
            .expect("the OpenAPI document serializes")
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}
