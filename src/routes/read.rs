//! Public reading: survey definitions and events.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::events::Event;
use crate::db::{Store, events, surveys, targets};
use crate::error::AppResult;
use crate::routes::{PathSurvey, with_conn};
use crate::survey::targets::Targets;
use crate::survey::{Access, Lang, Localized, QuestionDef, Status, Survey, SurveyDefinition};

/// A survey as the API shows it: its definition and its state. What it
/// returns can be posted back as it is (see `SurveyInput`).
#[derive(Serialize, ToSchema)]
#[schema(as = Survey)]
pub struct SurveyView {
    slug: String,
    title: Localized,
    description: Localized,
    default_lang: Lang,
    /// IANA time zone whose local date a response keeps.
    timezone: String,
    questions: Vec<QuestionDef>,
    status: Status,
    access: Access,
    /// The store holds generated (synthetic) demo responses for this survey.
    synthetic_responses: bool,
}

impl From<Survey> for SurveyView {
    fn from(s: Survey) -> Self {
        // Every field of the definition, named: a new one cannot be left out.
        let SurveyDefinition {
            slug,
            title,
            description,
            default_lang,
            timezone,
            questions,
        } = s.definition;
        SurveyView {
            slug,
            title,
            description,
            default_lang,
            timezone,
            questions,
            status: s.status,
            access: s.access,
            synthetic_responses: s.synthetic,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SurveyList {
    surveys: Vec<SurveyView>,
}

/// The weighting targets in use and where their shares come from.
#[derive(Serialize, ToSchema)]
pub struct TargetsView {
    /// dimension → option → share; `{}` when there are none.
    #[schema(value_type = std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>)]
    targets: Targets,
    source: Option<String>,
}

impl From<targets::StoredTargets> for TargetsView {
    fn from(stored: targets::StoredTargets) -> Self {
        TargetsView {
            targets: stored.shares,
            source: stored.source,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    /// By date.
    events: Vec<Event>,
}

/// `GET /api/v1/surveys`
#[utoipa::path(
    get,
    path = "/api/v1/surveys",
    tag = "reading",
    summary = "List surveys",
    responses((status = 200, description = "Every survey", body = SurveyList))
)]
pub async fn list_surveys(store: web::Data<Store>) -> AppResult<HttpResponse> {
    let list = with_conn(&store, |conn| Ok(surveys::list(conn)?)).await?;
    let surveys = list.into_iter().map(SurveyView::from).collect();
    Ok(HttpResponse::Ok().json(SurveyList { surveys }))
}

/// `GET /api/v1/surveys/{slug}`
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}",
    tag = "reading",
    summary = "A survey's definition and state",
    params(("slug" = String, Path, description = "The survey's slug")),
    responses((status = 200, description = "The survey", body = SurveyView))
)]
pub async fn get_survey(PathSurvey(survey): PathSurvey) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(SurveyView::from(survey)))
}

/// `GET /api/v1/surveys/{slug}/targets`: the weighting targets in use.
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}/targets",
    tag = "reading",
    summary = "Weighting targets in use",
    params(("slug" = String, Path, description = "The survey's slug")),
    responses((status = 200, description = "Targets and their source", body = TargetsView))
)]
pub async fn get_targets(
    store: web::Data<Store>,
    PathSurvey(survey): PathSurvey,
) -> AppResult<HttpResponse> {
    let stored = with_conn(&store, move |conn| Ok(targets::get(conn, survey.id)?)).await?;
    Ok(HttpResponse::Ok().json(TargetsView::from(stored)))
}

/// `GET /api/v1/events`
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "reading",
    summary = "Dated events shared by all surveys",
    responses((status = 200, description = "Events by date", body = EventList))
)]
pub async fn list_events(store: web::Data<Store>) -> AppResult<HttpResponse> {
    let events = with_conn(&store, |conn| Ok(events::list(conn)?)).await?;
    Ok(HttpResponse::Ok().json(EventList { events }))
}
