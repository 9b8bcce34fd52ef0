//! Respondents: the questionnaire form and the JSON submission endpoint.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::config::Settings;
use crate::db::responses::Stored;
use crate::db::{Store, surveys};
use crate::error::{AppError, AppResult, Detail};
use crate::pages::{FormPage, FormState, MessagePage};
use crate::routes::{header_str, media_type, read_body, with_conn};
use crate::submission::{self, Refusal, Submission};
use crate::survey::answers::{self, AnswerProblem};
use crate::survey::{Lang, Survey};
use crate::telemetry::Metrics;

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

async fn find_survey(store: &Store, slug: String) -> AppResult<Option<Survey>> {
    with_conn(store, move |conn| Ok(surveys::find_by_slug(conn, &slug)?)).await
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

fn unknown_survey_page(lang: Lang) -> AppResult<HttpResponse> {
    let page = match lang {
        Lang::Ru => MessagePage::simple(
            lang,
            "Опрос не найден",
            "Проверьте ссылку: такого опроса нет.",
        ),
        Lang::En => MessagePage::simple(
            lang,
            "Survey not found",
            "Please check the link: there is no such survey.",
        ),
    };
    html(StatusCode::NOT_FOUND, &page)
}

fn closed_page(lang: Lang) -> AppResult<HttpResponse> {
    let page = match lang {
        Lang::Ru => MessagePage::simple(
            lang,
            "Опрос закрыт",
            "Сейчас этот опрос не принимает ответы. Спасибо за интерес!",
        ),
        Lang::En => MessagePage::simple(
            lang,
            "This survey is closed",
            "It is not taking responses at the moment. Thank you for your interest!",
        ),
    };
    html(StatusCode::CONFLICT, &page)
}

fn form(survey: &Survey, state: FormState<'_>, status: StatusCode) -> AppResult<HttpResponse> {
    html(status, &FormPage::new(survey, state))
}

/// `GET /s/{slug}`: an empty questionnaire with its own submission id.
pub async fn get_form(
    req: HttpRequest,
    store: web::Data<Store>,
    slug: web::Path<String>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let survey = find_survey(&store, slug.into_inner()).await?;
    let lang = negotiate(&req, query.lang.as_deref(), survey.as_ref());
    let Some(survey) = survey else {
        return unknown_survey_page(lang);
    };
    if survey.status == crate::survey::Status::Closed {
        return closed_page(lang);
    }
    let values = Map::new();
    form(
        &survey,
        FormState {
            lang,
            submission_id: Uuid::new_v4().to_string(),
            values: &values,
            problems: &[],
            banner: None,
        },
        StatusCode::OK,
    )
}

/// `POST /s/{slug}`: stores the response and redirects, or shows the form again
/// with everything typed kept and each problem beside its question.
pub async fn post_form(
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    metrics: web::Data<Metrics>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let slug = slug.into_inner();
    let header_lang = negotiate(&req, None, None);
    let body = match read_body(&req, payload, &settings).await {
        Ok(body) => body,
        Err(AppError::TooLarge(limit)) => {
            let page = match header_lang {
                Lang::Ru => MessagePage::simple(
                    header_lang,
                    "Слишком длинный ответ",
                    &format!(
                        "Анкета не была принята: её размер превышает {} КБ. Вернитесь назад, сократите текст и отправьте снова.",
                        limit / 1024
                    ),
                ),
                Lang::En => MessagePage::simple(
                    header_lang,
                    "Too much text",
                    &format!(
                        "The form was not accepted: it is larger than {} KB. Go back, shorten your text and send it again.",
                        limit / 1024
                    ),
                ),
            };
            return html(StatusCode::PAYLOAD_TOO_LARGE, &page);
        }
        Err(e) => return Err(e),
    };
    if media_type(&req) != "application/x-www-form-urlencoded" {
        let page = MessagePage::simple(
            header_lang,
            "Unsupported form encoding",
            "Send the form as application/x-www-form-urlencoded.",
        );
        return html(StatusCode::UNSUPPORTED_MEDIA_TYPE, &page);
    }
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        let page = MessagePage::simple(
            header_lang,
            "Malformed form",
            "The form data could not be read.",
        );
        return html(StatusCode::BAD_REQUEST, &page);
    };
    let Some(survey) = find_survey(&store, slug.clone()).await? else {
        return unknown_survey_page(header_lang);
    };
    let (values, hidden) = answers::from_form(&survey.definition, &fields);
    let hidden_field = |name: &str| {
        hidden
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let lang = hidden_field("lang")
        .and_then(Lang::parse)
        .unwrap_or_else(|| negotiate(&req, None, Some(&survey)));
    // A form without a valid submission id still gets one, so its retry is safe.
    let submission_id = hidden_field("submission_id")
        .and_then(|v| Uuid::parse_str(v).ok())
        .unwrap_or_else(Uuid::new_v4);

    let submission = Submission {
        submission_id: Some(submission_id),
        lang: Some(lang),
        answers: values.clone(),
    };
    let survey_for_store = survey.clone();
    let outcome = with_conn(&store, move |conn| {
        Ok(submission::submit(conn, &survey_for_store, submission))
    })
    .await?;
    let refused = |problems: &[AnswerProblem], banner: Option<String>, status| {
        form(
            &survey,
            FormState {
                lang,
                submission_id: submission_id.to_string(),
                values: &values,
                problems,
                banner,
            },
            status,
        )
    };
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
            refused(&problems, None, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(Refusal::Closed) => closed_page(lang),
        Err(Refusal::NoOpenWave { next_opens }) => {
            let banner = match (lang, next_opens) {
                (Lang::Ru, Some(d)) => {
                    format!("Сейчас опрос не проводится. Следующая волна начнётся {d}.")
                }
                (Lang::Ru, None) => "Сейчас опрос не проводится.".to_string(),
                (Lang::En, Some(d)) => {
                    format!("The survey is not running now. The next wave opens on {d}.")
                }
                (Lang::En, None) => "The survey is not running now.".to_string(),
            };
            refused(&[], Some(banner), StatusCode::CONFLICT)
        }
        Err(Refusal::InvitationRequired) => {
            let banner = match lang {
                Lang::Ru => "Этот опрос только по приглашениям: откройте ссылку из приглашения.",
                Lang::En => {
                    "This survey is by invitation only: open the link from your invitation."
                }
            };
            refused(&[], Some(banner.to_string()), StatusCode::FORBIDDEN)
        }
        Err(Refusal::Store(e)) => Err(e.into()),
    }
}

/// `GET /s/{slug}/thanks`
pub async fn get_thanks(
    req: HttpRequest,
    store: web::Data<Store>,
    slug: web::Path<String>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let survey = find_survey(&store, slug.into_inner()).await?;
    let lang = negotiate(&req, query.lang.as_deref(), survey.as_ref());
    match survey {
        Some(survey) => html(StatusCode::OK, &MessagePage::thanks(&survey, lang)),
        None => unknown_survey_page(lang),
    }
}

#[derive(Serialize)]
struct ReceiptBody {
    id: String,
    submitted_date: chrono::NaiveDate,
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
    // Invitation codes are checked by the survey's access rule.
    object.remove("invitation");
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
            answers,
        })
    } else {
        Err(AppError::invalid(
            "the submission is not well formed",
            details,
        ))
    }
}

