//! Reading the numbers: series (JSON and CSV), shifts and change points.
//! Public callers see completed days only; a researcher token sees today too.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::analysis::params::{self, SeriesSpec};
use crate::analysis::series::{self, Context, Series};
use crate::analysis::{changepoints, report, shifts};
use crate::config::Settings;
use crate::db::events;
use crate::db::surveys::Wave;
use crate::db::targets::StoredTargets;
use crate::db::{DbConnection, Store, aggregates, surveys, targets};
use crate::error::{AppError, AppResult};
use crate::routes::{caller_role, with_conn};
use crate::submission::local_today;
use crate::survey::Survey;

/// Everything a reading endpoint needs about its survey.
pub struct Loaded {
    pub survey: Survey,
    pub targets: StoredTargets,
    pub waves: Vec<Wave>,
}

pub fn load(conn: &mut DbConnection, slug: &str) -> AppResult<Loaded> {
    let survey = surveys::find_by_slug(conn, slug)?
        .ok_or_else(|| AppError::NotFound(format!("no survey {slug:?}")))?;
    let targets = targets::get(conn, survey.id)?;
    let waves = surveys::waves(conn, survey.id)?;
    Ok(Loaded {
        survey,
        targets,
        waves,
    })
}

/// Parses series parameters against the survey (422 naming each problem).
pub fn spec(
    loaded: &Loaded,
    query: &HashMap<String, String>,
    extra: &[&str],
) -> AppResult<SeriesSpec> {
    params::parse(
        &loaded.survey.definition,
        !loaded.targets.shares.is_empty(),
        !loaded.waves.is_empty(),
        query,
        extra,
    )
    .map_err(|details| AppError::invalid("the parameters do not fit this survey", details))
}

pub fn context<'a>(loaded: &'a Loaded, settings: &Settings, public: bool) -> Context<'a> {
    let today = local_today(&loaded.survey);
    Context {
        survey: &loaded.survey,
        targets: &loaded.targets.shares,
        waves: &loaded.waves,
        min_cell: settings.min_cell,
        last_day: if public {
            report::public_last_day(today)
        } else {
            today
        },
    }
}

async fn compute(
    req: &HttpRequest,
    store: &Store,
    settings: &Settings,
    slug: String,
    query: HashMap<String, String>,
) -> AppResult<(Loaded, SeriesSpec, Series, bool)> {
    let public = caller_role(req, store).await?.is_none();
    let settings = settings.clone();
    with_conn(store, move |conn| {
        let loaded = load(conn, &slug)?;
        let spec = spec(&loaded, &query, &[])?;
        let series = series::compute(conn, &context(&loaded, &settings, public), &spec)?;
        Ok((loaded, spec, series, public))
    })
    .await
}

/// `GET /api/v1/surveys/{slug}/series`
pub async fn get_series(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    slug: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let (loaded, spec, series, public) = compute(
        &req,
        &store,
        &settings,
        slug.into_inner(),
        query.into_inner(),
    )
    .await?;
    let meta = report::meta(
        &loaded.survey,
        &spec,
        &series,
        &loaded.targets,
        settings.min_cell,
        public,
    );
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            if public {
                "public, max-age=300"
            } else {
                "private, no-store"
            },
        ))
        .json(report::SeriesBody {
            meta,
            points: &series.points,
        }))
}

/// `GET /api/v1/surveys/{slug}/series.csv`
pub async fn get_series_csv(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    slug: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let (loaded, spec, series, public) = compute(
        &req,
        &store,
        &settings,
        slug.into_inner(),
        query.into_inner(),
    )
    .await?;
    let body = report::csv(&loaded.survey, &spec, &series.points)
        .map_err(|e| AppError::Internal(e.into()))?;
    let file = format!(
        "{}-{}-{}.csv",
        loaded.survey.definition.slug,
        spec.question.code,
        spec.metric.as_str()
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .insert_header((
            header::CACHE_CONTROL,
            if public {
                "public, max-age=300"
            } else {
                "private, no-store"
            },
        ))
        .body(body))
}

/// `GET /api/v1/surveys/{slug}/shifts`
pub async fn get_shifts(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    slug: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let public = caller_role(&req, &store).await?.is_none();
    let settings = settings.into_inner();
    let (slug, query) = (slug.into_inner(), query.into_inner());
    let body = with_conn(&store, move |conn| {
        let loaded = load(conn, &slug)?;
        let range = aggregates::date_range(conn, loaded.survey.id)?;
        let events = events::list(conn)?;
        // Every problem at once: the series part and the shift part.
        let spec = spec(&loaded, &query, shifts::PARAMS);
        let request = shifts::parse(&query, &events, range);
        let (spec, request) = match (spec, request) {
            (Ok(spec), Ok(request)) => (spec, request),
            (spec, request) => {
                let mut details = match spec {
                    Err(AppError::Invalid { details, .. }) => details,
                    Err(other) => return Err(other),
                    Ok(_) => Vec::new(),
                };
                details.extend(request.err().unwrap_or_default());
                return Err(AppError::invalid(
                    "the parameters do not fit this survey",
                    details,
                ));
            }
        };
        let ctx = context(&loaded, &settings, public);
        let (list, weighting) =
            shifts::compute(conn, &ctx, &spec, &request.dates, request.window_days)?;
        let data_version = aggregates::data_version(conn, loaded.survey.id)?;
        let meta = report::shifts_meta(
            &loaded.survey,
            &spec,
            &request,
            weighting,
            settings.min_cell,
            public,
            data_version,
        );
        Ok(serde_json::json!({ "meta": meta, "shifts": list }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/surveys/{slug}/changepoints`
pub async fn get_changepoints(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    slug: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let (loaded, spec, series, public) = compute(
        &req,
        &store,
        &settings,
        slug.into_inner(),
        query.into_inner(),
    )
    .await?;
    let groups = changepoints::compute(&series, &spec, settings.min_cell);
    let mut meta = report::meta(
        &loaded.survey,
        &spec,
        &series,
        &loaded.targets,
        settings.min_cell,
        public,
    );
    meta["exploratory"] = serde_json::json!(changepoints::NOTE);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "meta": meta, "groups": groups })))
}
