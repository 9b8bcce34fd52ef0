//! Public reading: survey definitions and events.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::db::{Store, events, surveys, targets};
use crate::error::AppResult;
use crate::routes::{PathSurvey, with_conn};
use crate::survey::{Access, Status, Survey, SurveyDefinition};

/// A survey as the API shows it: its definition and its state.
#[derive(Serialize)]
pub struct SurveyView {
    #[serde(flatten)]
    definition: SurveyDefinition,
    status: Status,
    access: Access,
    /// The store holds generated (synthetic) demo responses for this survey.
    synthetic_responses: bool,
}

impl From<Survey> for SurveyView {
    fn from(s: Survey) -> Self {
        SurveyView {
            definition: s.definition,
            status: s.status,
            access: s.access,
            synthetic_responses: s.synthetic,
        }
    }
}

pub async fn list_surveys(store: web::Data<Store>) -> AppResult<HttpResponse> {
    let list = with_conn(&store, |conn| Ok(surveys::list(conn)?)).await?;
    let views: Vec<SurveyView> = list.into_iter().map(SurveyView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "surveys": views })))
}

pub async fn get_survey(PathSurvey(survey): PathSurvey) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(SurveyView::from(survey)))
}

/// `GET /api/v1/surveys/{slug}/targets`: the weighting targets in use.
pub async fn get_targets(
    store: web::Data<Store>,
    PathSurvey(survey): PathSurvey,
) -> AppResult<HttpResponse> {
    let stored = with_conn(&store, move |conn| Ok(targets::get(conn, survey.id)?)).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "targets": stored.shares, "source": stored.source })))
}

pub async fn list_events(store: web::Data<Store>) -> AppResult<HttpResponse> {
    let list = with_conn(&store, |conn| Ok(events::list(conn)?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "events": list })))
}
