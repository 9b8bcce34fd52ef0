//! Respondents: the questionnaire form and the JSON submission endpoint.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

use crate::auth;
use crate::config::Settings;
use crate::db::responses::Stored;
use crate::db::{Store, surveys};
use crate::error::{AppError, AppResult, Detail};
use crate::ingest::Ingest;
use crate::limits::RateLimiter;
use crate::pages::{FormPage, FormState, MessagePage, refusal_text};
use crate::routes::{FormKey, check_rate, header_str, media_type, read_body, with_conn};
use crate::submission::{self, Refusal, Submission};
use crate::survey::answers::{self, AnswerProblem};
use crate::survey::{Access, Lang, Status, Survey};
use crate::telemetry::Metrics;

#[derive(Deserialize)]
pub struct FormQuery {
    lang: Option<String>,
    /// An invitation code (panel surveys).
    i: Option<String>,
}

/// Surveys as respondents' requests see them, kept for `SURVEY_FRESH`: a
/// burst of submissions reads each survey once, not once per request. What
/// is stored never rests on a stale copy: the writer reads the survey again
/// for every batch (status, access, definition).
#[derive(Default)]
pub struct SurveyCache {
    surveys: std::sync::Mutex<HashMap<String, (Instant, Arc<Survey>)>>,
}

const SURVEY_FRESH: Duration = Duration::from_secs(2);
/// Unknown slugs are never kept; known ones are few. A bound all the same.
const SURVEY_CACHE_ENTRIES: usize = 256;

impl SurveyCache {
    fn get(&self, slug: &str) -> Option<Arc<Survey>> {
        let surveys = self.surveys.lock().unwrap_or_else(|e| e.into_inner());
        surveys
            .get(slug)
            .filter(|(at, _)| at.elapsed() < SURVEY_FRESH)
            .map(|(_, survey)| Arc::clone(survey))
    }

    /// Drops the kept copy (an admin changed the survey).
    pub fn forget(&self, slug: &str) {
        let mut surveys = self.surveys.lock().unwrap_or_else(|e| e.into_inner());
        surveys.remove(slug);
    }

    fn put(&self, slug: String, survey: Arc<Survey>) {
        let mut surveys = self.surveys.lock().unwrap_or_else(|e| e.into_inner());
        if surveys.len() >= SURVEY_CACHE_ENTRIES {
            surveys.clear();
        }
        surveys.insert(slug, (Instant::now(), survey));
    }
}

/// The survey, from the cache if one is given (the form itself is always
/// shown from the store: a survey closed a moment ago says so at once).
async fn find_survey(
    store: &Store,
    cache: Option<&SurveyCache>,
    slug: String,
) -> AppResult<Option<Arc<Survey>>> {
    if let Some(survey) = cache.and_then(|c| c.get(&slug)) {
        return Ok(Some(survey));
    }
    let key = slug.clone();
    let found = with_conn(store, move |conn| Ok(surveys::find_by_slug(conn, &slug)?)).await?;
    Ok(found.map(|survey| {
        let survey = Arc::new(survey);
        if let Some(cache) = cache {
            cache.put(key, Arc::clone(&survey));
        }
        survey
    }))
}

fn negotiate(req: &HttpRequest, query: Option<&str>, survey: Option<&Survey>) -> Lang {
    let default = survey.map_or(Lang::Ru, |s| s.definition.default_lang);
    Lang::negotiate(query, header_str(req, header::ACCEPT_LANGUAGE), default)
}

/// An HTML page that no cache may keep or share between languages.
fn html(status: StatusCode, page: &impl Template) -> AppResult<HttpResponse> {
    let body = page
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering a page: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::VARY, "Accept-Language"))
        .body(body))
}

fn message(
    status: StatusCode,
    lang: Lang,
    heading: (&str, &str),
    text: &str,
) -> AppResult<HttpResponse> {
    let heading = if lang == Lang::Ru {
        heading.0
    } else {
        heading.1
    };
    html(status, &MessagePage::simple(lang, heading, text))
}

fn unknown_survey_page(lang: Lang) -> AppResult<HttpResponse> {
    let text = match lang {
        Lang::Ru => "Проверьте ссылку: такого опроса нет.",
        Lang::En => "Please check the link: there is no such survey.",
    };
    message(
        StatusCode::NOT_FOUND,
        lang,
        ("Опрос не найден", "Survey not found"),
        text,
    )
}

