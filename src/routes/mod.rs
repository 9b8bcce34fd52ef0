//! Thin handlers by audience: parse → call → respond. The route table is here.

mod ops;
mod read;
mod respond;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use crate::config::Settings;
use crate::db::{DbConnection, Store};
use crate::error::{AppError, AppResult};

pub use ops::get_metrics;

/// Every route of the public port.
pub fn configure(cfg: &mut web::ServiceConfig, metrics_on_public_port: bool) {
    cfg.route("/healthz", web::get().to(ops::get_health))
        .route("/assets/site.css", web::get().to(ops::get_stylesheet))
        .route("/s/{slug}", web::get().to(respond::get_form))
        .route("/s/{slug}", web::post().to(respond::post_form))
        .route("/s/{slug}/thanks", web::get().to(respond::get_thanks))
        .route("/api/v1/surveys", web::get().to(read::list_surveys))
        .route("/api/v1/surveys/{slug}", web::get().to(read::get_survey))
        .route(
            "/api/v1/surveys/{slug}/responses",
            web::post().to(respond::create_response),
        )
        .route("/api/v1/events", web::get().to(read::list_events));
    if metrics_on_public_port {
        cfg.route("/metrics", web::get().to(ops::get_metrics));
    }
}

/// Runs store work on the blocking pool, inside the caller's log span.
pub async fn with_conn<T, F>(store: &Store, work: F) -> AppResult<T>
where
    F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let store = store.clone();
    let span = tracing::Span::current();
    web::block(move || {
        let _entered = span.enter();
        let mut conn = store.get()?;
        work(&mut conn)
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// Reads a body up to the configured limit; a larger one is refused unread.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    settings: &Settings,
) -> AppResult<web::Bytes> {
    let limit = settings.max_body;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(AppError::TooLarge(limit));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::Malformed(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The media type of the request without its parameters, lowercased.
pub fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers()
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
}
