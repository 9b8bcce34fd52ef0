//! Researchers' downloads: the microdata, streamed.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;

use crate::analysis::params::date_in_range;
use crate::analysis::service;
use crate::db::Store;
use crate::error::{AppError, AppResult, Detail};
use crate::export::{self, MicrodataOptions};
use crate::routes::{Researcher, single_values, with_conn};

/// Chunks in flight between the store reader and the client: a slow client
/// holds back the reader instead of growing memory.
const CHUNKS_IN_FLIGHT: usize = 4;

/// `GET /api/v1/surveys/{slug}/responses.csv` (researcher or admin token)
pub async fn get_microdata(
    _researcher: Researcher,
    store: web::Data<Store>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let query = single_values(query.into_inner())?;
    let slug = slug.into_inner();
    let loaded = with_conn(&store, move |conn| service::load(conn, &slug)).await?;
    let options = options(&query, &loaded.waves)?;
    let file = format!(
        "{}-responses-{}.csv",
        loaded.survey.definition.slug,
        chrono::Utc::now().date_naive()
    );
    let (tx, mut rx) =
        tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(CHUNKS_IN_FLIGHT);
    let store = store.get_ref().clone();
    let span = tracing::Span::current();
    actix_web::rt::task::spawn_blocking(move || {
        let _entered = span.enter();
        let written = store.get().map_err(AppError::from).and_then(|mut conn| {
            export::write_microdata(
                &mut conn,
                &loaded.survey,
                &loaded.waves,
                &loaded.targets,
                &options,
                |chunk| tx.blocking_send(Ok(web::Bytes::from(chunk))).is_ok(),
            )
        });
        if let Err(e) = written {
            // The status line is gone: cut the body short so that the
            // client sees a broken download, never a silently short file.
            tracing::error!(error = %e, "microdata export failed");
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(body))
}

/// `from`, `to` (dates), `wave` (a label) and `include_text` (true|false).
fn options(
    query: &std::collections::HashMap<String, String>,
    waves: &[crate::db::surveys::Wave],
) -> AppResult<MicrodataOptions> {
    let mut problems = Vec::new();
    let mut date = |name: &str, default: NaiveDate| match query.get(name) {
        None => default,
        Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(d) if date_in_range(d) => d,
            _ => {
                problems.push(Detail::field(
                    name,
                    "invalid_date",
                    "a date YYYY-MM-DD from 1900-01-01 to 2199-12-31",
                ));
                default
            }
        },
    };
    let from = date(
        "from",
        NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN),
    );
    let to = date(
        "to",
        NaiveDate::from_ymd_opt(2199, 12, 31).unwrap_or(NaiveDate::MAX),
    );
    let wave = match query.get("wave") {
        None => None,
        Some(label) => match waves.iter().find(|w| &w.label == label) {
            Some(w) => Some(w.id),
            None => {
                problems.push(Detail::field(
                    "wave",
                    "unknown_wave",
                    format!("no wave {label:?}"),
                ));
                None
            }
        },
    };
    let include_text = match query.get("include_text").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            problems.push(Detail::field("include_text", "invalid", "true or false"));
            false
        }
    };
    let mut unknown: Vec<&String> = query
        .keys()
        .filter(|k| !["from", "to", "wave", "include_text"].contains(&k.as_str()))
        .collect();
    unknown.sort();
    for name in unknown {
        problems.push(Detail::field(
            name.clone(),
            "unknown_parameter",
            "not a parameter of this endpoint",
        ));
    }
    if from > to {
        problems.push(Detail::field(
            "from",
            "after_to",
            "from must not be after to",
        ));
    }
    if problems.is_empty() {
        Ok(MicrodataOptions {
            from,
            to,
            wave,
            include_text,
        })
    } else {
        Err(AppError::invalid(
            "the parameters do not fit this survey",
            problems,
        ))
    }
}