/// A refusal that no change to the answers can fix, as a page of its own.
fn refusal_page(refusal: &Refusal, lang: Lang) -> AppResult<HttpResponse> {
    let status = match refusal {
        Refusal::Closed | Refusal::NoOpenWave { .. } | Refusal::InvitationSpent => {
            StatusCode::CONFLICT
        }
        _ => StatusCode::FORBIDDEN,
    };
    message(
        status,
        lang,
        ("Ответ не принят", "Not accepted"),
        &refusal_text(refusal, lang),
    )
}

/// A fresh submission id and the token that binds it to this survey.
fn fresh_render(key: &FormKey, survey: &Survey) -> (String, String) {
    let submission_id = Uuid::new_v4().to_string();
    let token = auth::form_token(
        &key.0,
        &survey.definition.slug,
        &submission_id,
        submission::local_today(survey),
    );
    (submission_id, token)
}

/// `GET /s/{slug}`: an empty questionnaire with its own submission id and token.
pub async fn get_form(
    req: HttpRequest,
    store: web::Data<Store>,
    key: web::Data<FormKey>,
    slug: web::Path<String>,
    query: web::Query<FormQuery>,
) -> AppResult<HttpResponse> {
    let survey = find_survey(&store, None, slug.into_inner()).await?;
    let lang = negotiate(&req, query.lang.as_deref(), survey.as_deref());
    let Some(survey) = survey else {
        return unknown_survey_page(lang);
    };
    if survey.status == Status::Closed {
        return refusal_page(&Refusal::Closed, lang);
    }
    let invitation = query.i.clone().filter(|c| !c.trim().is_empty());
    if survey.access == Access::Invitation {
        let Some(code) = invitation.clone() else {
            return refusal_page(&Refusal::InvitationRequired, lang);
        };
        let (survey_id, today) = (survey.id, submission::local_today(&survey));
        let verdict = with_conn(&store, move |conn| {
            let waves = surveys::waves(conn, survey_id)?;
            Ok(match submission::wave_of(&waves, today) {
                Ok(wave) => submission::check_code(conn, survey_id, &code, wave)?,
                Err(refusal) => Err(refusal),
            })
        })
        .await?;
        if let Err(refusal) = verdict {
            return refusal_page(&refusal, lang);
        }
    }
    let (submission_id, form_token) = fresh_render(&key, &survey);
    let values = Map::new();
    let state = FormState {
        lang,
        submission_id,
        form_token,
        invitation,
        values: &values,
        problems: &[],
        banner: None,
    };
    html(StatusCode::OK, &FormPage::new(&survey, state))
}

fn too_large_page(lang: Lang, limit: usize) -> AppResult<HttpResponse> {
    let kb = limit / 1024;
    let text = match lang {
        Lang::Ru => format!(
            "Анкета не была принята: её размер превышает {kb} КБ. Вернитесь назад, сократите текст и отправьте снова."
        ),
        Lang::En => format!(
            "The form was not accepted: it is larger than {kb} KB. Go back, shorten your text and send it again."
        ),
    };
    message(
        StatusCode::PAYLOAD_TOO_LARGE,
        lang,
        ("Слишком длинный ответ", "Too much text"),
        &text,
    )
}

