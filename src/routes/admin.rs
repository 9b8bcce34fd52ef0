//! Admins: survey definitions, status and access, waves, events, targets,
//! invitations and removal of spam responses. Every route needs the admin role.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::config::Settings;
use crate::db::events::{Event, NewEvent};
use crate::db::surveys::Wave;
use crate::db::{Store, events, invitations, responses, surveys, targets};
use crate::error::{AppError, AppResult, Detail, ErrorBody};
use crate::routes::SurveyCache;
use crate::routes::read::{SurveyView, TargetsView};
use crate::routes::{Admin, AdminSurvey, media_type, read_body, with_conn};
use crate::survey::targets::Targets;
use crate::survey::{
    Access, Lang, Localized, QuestionDef, Status, Survey, SurveyDefinition, definition,
};
use diesel::Connection;

/// Reads a JSON body into `T`: 415 for another type, 400 for broken JSON,
/// 422 naming the field when the shape is wrong.
async fn json_body<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    settings: &Settings,
) -> AppResult<T> {
    let body = read_body(req, payload, settings).await?;
    if media_type(req) != "application/json" {
        return Err(AppError::UnsupportedMediaType(
            "send application/json".into(),
        ));
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| AppError::Malformed(format!("the body is not valid JSON: {e}")))?;
    shaped(value)
}

/// A JSON value into `T`, 422 naming the field when the shape is wrong (an
/// unknown field included: typos never vanish).
fn shaped<T: DeserializeOwned>(value: Value) -> AppResult<T> {
    serde_json::from_value(value).map_err(|e| {
        let text = e.to_string();
        let field = text
            .split('`')
            .nth(1)
            .filter(|_| text.starts_with("missing field") || text.starts_with("unknown field"))
            .unwrap_or("")
            .to_string();
        AppError::invalid(
            "the body does not have the expected shape",
            vec![Detail::field(field, "wrong_shape", text)],
        )
    })
}

fn invalid(details: Vec<Detail>) -> AppError {
    AppError::invalid("the input is not valid", details)
}

/// A survey body as GET returns it: the definition, plus `status` and
/// `access` (honoured) and `synthetic_responses` (read-only: it must match).
struct SurveyBody {
    definition: SurveyDefinition,
    status: Option<Status>,
    access: Option<Access>,
    synthetic_responses: Option<bool>,
}

/// A survey body as admins send it (`POST`, `PUT`): a full definition, and
/// optionally the state `GET` shows, so what `GET` returns can be sent back.
/// Describes what `survey_body` reads; a test checks a `GET` body fits it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SurveyInput {
    /// 1-64 lowercase letters, digits and single hyphens.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 64)]
    slug: String,
    title: Localized,
    #[serde(default)]
    description: Localized,
    default_lang: Lang,
    /// An IANA time zone name (default UTC).
    #[serde(default)]
    timezone: String,
    /// At least one.
    questions: Vec<QuestionDef>,
    status: Option<Status>,
    access: Option<Access>,
    /// Read-only: it must match the store.
    synthetic_responses: Option<bool>,
}

async fn survey_body(
    req: &HttpRequest,
    payload: web::Payload,
    settings: &Settings,
) -> AppResult<SurveyBody> {
    let mut value: Value = json_body(req, payload, settings).await?;
    let status = state_field(&mut value, "status")?;
    let access = state_field(&mut value, "access")?;
    let synthetic_responses = state_field(&mut value, "synthetic_responses")?;
    let definition: SurveyDefinition = shaped(value)?;
    definition.validate().map_err(invalid)?;
    Ok(SurveyBody {
        definition,
        status,
        access,
        synthetic_responses,
    })
}

/// Takes a field that is not part of the definition out of a survey body.
fn state_field<T: DeserializeOwned>(body: &mut Value, name: &str) -> AppResult<Option<T>> {
    match body.as_object_mut().and_then(|o| o.remove(name)) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| invalid(vec![Detail::field(name, "invalid", e.to_string())])),
    }
}

