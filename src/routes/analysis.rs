//! Reading the numbers: series (JSON and CSV), shifts and change points.
//! Public callers see perturbed figures of completed periods; a researcher
//! token sees exact figures and today (see `analysis::disclosure`).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::Value;

use crate::analysis::service::{self, Reader};
use crate::config::Settings;
use crate::db::{DbConnection, Store};
use crate::error::AppResult;
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
async fn answer_json(
    caller: Caller,
    store: &Store,
    settings: &Settings,
    caches: &web::Data<Caches>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
    figures: impl FnOnce(&Reader, &mut DbConnection, &HashMap<String, String>) -> AppResult<Value>
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