/// `POST /s/{slug}`: stores the response and redirects, or shows the form again
/// with everything typed kept, the reason beside the question or at the top,
/// and a token that will be accepted.
#[allow(clippy::too_many_arguments)]
pub async fn post_form(
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    survey_cache: web::Data<SurveyCache>,
    settings: web::Data<Settings>,
    metrics: web::Data<Metrics>,
    limiter: web::Data<RateLimiter>,
    ingest: web::Data<Ingest>,
    key: web::Data<FormKey>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let slug = slug.into_inner();
    let header_lang = negotiate(&req, None, None);
    let body = match read_body(&req, payload, &settings).await {
        Ok(body) => body,
        Err(AppError::TooLarge(limit)) => return too_large_page(header_lang, limit),
        Err(e) => return Err(e),
    };
    if media_type(&req) != "application/x-www-form-urlencoded" {
        let text = "Send the form as application/x-www-form-urlencoded.";
        return message(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            header_lang,
            ("Неподдерживаемый формат", "Unsupported form encoding"),
            text,
        );
    }
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return message(
            StatusCode::BAD_REQUEST,
            header_lang,
            ("Ошибка формы", "Malformed form"),
            "The form data could not be read.",
        );
    };
    let Some(survey) = find_survey(&store, Some(&survey_cache), slug.clone()).await? else {
        return unknown_survey_page(header_lang);
    };
    let (values, hidden) = answers::from_form(&survey.definition, &fields);
    let hidden_field = |name: &str| {
        hidden
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let lang = hidden_field("lang")
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| negotiate(&req, None, Some(&*survey)));
    let invitation = hidden_field("invitation").filter(|c| !c.trim().is_empty());
    let submission_id = hidden_field("submission_id").and_then(|v| Uuid::parse_str(&v).ok());
    let token_ok = match (&submission_id, hidden_field("form_token")) {
        (Some(sid), Some(token)) => auth::form_token_valid(
            &key.0,
            &slug,
            &sid.to_string(),
            &token,
            submission::local_today(&survey),
        ),
        _ => false,
    };

    // Every refusal below shows the typed answers again with a usable token.
    let show_again =
        |status: StatusCode, problems: &[AnswerProblem], banner: Option<String>, keep_id: bool| {
            let (submission_id, form_token) = match submission_id {
                Some(sid) if keep_id => {
                    let sid = sid.to_string();
                    let token =
                        auth::form_token(&key.0, &slug, &sid, submission::local_today(&survey));
                    (sid, token)
                }
                _ => fresh_render(&key, &survey),
            };
            let state = FormState {
                lang,
                submission_id,
                form_token,
                invitation: invitation.clone(),
                values: &values,
                problems,
                banner,
            };
            html(status, &FormPage::new(&survey, state))
        };

    if !token_ok {
        let banner = match lang {
            Lang::Ru => {
                "Форма устарела или пришла не с этого сайта. Ваши ответы сохранены в форме — проверьте их и отправьте ещё раз."
            }
            Lang::En => {
                "This form expired or did not come from this site. Your answers are kept below: check them and send again."
            }
        };
        return show_again(StatusCode::FORBIDDEN, &[], Some(banner.to_string()), false);
    }
    if let Err(AppError::RateLimited(seconds)) = check_rate(&req, &settings, &limiter) {
        let banner = match lang {
            Lang::Ru => format!(
                "Слишком много ответов с вашего адреса. Ваши ответы сохранены в форме — отправьте их снова через {seconds} с."
            ),
            Lang::En => format!(
                "Too many responses from your address. Your answers are kept below: send them again in {seconds} s."
            ),
        };
        let mut page = show_again(StatusCode::TOO_MANY_REQUESTS, &[], Some(banner), true)?;
        page.headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
        return Ok(page);
    }

    let submission = Submission {
        submission_id,
        lang: Some(lang),
        invitation: invitation.clone(),
        answers: values.clone(),
    };
    let outcome = store_submission(&store, &ingest, &survey, submission).await?;
    match outcome {
        Ok(stored) => {
            if matches!(stored, Stored::Created(_)) {
                metrics.response_stored(&slug);
            }
            Ok(HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/s/{slug}/thanks?lang={}", lang.as_str()),
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish())
        }
        Err(Refusal::Invalid(problems)) => {
            show_again(StatusCode::UNPROCESSABLE_ENTITY, &problems, None, true)
        }
        Err(Refusal::Store(e)) => Err(AppError::Internal(anyhow::anyhow!(e))),
        Err(Refusal::Unavailable(e)) => Err(AppError::Unavailable(anyhow::anyhow!(e))),
        Err(refusal @ (Refusal::Closed | Refusal::InvitationSpent)) => refusal_page(&refusal, lang),
        Err(refusal) => {
            let status = if matches!(refusal, Refusal::NoOpenWave { .. }) {
                StatusCode::CONFLICT
            } else {
                StatusCode::FORBIDDEN
            };
            show_again(status, &[], Some(refusal_text(&refusal, lang)), true)
        }
    }
}