/// Sets what a survey body says of status and access; refuses a change of
/// the read-only `synthetic_responses`.
fn apply_state(
    conn: &mut crate::db::DbConnection,
    survey: &Survey,
    body: &SurveyBody,
) -> AppResult<()> {
    if body
        .synthetic_responses
        .is_some_and(|s| s != survey.synthetic)
    {
        return Err(invalid(vec![Detail::field(
            "synthetic_responses",
            "read_only",
            "says whether the store holds generated responses; it cannot be set",
        )]));
    }
    if let Some(status) = body.status {
        surveys::set_status(conn, survey.id, status)?;
    }
    if let Some(access) = body.access {
        surveys::set_access(conn, survey.id, access)?;
    }
    Ok(())
}

/// `POST /api/v1/surveys`
#[utoipa::path(
    post,
    path = "/api/v1/surveys",
    tag = "admins",
    summary = "Create a survey from a full definition",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    request_body = SurveyInput,
    responses((status = 201, description = "Created", body = SurveyView), (status = 409, description = "The slug is taken", body = ErrorBody))
)]
pub async fn create_survey(
    _admin: Admin,
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    survey_cache: web::Data<SurveyCache>,
    settings: web::Data<Settings>,
) -> AppResult<HttpResponse> {
    let body = survey_body(&req, payload, &settings).await?;
    let survey = with_conn(&store, move |conn| {
        let def = &body.definition;
        conn.transaction(|conn| {
            if surveys::find_by_slug(conn, &def.slug)?.is_some() {
                return Err(AppError::Conflict {
                    code: "slug_taken",
                    message: format!("a survey {:?} exists", def.slug),
                });
            }
            surveys::insert(conn, def)?;
            let created = surveys::find_by_slug(conn, &def.slug)?
                .ok_or_else(|| AppError::NotFound("vanished".into()))?;
            apply_state(conn, &created, &body)?;
            surveys::find_by_slug(conn, &def.slug)?
                .ok_or_else(|| AppError::NotFound("vanished".into()))
        })
    })
    .await?;
    // Respondents' pages see the change at once in this instance.
    survey_cache.forget(&survey.definition.slug);
    Ok(HttpResponse::Created().json(SurveyView::from(survey)))
}

