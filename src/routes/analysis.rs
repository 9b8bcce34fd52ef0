//! Reading the numbers: series (JSON and CSV), shifts and change points.
//! Public callers see perturbed figures of completed periods; a researcher
//! token sees exact figures and today (see `analysis::disclosure`).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::analysis::params::SeriesQuery;
use crate::analysis::service::{self, Reader};
use crate::analysis::shifts::ShiftsQuery;
use crate::config::Settings;
use crate::db::{DbConnection, Store};
use crate::error::{AppResult, ErrorBody};
use crate::rendering::Caches;
use crate::routes::{Caller, single_values, with_conn};

/// Runs `work` with a reader for the survey, off the async workers.
async fn read<T: Send + 'static>(
    caller: &Caller,
    store: &Store,
    settings: &Settings,
    caches: &web::Data<Caches>,
    slug: String,
    work: impl FnOnce(&Reader, &mut DbConnection) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let (public, min_cell) = (caller.is_public(), settings.min_cell);
    let caches = caches.clone().into_inner();
    with_conn(store, move |conn| {
        let loaded = service::load(conn, &slug)?;
        work(
            &Reader::new(&loaded, public, min_cell).with_memo(&caches.figures),
            conn,
        )
    })
    .await
}

/// Public answers may be cached, exact ones never; the same URL answers
/// differently with a token, so caches must key on it.
fn cached(caller: &Caller, response: &mut actix_web::HttpResponseBuilder) {
    let value = if caller.is_public() {
        "public, max-age=300"
    } else {
        "private, no-store"
    };
    response
        .insert_header((header::CACHE_CONTROL, value))
        .insert_header((header::VARY, "Authorization"));
}

/// One JSON answer of the analysis service, cached as the caller allows.
async fn answer_json<T: Serialize + Send + 'static>(
    caller: Caller,
    store: &Store,
    settings: &Settings,
    caches: &web::Data<Caches>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
    figures: impl FnOnce(&Reader, &mut DbConnection, &HashMap<String, String>) -> AppResult<T>
    + Send
    + 'static,
) -> AppResult<HttpResponse> {
    let query = single_values(query.into_inner())?;
    let body = read(
        &caller,
        store,
        settings,
        caches,
        slug.into_inner(),
        move |r, c| figures(r, c, &query),
    )
    .await?;
    let mut response = HttpResponse::Ok();
    cached(&caller, &mut response);
    Ok(response.json(body))
}

/// `GET /api/v1/surveys/{slug}/series`
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}/series",
    tag = "reading",
    summary = "A time series with 95% intervals",
    description = "Public: perturbed figures (cell-key method) of completed periods; interval=day, shift date/window_days and a demographic question as the measured question need a researcher token (403). With a researcher or admin token: exact figures, today included. An unknown or revoked token is 401.",
    security((), ("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug"), SeriesQuery),
    responses(
        (status = 200, description = "Metadata and points", body = service::SeriesResponse),
        (status = 403, description = "A parameter only researchers may use", body = ErrorBody),
        (status = 422, description = "Parameters that do not fit the survey, an unknown or repeated parameter, or too many points", body = ErrorBody),
    )
)]
pub async fn get_series(
    caller: Caller,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    caches: web::Data<Caches>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    answer_json(
        caller,
        &store,
        &settings,
        &caches,
        slug,
        query,
        |r, c, q| r.series_json(c, q),
    )
    .await
}

/// `GET /api/v1/surveys/{slug}/series.csv`
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}/series.csv",
    tag = "reading",
    summary = "The same series as CSV",
    description = "Public: perturbed figures (cell-key method) of completed periods; interval=day, shift date/window_days and a demographic question as the measured question need a researcher token (403). With a researcher or admin token: exact figures, today included. An unknown or revoked token is 401.",
    security((), ("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug"), SeriesQuery),
    responses(
        (status = 200, description = "Columns survey,question,metric,option,group_by,group,period_start,interval,n,n_eff,value,ci_low,ci_high,suppressed,weighted", body = String, content_type = "text/csv"),
        (status = 403, description = "A parameter only researchers may use", body = ErrorBody),
        (status = 422, description = "Parameters that do not fit the survey, an unknown or repeated parameter, or too many points", body = ErrorBody),
    )
)]
pub async fn get_series_csv(
    caller: Caller,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    caches: web::Data<Caches>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let query = single_values(query.into_inner())?;
    let csv = read(
        &caller,
        &store,
        &settings,
        &caches,
        slug.into_inner(),
        move |r, c| r.series_csv(c, &query),
    )
    .await?;
    let mut response = HttpResponse::Ok();
    cached(&caller, &mut response);
    // The CSV's columns are fixed: what meta says goes in headers.
    Ok(response
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", csv.file),
        ))
        .insert_header(("X-Data-Version", csv.data_version.to_string()))
        .insert_header((
            "X-Perturbed",
            if caller.is_public() { "true" } else { "false" },
        ))
        .body(csv.body))
}

/// `GET /api/v1/surveys/{slug}/shifts`
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}/shifts",
    tag = "reading",
    summary = "Before vs after an event (or every event in the survey's range)",
    description = "Public: perturbed figures (cell-key method) of completed periods; interval=day, shift date/window_days and a demographic question as the measured question need a researcher token (403). With a researcher or admin token: exact figures, today included. An unknown or revoked token is 401.",
    security((), ("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug"), ShiftsQuery),
    responses(
        (status = 200, description = "Both windows' estimates, the difference with its 95% CI, z and p, per event (and group)", body = service::ShiftsResponse),
        (status = 403, description = "A parameter only researchers may use", body = ErrorBody),
        (status = 422, description = "Parameters that do not fit the survey, an unknown or repeated parameter, or too many points", body = ErrorBody),
    )
)]
pub async fn get_shifts(
    caller: Caller,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    caches: web::Data<Caches>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    answer_json(
        caller,
        &store,
        &settings,
        &caches,
        slug,
        query,
        |r, c, q| r.shifts(c, q),
    )
    .await
}

/// `GET /api/v1/surveys/{slug}/changepoints`
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}/changepoints",
    tag = "reading",
    summary = "Exploratory change points of a series (PELT)",
    description = "Public: perturbed figures (cell-key method) of completed periods; interval=day, shift date/window_days and a demographic question as the measured question need a researcher token (403). With a researcher or admin token: exact figures, today included. An unknown or revoked token is 401.",
    security((), ("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug"), SeriesQuery),
    responses(
        (status = 200, description = "Per group: segments with pooled estimates and intervals, shift sizes, the penalty", body = service::ChangepointsResponse),
        (status = 403, description = "A parameter only researchers may use", body = ErrorBody),
        (status = 422, description = "Parameters that do not fit the survey, an unknown or repeated parameter, or too many points", body = ErrorBody),
    )
)]
pub async fn get_changepoints(
    caller: Caller,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    caches: web::Data<Caches>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    answer_json(
        caller,
        &store,
        &settings,
        &caches,
        slug,
        query,
        |r, c, q| r.changepoints(c, q),
    )
    .await
}