/// `GET /s/{slug}/thanks`
pub async fn get_thanks(
    req: HttpRequest,
    store: web::Data<Store>,
    survey_cache: web::Data<SurveyCache>,
    slug: web::Path<String>,
    query: web::Query<FormQuery>,
) -> AppResult<HttpResponse> {
    let survey = find_survey(&store, Some(&survey_cache), slug.into_inner()).await?;
    let lang = negotiate(&req, query.lang.as_deref(), survey.as_deref());
    match survey {
        Some(survey) => html(StatusCode::OK, &MessagePage::thanks(&survey, lang)),
        None => unknown_survey_page(lang),
    }
}

/// What a stored response is known by: its random id and its survey-local date.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Receipt)]
pub struct ReceiptBody {
    #[schema(format = Uuid)]
    id: String,
    submitted_date: chrono::NaiveDate,
}

/// A response as JSON, as the OpenAPI document describes it: what
/// `parse_submission` reads (it reads by hand, to name every wrong field).
#[derive(utoipa::ToSchema)]
#[schema(as = Submission)]
#[allow(dead_code)]
pub struct SubmissionBody {
    /// Makes a retry safe: a repeated id answers 200 with the first receipt.
    submission_id: Option<Uuid>,
    lang: Option<Lang>,
    /// The invitation code of an invitation-only survey.
    invitation: Option<String>,
    /// Answers by question code; an unanswered optional question is absent
    /// (a null answer is taken as absent too).
    answers: std::collections::BTreeMap<String, AnswerValue>,
}

/// One answer: `scale` an integer in range or a non-substantive option code
/// (`"dk"`); `yes_no` true/false; `single_choice` an option code;
/// `multi_choice` distinct option codes; `text` a string.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AnswerValue {
    Integer(i64),
    Code(String),
    YesNo(bool),
    Choices(Vec<String>),
}

/// Reads `{"submission_id"?, "lang"?, "invitation"?, "answers": {…}}`, naming
/// each field that is wrong.
fn parse_submission(body: &[u8]) -> AppResult<Submission> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| AppError::Malformed(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err(AppError::invalid(
            "the body must be a JSON object",
            vec![Detail::field(
                "",
                "wrong_type",
                "expected an object with \"answers\"",
            )],
        ));
    };
    let mut details = Vec::new();
    let submission_id = match object.remove("submission_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match Uuid::parse_str(&s) {
            Ok(id) => Some(id),
            Err(_) => {
                details.push(Detail::field(
                    "submission_id",
                    "invalid_uuid",
                    "must be a UUID",
                ));
                None
            }
        },
        Some(_) => {
            details.push(Detail::field(
                "submission_id",
                "wrong_type",
                "must be a UUID string",
            ));
            None
        }
    };
    let lang = match object.remove("lang") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if Lang::parse(&s).is_some() => Lang::parse(&s),
        Some(_) => {
            details.push(Detail::field(
                "lang",
                "unknown_language",
                "must be \"ru\" or \"en\"",
            ));
            None
        }
    };
    let invitation = match object.remove("invitation") {
        None | Some(Value::Null) => None,
        Some(Value::String(code)) => Some(code),
        Some(_) => {
            details.push(Detail::field(
                "invitation",
                "wrong_type",
                "must be the invitation code as a string",
            ));
            None
        }
    };
    let answers = match object.remove("answers") {
        Some(Value::Object(map)) => map,
        None => {
            details.push(Detail::field(
                "answers",
                "required",
                "an object of answers by question code",
            ));
            Map::new()
        }
        Some(_) => {
            details.push(Detail::field(
                "answers",
                "wrong_type",
                "must be an object keyed by question code",
            ));
            Map::new()
        }
    };
    for unknown in object.keys() {
        details.push(Detail::field(
            unknown.clone(),
            "unknown_field",
            "this field is not part of a submission",
        ));
    }
    if details.is_empty() {
        Ok(Submission {
            submission_id,
            lang,
            invitation,
            answers,
        })
    } else {
        Err(AppError::invalid(
            "the submission is not well formed",
            details,
        ))
    }
}

