//! trustpulse: a survey tracker of trust in digital government services.
//!
//! Data flows one way: a request enters `routes`, is parsed into `survey`
//! types; `submission` applies the rules of taking a response and `db` stores
//! it with its aggregates; `analysis` reads the aggregates and estimates with
//! `stats`; `pages` and `analysis::report` render. `stats`, `survey` and
//! `auth` know nothing of HTTP or SQL.

pub mod aggregate;
pub mod allocator;
pub mod analysis;
pub mod auth;
pub mod bulk;
pub mod cache;
pub mod catalogue;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod downloads;
pub mod error;
pub mod export;
pub mod ingest;
pub mod limits;
pub mod openapi;
pub mod pages;
pub mod plot;
pub mod rendering;
pub mod routes;
pub mod stats;
pub mod submission;
pub mod survey;
pub mod telemetry;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};

use crate::config::Settings;
use crate::db::Store;
use crate::limits::RateLimiter;
use crate::telemetry::Metrics;

/// Headers for every response; a route may set its own (charts for embedding).
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
}

/// The chart catalogue, each entry checked against its survey when the store
/// has it (an entry for another survey waits, unshown, until it is added).
fn load_catalogue(settings: &Settings, store: &Store) -> std::io::Result<Vec<catalogue::Entry>> {
    let entries = catalogue::load(&settings.charts_dir).map_err(std::io::Error::other)?;
    let mut conn = store.get().map_err(std::io::Error::other)?;
    for entry in &entries {
        let Some(survey) =
            db::surveys::find_by_slug(&mut conn, &entry.survey).map_err(std::io::Error::other)?
        else {
            tracing::warn!(chart = %entry.name, survey = %entry.survey, "catalogue chart for a survey not in the store");
            continue;
        };
        let has_targets = !db::targets::get(&mut conn, survey.id)
            .map_err(std::io::Error::other)?
            .shares
            .is_empty();
        let has_waves = !db::surveys::waves(&mut conn, survey.id)
            .map_err(std::io::Error::other)?
            .is_empty();
        entry
            .check(&survey.definition, has_targets, has_waves)
            .map_err(|problem| {
                std::io::Error::other(format!(
                    "chart catalogue {}: {}.toml {problem}",
                    settings.charts_dir.display(),
                    entry.name
                ))
            })?;
    }
    tracing::info!(charts = entries.len(), dir = %settings.charts_dir.display(), "chart catalogue loaded");
    Ok(entries)
}

/// Starts the HTTP server on an already bound listener (port 0 in tests), and
/// /metrics on its own listener if one is given (never on the public port).
pub fn start_server(
    settings: Settings,
    store: Store,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
) -> std::io::Result<Vec<Server>> {
    let form_key = {
        let mut conn = store.get().map_err(std::io::Error::other)?;
        db::secrets::get_or_create(&mut conn, "form_token_key").map_err(std::io::Error::other)?
    };
    let form_key = web::Data::new(routes::FormKey(form_key));
    let catalogue = web::Data::new(routes::Catalogue(load_catalogue(&settings, &store)?));
    let limiter = web::Data::new(RateLimiter::new(settings.submit_rate));
    let metrics = web::Data::new(Metrics::new());
    let summary = web::Data::new(telemetry::RequestSummary::new(settings.log_summary));
    let health = web::Data::new(routes::HealthProbe::default());
    let survey_cache = web::Data::new(routes::SurveyCache::default());
    let caches = web::Data::new(rendering::Caches::new());
    let ingest = web::Data::new(ingest::Ingest::start(store.clone())?);
    let store = web::Data::new(store);
    let settings = web::Data::new(settings);
    let (request_timeout, keep_alive) = (settings.request_timeout, settings.keep_alive);
    let app_metrics = metrics.clone();
    let app_store = store.clone();
    let public = HttpServer::new(move || {
        App::new()
            .app_data(app_metrics.clone())
            .app_data(app_store.clone())
            .app_data(settings.clone())
            .app_data(form_key.clone())
            .app_data(limiter.clone())
            .app_data(caches.clone())
            .app_data(ingest.clone())
            .app_data(summary.clone())
            .app_data(health.clone())
            .app_data(survey_cache.clone())
            .app_data(catalogue.clone())
            // Extractor failures answer in the same JSON shape as every other error.
            .app_data(web::PathConfig::default().error_handler(|e, _| {
                error::AppError::NotFound(format!("no such resource: {e}")).into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                error::AppError::Malformed(format!("unreadable query string: {e}")).into()
            }))
            .wrap(Compress::default())
            .wrap(security_headers())
            .wrap(from_fn(telemetry::observe_request))
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
    })
    .client_request_timeout(request_timeout)
    .client_disconnect_timeout(Duration::from_secs(5))
    .keep_alive(keep_alive)
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    let mut servers = vec![public];
    if let Some(listener) = metrics_listener {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(metrics.clone())
                .app_data(store.clone())
                .route("/metrics", web::get().to(routes::get_metrics))
        })
        .workers(1)
        .shutdown_timeout(5)
        .listen(listener)?
        .run();
        servers.push(server);
    }
    Ok(servers)
}
