//! Health, metrics and static assets.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::db::{self, Store};
use crate::error::AppResult;
use crate::routes::with_conn;
use crate::telemetry::Metrics;

pub async fn get_health(store: web::Data<Store>) -> HttpResponse {
    match with_conn(&store, |conn| Ok(db::ping(conn)?)).await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({"status": "unavailable", "error": "store_unreachable"}))
        }
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
