//! Charts as PNG and SVG: `/charts/{slug}/{question}.{png|svg}` and
//! `/charts/{slug}/{question}/shifts.{png|svg}`, rendered off the async
//! workers; the ETag names everything that went into them (see `rendering`),
//! 304 when the client has the current one.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::analysis::service::{self, Reader};
use crate::config::Settings;
use crate::db::Store;
use crate::error::{AppError, AppResult};
use crate::plot::Format;
use crate::rendering::{Caches, Kind, chart_bytes};
use crate::routes::{Caller, header_str, single_values, with_conn};

/// `{question}.png` → (question, format); 404 for any other name.
fn split_file(file: &str) -> AppResult<(String, Format)> {
    file.rsplit_once('.')
        .and_then(|(name, ext)| Some((name.to_string(), Format::parse(ext)?)))
        .ok_or_else(|| AppError::NotFound("charts are .png or .svg".into()))
}

#[allow(clippy::too_many_arguments)]
async fn answer(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    caches: web::Data<Caches>,
    slug: String,
    question: String,
    format: Format,
    kind: Kind,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let mut query = single_values(query.into_inner())?;
    if query.insert("question".into(), question.clone()).is_some() {
        return Err(AppError::invalid(
            "the question is named by the path",
            vec![crate::error::Detail::field(
                "question",
                "repeated",
                "leave question out of the query",
            )],
        ));
    }
    let if_none_match = header_str(&req, header::IF_NONE_MATCH).map(str::to_string);
    let (public, min_cell) = (caller.is_public(), settings.min_cell);
    let caches = caches.into_inner();
    let file = format!("{slug}-{question}.{}", format.extension());
    let rendered = with_conn(&store, move |conn| {
        let loaded = service::load(conn, &slug)?;
        // The question is part of the path: an unknown one is no such chart.
        if loaded.survey.definition.question(&question).is_none() {
            return Err(AppError::NotFound(format!("no question {question:?}")));
        }
        let reader = Reader::new(&loaded, public, min_cell).with_memo(&caches.figures);
        chart_bytes(
            conn,
            &reader,
            &caches,
            kind,
            format,
            &query,
            if_none_match.as_deref(),
        )
    })
    .await?;
    let (etag, bytes) = (rendered.etag, rendered.bytes);
    let mut response = match bytes {
        None => HttpResponse::NotModified(),
        Some(_) => HttpResponse::Ok(),
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((
            header::CACHE_CONTROL,
            if public {
                "public, max-age=300"
            } else {
                // Revalidated each time (304 while the figures stand), never shared.
                "private, no-cache"
            },
        ))
        .insert_header((header::VARY, "Authorization"))
        // As every output: the data version the figures were read at.
        .insert_header(("X-Data-Version", rendered.data_version.to_string()));
    Ok(match bytes {
        None => response.finish(),
        Some(bytes) => response
            .content_type(format.content_type())
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{file}\""),
            ))
            .body(bytes),
    })
}

/// `GET /charts/{slug}/{question}.{png|svg}`
pub async fn get_chart(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    caches: web::Data<Caches>,
    path: web::Path<(String, String)>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (slug, file) = path.into_inner();
    let (question, format) = split_file(&file)?;
    answer(
        req,
        caller,
        store,
        settings,
        caches,
        slug,
        question,
        format,
        Kind::Series,
        query,
    )
    .await
}

/// `GET /charts/{slug}/{question}/shifts.{png|svg}`
pub async fn get_shift_chart(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    caches: web::Data<Caches>,
    path: web::Path<(String, String, String)>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (slug, question, file) = path.into_inner();
    let (name, format) = split_file(&file)?;
    if name != "shifts" {
        return Err(AppError::NotFound("no such chart".into()));
    }
    answer(
        req,
        caller,
        store,
        settings,
        caches,
        slug,
        question,
        format,
        Kind::Shifts,
        query,
    )
    .await
}