/// `PUT /api/v1/surveys/{slug}`: labels may always change; a question with
/// answers keeps its structure (409), so its history means what it meant.
#[utoipa::path(
    put,
    path = "/api/v1/surveys/{slug}",
    tag = "admins",
    summary = "Replace a definition (labels always; a question with answers keeps its structure)",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug")),
    request_body = SurveyInput,
    responses((status = 200, description = "Replaced", body = SurveyView), (status = 409, description = "A question with answers would change beyond its labels", body = ErrorBody))
)]
pub async fn replace_survey(
    _admin: Admin,
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    survey_cache: web::Data<SurveyCache>,
    settings: web::Data<Settings>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let slug = slug.into_inner();
    let body = survey_body(&req, payload, &settings).await?;
    if body.definition.slug != slug {
        return Err(invalid(vec![Detail::field(
            "slug",
            "mismatch",
            "the slug cannot change",
        )]));
    }
    let survey = with_conn(&store, move |conn| {
        let def = &body.definition;
        let current = surveys::find_by_slug(conn, &slug)?.ok_or_else(|| AppError::NotFound(format!("no survey {slug:?}")))?;
        let mut blocked = Vec::new();
        for code in definition::structural_changes(&current.definition, def) {
            if responses::question_has_answers(conn, current.id, &code)? {
                blocked.push(Detail::question(
                    code,
                    "answered_question_changed",
                    "this question has answers: only its labels may change; give a changed question a new code",
                ));
            }
        }
        if !blocked.is_empty() {
            return Err(AppError::Conflict {
                code: "answered_question_changed",
                message: format!(
                    "questions with answers cannot change beyond their labels: {}",
                    blocked.iter().filter_map(|d| d.question.clone()).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        conn.transaction(|conn| {
            surveys::replace(conn, current.id, def)?;
            apply_state(conn, &current, &body)
        })?;
        surveys::find_by_slug(conn, &slug)?.ok_or_else(|| AppError::NotFound("vanished".into()))
    })
    .await?;
    // Respondents' pages see the change at once in this instance.
    survey_cache.forget(&survey.definition.slug);
    Ok(HttpResponse::Ok().json(SurveyView::from(survey)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyPatch {
    status: Option<Status>,
    access: Option<Access>,
}

/// `PATCH /api/v1/surveys/{slug}`: open or close; open to all or by invitation.
#[utoipa::path(
    patch,
    path = "/api/v1/surveys/{slug}",
    tag = "admins",
    summary = "Open or close; open to all or by invitation",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug")),
    request_body = SurveyPatch,
    responses((status = 200, description = "Updated", body = SurveyView))
)]
pub async fn patch_survey(
    AdminSurvey(survey): AdminSurvey,
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    survey_cache: web::Data<SurveyCache>,
    settings: web::Data<Settings>,
) -> AppResult<HttpResponse> {
    let patch: SurveyPatch = json_body(&req, payload, &settings).await?;
    let survey = with_conn(&store, move |conn| {
        conn.transaction(|conn| {
            if let Some(status) = patch.status {
                surveys::set_status(conn, survey.id, status)?;
            }
            if let Some(access) = patch.access {
                surveys::set_access(conn, survey.id, access)?;
            }
            surveys::find_by_slug(conn, &survey.definition.slug)?
                .ok_or_else(|| AppError::NotFound("vanished".into()))
        })
    })
    .await?;
    // Respondents' pages see the change at once in this instance.
    survey_cache.forget(&survey.definition.slug);
    Ok(HttpResponse::Ok().json(SurveyView::from(survey)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWave {
    /// 1-100 characters, unique in the survey.
    #[schema(min_length = 1, max_length = 100)]
    label: String,
    opens: NaiveDate,
    closes: NaiveDate,
}

/// `POST /api/v1/surveys/{slug}/waves`: dates inclusive, never overlapping.
#[utoipa::path(
    post,
    path = "/api/v1/surveys/{slug}/waves",
    tag = "admins",
    summary = "Create a wave (inclusive dates, never overlapping)",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug")),
    request_body = NewWave,
    responses((status = 201, description = "Created", body = Wave))
)]
pub async fn create_wave(
    AdminSurvey(survey): AdminSurvey,
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> AppResult<HttpResponse> {
    let wave: NewWave = json_body(&req, payload, &settings).await?;
    let label = wave.label.trim().to_string();
    let mut details = Vec::new();
    if label.is_empty() || label.chars().count() > 100 {
        details.push(Detail::field("label", "invalid", "1-100 characters"));
    }
    for (field, d) in [("opens", wave.opens), ("closes", wave.closes)] {
        if !crate::analysis::params::date_in_range(d) {
            details.push(Detail::field(
                field,
                "out_of_range",
                "a date from 1900-01-01 to 2199-12-31",
            ));
        }
    }
    if wave.opens > wave.closes {
        details.push(Detail::field(
            "closes",
            "before_opens",
            "a wave closes on or after the day it opens",
        ));
    }
    if !details.is_empty() {
        return Err(invalid(details));
    }
    let created = with_conn(&store, move |conn| {
        let existing = surveys::waves(conn, survey.id)?;
        if let Some(other) = existing
            .iter()
            .find(|w| w.opens <= wave.closes && wave.opens <= w.closes)
        {
            return Err(invalid(vec![Detail::field(
                "opens",
                "overlaps",
                format!(
                    "overlaps wave {:?} ({} to {})",
                    other.label, other.opens, other.closes
                ),
            )]));
        }
        if existing.iter().any(|w| w.label == label) {
            return Err(invalid(vec![Detail::field(
                "label",
                "duplicate",
                "another wave has this label",
            )]));
        }
        let id = surveys::insert_wave(conn, survey.id, &label, wave.opens, wave.closes)?;
        Ok(Wave {
            id,
            label,
            opens: wave.opens,
            closes: wave.closes,
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// `GET /api/v1/surveys/{slug}/waves`
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}/waves",
    tag = "admins",
    summary = "List waves",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug")),
    responses((status = 200, description = "Waves by opening date", body = WaveList))
)]
pub async fn list_waves(
    AdminSurvey(survey): AdminSurvey,
    store: web::Data<Store>,
) -> AppResult<HttpResponse> {
    let waves = with_conn(&store, move |conn| Ok(surveys::waves(conn, survey.id)?)).await?;
    Ok(HttpResponse::Ok().json(WaveList { waves }))
}

/// `DELETE /api/v1/surveys/{slug}/waves/{id}`: only while it has no responses.
#[utoipa::path(
    delete,
    path = "/api/v1/surveys/{slug}/waves/{id}",
    tag = "admins",
    summary = "Delete a wave without responses",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug"), ("id" = i32, Path, description = "The wave's id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such survey or wave", body = ErrorBody), (status = 409, description = "The wave has responses", body = ErrorBody))
)]
pub async fn delete_wave(
    AdminSurvey(survey): AdminSurvey,
    store: web::Data<Store>,
    path: web::Path<(String, i32)>,
) -> AppResult<HttpResponse> {
    let (_, wave_id) = path.into_inner();
    with_conn(&store, move |conn| {
        if !surveys::waves(conn, survey.id)?
            .iter()
            .any(|w| w.id == wave_id)
        {
            return Err(AppError::NotFound(format!(
                "no wave {wave_id} in this survey"
            )));
        }
        if responses::wave_has_responses(conn, wave_id)? {
            return Err(AppError::Conflict {
                code: "wave_has_responses",
                message: "this wave has responses and cannot be deleted".into(),
            });
        }
        surveys::delete_wave(conn, wave_id)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/events`
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "admins",
    summary = "Add an event",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    request_body = NewEvent,
    responses((status = 201, description = "Created", body = Event), (status = 409, description = "The same date and English label exist", body = ErrorBody))
)]
pub async fn create_event(
    _admin: Admin,
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> AppResult<HttpResponse> {
    let mut event: NewEvent = json_body(&req, payload, &settings).await?;
    event.label_ru = event.label_ru.trim().to_string();
    event.label_en = event.label_en.trim().to_string();
    let mut details = Vec::new();
    if !crate::analysis::params::date_in_range(event.event_date) {
        details.push(Detail::field(
            "date",
            "out_of_range",
            "a date from 1900-01-01 to 2199-12-31",
        ));
    }
    for (field, label) in [("label_ru", &event.label_ru), ("label_en", &event.label_en)] {
        if label.is_empty() || label.chars().count() > 200 {
            details.push(Detail::field(field, "invalid", "1-200 characters"));
        }
    }
    if let Some(url) = &event.source_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        details.push(Detail::field(
            "source_url",
            "invalid_url",
            "an http:// or https:// address",
        ));
    }
    if !details.is_empty() {
        return Err(invalid(details));
    }
    let created = with_conn(&store, move |conn| {
        if !events::insert_if_missing(conn, &event)? {
            return Err(AppError::Conflict {
                code: "event_exists",
                message: "an event with this date and English label exists".into(),
            });
        }
        events::list(conn)?
            .into_iter()
            .find(|e| e.event_date == event.event_date && e.label_en == event.label_en)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a stored event is not listed")))
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// `DELETE /api/v1/events/{id}`
#[utoipa::path(
    delete,
    path = "/api/v1/events/{id}",
    tag = "admins",
    summary = "Delete an event",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("id" = i32, Path, description = "The event's id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such event", body = ErrorBody))
)]
pub async fn delete_event(
    _admin: Admin,
    store: web::Data<Store>,
    id: web::Path<i32>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let deleted = with_conn(&store, move |conn| Ok(events::delete(conn, id)?)).await?;
    if !deleted {
        return Err(AppError::NotFound(format!("no event {id}")));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The body GET returns: the shares per dimension and where they come from.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetsBody {
    /// dimension → option → share: known demographic codes, substantive
    /// options only, shares > 0 summing to 1 within 1e-6.
    #[schema(value_type = std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>)]
    targets: Targets,
    /// Where the shares come from (at most 500 characters).
    #[serde(default)]
    source: Option<String>,
}

/// `PUT /api/v1/surveys/{slug}/targets`: `{"targets": {}}` removes them.
#[utoipa::path(
    put,
    path = "/api/v1/surveys/{slug}/targets",
    tag = "admins",
    summary = "Replace the weighting targets (the body GET returns; {\"targets\": {}} removes them)",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug")),
    request_body = TargetsBody,
    responses((status = 200, description = "Saved", body = TargetsView))
)]
pub async fn put_targets(
    AdminSurvey(survey): AdminSurvey,
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> AppResult<HttpResponse> {
    let body: TargetsBody = json_body(&req, payload, &settings).await?;
    let source = body
        .source
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if source.as_ref().is_some_and(|s| s.chars().count() > 500) {
        return Err(invalid(vec![Detail::field(
            "source",
            "too_long",
            "at most 500 characters",
        )]));
    }
    let new = body.targets;
    crate::survey::targets::validate(&survey.definition, &new).map_err(|details| {
        invalid(
            details
                .into_iter()
                .map(|mut d| {
                    d.field = d.field.map(|f| format!("targets.{f}"));
                    d
                })
                .collect(),
        )
    })?;
    let saved = with_conn(&store, move |conn| {
        targets::replace(conn, survey.id, &new, source.as_deref())?;
        Ok(targets::get(conn, survey.id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(TargetsView::from(saved)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitations {
    #[schema(minimum = 1, maximum = 10000)]
    count: usize,
    /// A wave of this survey: the codes answer only while it is open.
    wave: Option<i32>,
}

/// New invitation codes: shown this once, only their hashes are kept.
#[derive(Serialize, ToSchema)]
pub struct InvitationCodes {
    codes: Vec<String>,
    wave: Option<i32>,
}

/// A survey's waves.
#[derive(Serialize, ToSchema)]
pub struct WaveList {
    /// By opening date.
    waves: Vec<Wave>,
}

/// The most codes one request makes.
const MAX_INVITATIONS: usize = 10_000;

/// `POST /api/v1/surveys/{slug}/invitations`: the codes, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/surveys/{slug}/invitations",
    tag = "admins",
    summary = "Create single-use invitation codes, returned once",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug")),
    request_body = NewInvitations,
    responses((status = 201, description = "The codes", body = InvitationCodes))
)]
pub async fn create_invitations(
    AdminSurvey(survey): AdminSurvey,
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> AppResult<HttpResponse> {
    let body: NewInvitations = json_body(&req, payload, &settings).await?;
    if !(1..=MAX_INVITATIONS).contains(&body.count) {
        return Err(invalid(vec![Detail::field(
            "count",
            "out_of_range",
            format!("1 to {MAX_INVITATIONS}"),
        )]));
    }
    let codes = with_conn(&store, move |conn| {
        if let Some(wave) = body.wave
            && !surveys::waves(conn, survey.id)?
                .iter()
                .any(|w| w.id == wave)
        {
            return Err(invalid(vec![Detail::field(
                "wave",
                "unknown_wave",
                "no such wave in this survey",
            )]));
        }
        Ok(invitations::create(conn, survey.id, body.wave, body.count)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(InvitationCodes {
        codes,
        wave: body.wave,
    }))
}

/// `DELETE /api/v1/surveys/{slug}/responses/{id}`: removes a spam or test response.
#[utoipa::path(
    delete,
    path = "/api/v1/surveys/{slug}/responses/{id}",
    tag = "admins",
    summary = "Remove a spam or test response",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug"), ("id" = String, Path, description = "The response's id")),
    responses((status = 204, description = "Removed"), (status = 404, description = "No such survey or response", body = ErrorBody))
)]
pub async fn delete_response(
    AdminSurvey(survey): AdminSurvey,
    store: web::Data<Store>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let deleted = with_conn(&store, move |conn| {
        Ok(crate::submission::remove(conn, &survey, &id)?)
    })
    .await?;
    if !deleted {
        return Err(AppError::NotFound("no such response in this survey".into()));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_get_returns_fits_the_documented_survey_body() {
        let survey = Survey {
            id: 1,
            status: Status::Closed,
            access: Access::Invitation,
            synthetic: true,
            definition: crate::survey::demo::definition(),
        };
        let shown = serde_json::to_value(SurveyView::from(survey)).unwrap();
        let input: SurveyInput = serde_json::from_value(shown.clone()).unwrap();
        assert_eq!(input.slug, "digital-trust");
        assert_eq!(input.synthetic_responses, Some(true));
        // And the definition in it is what `survey_body` reads.
        let mut definition = shown;
        for state in ["status", "access", "synthetic_responses"] {
            definition.as_object_mut().unwrap().remove(state);
        }
        let read: SurveyDefinition = shaped(definition).unwrap();
        assert_eq!(read, crate::survey::demo::definition());
    }
}
