//! Health, metrics and static assets.

use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::db::{self, Store};
use crate::error::AppResult;
use crate::routes::with_conn;
use crate::telemetry::Metrics;

/// The last store check: `/healthz` under load checks the store at most
/// once per `HEALTH_FRESH`, and callers meanwhile share the answer.
#[derive(Default)]
pub struct HealthProbe {
    last: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

const HEALTH_FRESH: Duration = Duration::from_millis(250);

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
        HttpResponse::Ok()
            .content_type("application/json")
            .body(r#"{"status":"ok"}"#)
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("application/json")
            .body(r#"{"status":"unavailable","error":"store_unreachable"}"#)
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

pub async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}