fn refusal_to_error(survey: &Survey, refusal: Refusal) -> AppError {
    let conflict = |code, refusal: &Refusal| AppError::Conflict {
        code,
        message: refusal_text(refusal, Lang::En),
    };
    match refusal {
        Refusal::Invalid(problems) => {
            let details = problems
                .into_iter()
                .map(|p| {
                    let question = survey.definition.question(&p.question);
                    Detail::question(
                        p.question.clone(),
                        p.problem.code(),
                        p.problem.message(Lang::En, question),
                    )
                })
                .collect();
            AppError::invalid("some answers are not valid", details)
        }
        Refusal::Closed => conflict("survey_closed", &refusal),
        Refusal::NoOpenWave { .. } => conflict("no_open_wave", &refusal),
        Refusal::InvitationSpent => conflict("invitation_spent", &refusal),
        Refusal::InvitationRequired | Refusal::InvitationUnknown | Refusal::InvitationWrongWave => {
            AppError::Forbidden(refusal_text(&refusal, Lang::En))
        }
        Refusal::Store(e) => AppError::Internal(anyhow::anyhow!(e)),
        Refusal::Unavailable(e) => AppError::Unavailable(anyhow::anyhow!(e)),
    }
}

/// Checks the answers here and hands them to the writer. Answers that are
/// not valid (any more) under a submission id stored before still get the
/// stored receipt: a retry after a lost acknowledgement always does.
async fn store_submission(
    store: &Store,
    ingest: &Ingest,
    survey: &Arc<Survey>,
    submission: Submission,
) -> AppResult<Result<Stored, Refusal>> {
    let submission_id = submission.submission_id;
    match submission::check(survey, submission) {
        Ok(checked) => Ok(ingest.submit(checked).await),
        Err(refusal) => {
            let Some(id) = submission_id else {
                return Ok(Err(refusal));
            };
            let survey_id = survey.id;
            let stored = with_conn(store, move |conn| {
                Ok(crate::db::responses::find_by_submission(
                    conn,
                    survey_id,
                    &id.to_string(),
                )?)
            })
            .await?;
            Ok(stored.map(Stored::Repeated).ok_or(refusal))
        }
    }
}

/// `POST /api/v1/surveys/{slug}/responses`
#[utoipa::path(
    post,
    path = "/api/v1/surveys/{slug}/responses",
    tag = "respondents",
    summary = "Submit a response",
    params(("slug" = String, Path, description = "The survey's slug")),
    request_body = SubmissionBody,
    responses(
        (status = 201, description = "Stored", body = ReceiptBody),
        (status = 200, description = "This submission_id was stored before: its first receipt", body = ReceiptBody),
        (status = 403, description = "Invitation-only survey: code missing, unknown or for another wave", body = crate::error::ErrorBody),
        (status = 409, description = "Survey closed, no wave open, or invitation already used", body = crate::error::ErrorBody),
        (status = 503, description = "The store cannot take the submission now (unreachable, full or read-only): nothing was stored", body = crate::error::ErrorBody),
        (status = 429, description = "Too many submissions from this address", body = crate::error::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a submission is taken again"))),
    )
)]
#[allow(clippy::too_many_arguments)]
pub async fn create_response(
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    survey_cache: web::Data<SurveyCache>,
    settings: web::Data<Settings>,
    metrics: web::Data<Metrics>,
    limiter: web::Data<RateLimiter>,
    ingest: web::Data<Ingest>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let slug = slug.into_inner();
    let body = read_body(&req, payload, &settings).await?;
    if media_type(&req) != "application/json" {
        return Err(AppError::UnsupportedMediaType(
            "send the response as application/json".into(),
        ));
    }
    let submission = parse_submission(&body)?;
    let survey = find_survey(&store, Some(&survey_cache), slug.clone())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no survey {slug:?}")))?;
    check_rate(&req, &settings, &limiter)?;
    let outcome = store_submission(&store, &ingest, &survey, submission).await?;
    let receipt = |r: crate::db::responses::Receipt| ReceiptBody {
        id: r.id,
        submitted_date: r.submitted_date,
    };
    match outcome {
        Ok(Stored::Created(r)) => {
            metrics.response_stored(&slug);
            Ok(HttpResponse::Created().json(receipt(r)))
        }
        Ok(Stored::Repeated(r)) => Ok(HttpResponse::Ok().json(receipt(r))),
        Err(refusal) => Err(refusal_to_error(&survey, refusal)),
    }
}