fn problems_to_error(survey: &Survey, problems: Vec<AnswerProblem>) -> AppError {
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

/// `POST /api/v1/surveys/{slug}/responses`
pub async fn create_response(
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    metrics: web::Data<Metrics>,
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
    let survey = find_survey(&store, slug.clone())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no survey {slug:?}")))?;
    let survey_for_store = survey.clone();
    let outcome = with_conn(&store, move |conn| {
        Ok(submission::submit(conn, &survey_for_store, submission))
    })
    .await?;
    match outcome {
        Ok(Stored::Created(receipt)) => {
            metrics.response_stored(&slug);
            Ok(HttpResponse::Created().json(ReceiptBody {
                id: receipt.id,
                submitted_date: receipt.submitted_date,
            }))
        }
        Ok(Stored::Repeated(receipt)) => Ok(HttpResponse::Ok().json(ReceiptBody {
            id: receipt.id,
            submitted_date: receipt.submitted_date,
        })),
        Err(Refusal::Invalid(problems)) => Err(problems_to_error(&survey, problems)),
        Err(Refusal::Closed) => Err(AppError::Conflict {
            code: "survey_closed",
            message: "this survey is closed and takes no responses".into(),
        }),
        Err(Refusal::NoOpenWave { next_opens }) => Err(AppError::Conflict {
            code: "no_open_wave",
            message: match next_opens {
                Some(d) => format!("no wave of this survey is open today; the next opens on {d}"),
                None => "no wave of this survey is open today".into(),
            },
        }),
        Err(Refusal::InvitationRequired) => Err(AppError::Forbidden(
            "this survey takes responses by invitation only".into(),
        )),
        Err(Refusal::Store(e)) => Err(e.into()),
    }
}
