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
    /// The last answer and when the store gave it: read without waiting.
    last: std::sync::Mutex<Option<(Instant, bool)>>,
    /// Held by the one request asking the store; the others wait for it.
    asking: tokio::sync::Mutex<()>,
}

impl HealthProbe {
    fn fresh(&self) -> Option<bool> {
        let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.filter(|(at, _)| at.elapsed() < HEALTH_FRESH)
            .map(|(_, healthy)| healthy)
    }
}

/// What `Health { status: "ok" }` serializes to, written once.
const HEALTHY: &str = r#"{"status":"ok"}"#;

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
    let healthy = match probe.fresh() {
        Some(healthy) => healthy,
        None => {
            let _asking = probe.asking.lock().await;
            match probe.fresh() {
                Some(healthy) => healthy,
                None => {
                    let healthy = match with_conn(&store, |conn| Ok(db::ping(conn)?)).await {
                        Ok(()) => true,
                        Err(e) => {
                            tracing::warn!(error = %e, "health check failed");
                            false
                        }
                    };
                    *probe.last.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((Instant::now(), healthy));
                    healthy
                }
            }
        }
    };
    if healthy {
        HttpResponse::Ok()
            .insert_header(header::ContentType::json())
            .body(HEALTHY)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_healthy_body_is_what_health_serializes_to() {
        let ok = Health {
            status: "ok",
            error: None,
        };
        assert_eq!(serde_json::to_string(&ok).unwrap(), HEALTHY);
    }
}
