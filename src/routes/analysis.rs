//! Reading the numbers: series (JSON and CSV), shifts and change points.
//! Public callers see completed days only; a researcher token sees today too.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use chrono::NaiveDate;

use crate::analysis::params::{self, SeriesSpec};
use crate::analysis::series::{self, Context, Series};
use crate::analysis::{changepoints, report, shifts};
use crate::config::Settings;
use crate::db::events::{self, Event};
use crate::db::surveys::Wave;
use crate::db::targets::StoredTargets;
use crate::db::{DbConnection, Store, aggregates, surveys, targets};
use crate::error::{AppError, AppResult, Detail};
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

/// Parameters of a series that mean nothing before/after an event.
const NOT_FOR_SHIFTS: [&str; 4] = ["interval", "from", "to", "smooth"];

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
    let slug = slug.into_inner();
    let query = query.into_inner();
    let body = with_conn(&store, move |conn| {
        let loaded = load(conn, &slug)?;
        let mut problems: Vec<Detail> = NOT_FOR_SHIFTS
            .iter()
            .filter(|p| query.contains_key(**p))
            .map(|p| Detail::field(*p, "not_applicable", "shifts compare two windows around an event"))
            .collect();
        let spec = match spec(&loaded, &query, &["event", "date", "window_days"]) {
            Ok(spec) => Some(spec),
            Err(AppError::Invalid { details, .. }) => {
                problems.extend(details);
                None
            }
            Err(e) => return Err(e),
        };
        let window_days = match query.get("window_days").map(|v| v.parse::<i64>()) {
            None => shifts::DEFAULT_WINDOW_DAYS,
            Some(Ok(d)) if (1..=shifts::MAX_WINDOW_DAYS).contains(&d) => d,
            Some(_) => {
                problems.push(Detail::field("window_days", "out_of_range", format!("whole days, 1 to {}", shifts::MAX_WINDOW_DAYS)));
                shifts::DEFAULT_WINDOW_DAYS
            }
        };
        let all_events = events::list(conn)?;
        let dates: Vec<(Option<Event>, NaiveDate)> = match (query.get("event"), query.get("date")) {
            (Some(_), Some(_)) => {
                problems.push(Detail::field("date", "not_both", "name an event or a date, not both"));
                Vec::new()
            }
            (Some(id), None) => match all_events.iter().find(|e| e.id.to_string() == *id) {
                Some(e) => vec![(Some(e.clone()), e.event_date)],
                None => {
                    problems.push(Detail::field("event", "unknown_event", format!("no event {id:?}")));
                    Vec::new()
                }
            },
            (None, Some(d)) => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(date) => vec![(None, date)],
                Err(_) => {
                    problems.push(Detail::field("date", "invalid_date", "use YYYY-MM-DD"));
                    Vec::new()
                }
            },
            (None, None) => match aggregates::date_range(conn, loaded.survey.id)? {
                Some((first, last)) => all_events
                    .iter()
                    .filter(|e| first <= e.event_date && e.event_date <= last)
                    .map(|e| (Some(e.clone()), e.event_date))
                    .collect(),
                None => Vec::new(),
            },
        };
        let spec = match spec {
            Some(spec) if problems.is_empty() => spec,
            _ => return Err(AppError::invalid("the parameters do not fit this survey", problems)),
        };
        let every_event = !query.contains_key("event") && !query.contains_key("date");
        let ctx = context(&loaded, &settings, public);
        let (list, weighting) = shifts::compute(conn, &ctx, &spec, &dates, window_days)?;
        let data_version = aggregates::data_version(conn, loaded.survey.id)?;
        let meta = serde_json::json!({
            "survey": loaded.survey.definition.slug,
            "question": spec.question.code,
            "text": spec.question.prompt,
            "metric": spec.metric.as_str(),
            "option": spec.option,
            "by": spec.by.as_ref().map(|q| q.code.clone()),
            "definition": report::definition(&spec),
            "base": report::base(&spec),
            "window_days": window_days,
            "windows": "before = [date − window_days, date), after = [date, date + window_days), each its own sample; after is cut at the last completed day for the public",
            "method": "difference = after − before; SE = √(SE_after² + SE_before²); z = difference/SE; p = 2(1 − Φ(|z|)); 95% CI = difference ± 1.96·SE",
            "multiple_comparisons": if every_event { Some("p-values are per event and not adjusted for multiple comparisons") } else { None },
            "weighting": { "weighted": spec.weighted && !loaded.targets.shares.is_empty(), "periods": weighting },
            "min_cell": settings.min_cell,
            "completed_days_only": public,
            "generated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data_version": data_version,
            "synthetic_data": loaded.survey.synthetic,
            "note": report::SAMPLING_NOTE,
        });
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