/// Properties of the JSON submission reader: any body is answered (never a
/// panic), a well-formed one reads back as sent, and a wrong field is named.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Any JSON value, a few levels deep; with `floats`, numbers with a
    /// fraction too (serde_json reads some of those back a bit off, which no
    /// answer can notice: every number an answer takes is an integer).
    fn any_json(floats: bool) -> impl Strategy<Value = Value> {
        let float = any::<f64>().prop_map(|f| json!(f));
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            if floats {
                float.boxed()
            } else {
                any::<i32>().prop_map(Value::from).boxed()
            },
            "\\PC{0,12}".prop_map(Value::from),
            Just(json!("ru")),
            Just(json!(Uuid::nil().to_string())),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("submission_id".to_string()),
                        Just("lang".to_string()),
                        Just("invitation".to_string()),
                        Just("answers".to_string()),
                        "\\PC{0,8}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A well-formed submission, as a JSON object.
    fn submission() -> impl Strategy<Value = Map<String, Value>> {
        (
            proptest::option::of(any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string())),
            proptest::option::of(prop_oneof![Just("ru"), Just("en")]),
            proptest::option::of("[0-9A-Z-]{0,16}"),
            prop::collection::btree_map("[a-z_]{1,10}", any_json(false), 0..6),
        )
            .prop_map(|(id, lang, invitation, answers)| {
                let mut object = Map::new();
                if let Some(id) = id {
                    object.insert("submission_id".into(), json!(id));
                }
                if let Some(lang) = lang {
                    object.insert("lang".into(), json!(lang));
                }
                if let Some(code) = invitation {
                    object.insert("invitation".into(), json!(code));
                }
                object.insert(
                    "answers".into(),
                    Value::Object(answers.into_iter().collect()),
                );
                object
            })
    }

    fn fields_named(error: AppError) -> Vec<String> {
        match error {
            AppError::Invalid { details, .. } => details
                .into_iter()
                .map(|d| d.field.unwrap_or_default())
                .collect(),
            other => vec![format!("not a 422: {other:?}")],
        }
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_without_panicking(body in prop::collection::vec(any::<u8>(), 0..256)) {
            match parse_submission(&body) {
                Ok(_) | Err(AppError::Malformed(_)) | Err(AppError::Invalid { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }

        #[test]
        fn any_json_is_read_without_panicking_and_a_refusal_names_a_field(value in any_json(true)) {
            let body = serde_json::to_vec(&value).unwrap();
            match parse_submission(&body) {
                Ok(submission) => prop_assert!(value["answers"].is_object() && submission.answers.len() == value["answers"].as_object().unwrap().len()),
                Err(AppError::Invalid { details, .. }) => {
                    prop_assert!(!details.is_empty());
                    for d in details {
                        let field = d.field.unwrap_or_default();
                        // The body itself ("") when it is no object, else a key it sent or `answers`.
                        prop_assert!(
                            field.is_empty() || field == "answers" || value.get(&field).is_some(),
                            "{field:?} in {value}"
                        );
                    }
                }
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }

        #[test]
        fn a_well_formed_submission_reads_back_as_sent(object in submission()) {
            let body = serde_json::to_vec(&object).unwrap();
            let read = parse_submission(&body).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(read.submission_id.map(|id| id.to_string()), object.get("submission_id").and_then(Value::as_str).map(str::to_string));
            prop_assert_eq!(read.lang.map(Lang::as_str), object.get("lang").and_then(Value::as_str));
            prop_assert_eq!(read.invitation.as_deref(), object.get("invitation").and_then(Value::as_str));
            prop_assert_eq!(&Value::Object(read.answers), &object["answers"]);
        }

        #[test]
        fn one_wrong_field_is_named_and_nothing_else(
            object in submission(),
            (field, wrong) in prop_oneof![
                Just(("submission_id", json!("not-a-uuid"))),
                Just(("submission_id", json!(42))),
                Just(("lang", json!("de"))),
                Just(("lang", json!(true))),
                Just(("invitation", json!(["A"]))),
                Just(("answers", json!([1, 2]))),
                Just(("answers", json!("x"))),
                Just(("colour", json!("red"))),
            ],
        ) {
            let mut object = object;
            object.insert(field.to_string(), wrong);
            let body = serde_json::to_vec(&object).unwrap();
            match parse_submission(&body) {
                Ok(_) => prop_assert!(false, "{field} = {} was taken", object[field]),
                Err(error) => prop_assert_eq!(fields_named(error), [field]),
            }
        }
    }
}
