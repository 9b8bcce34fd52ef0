//! Researchers' downloads: the microdata and the data package, streamed;
//! the codebook.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::analysis::service::{self, Loaded};
use crate::config::Settings;
use crate::db::{DbConnection, Store};
use crate::downloads::{self, Download};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::export::{MicrodataOptions, MicrodataQuery, no_parameters};
use crate::routes::{Researcher, single_values, with_conn};
use crate::submission::local_today;

/// Chunks in flight between the store reader and the client: a slow client
/// holds back the reader instead of growing memory.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Bytes gathered before a chunk is sent (the data package's writer).
const CHUNK_BYTES: usize = 64 * 1024;

type Chunk = Result<web::Bytes, std::io::Error>;

/// The survey, its waves and targets, and the query as a map.
async fn load(
    store: &Store,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<(Loaded, std::collections::HashMap<String, String>)> {
    let query = single_values(query.into_inner())?;
    let slug = slug.into_inner();
    let loaded = with_conn(store, move |conn| service::load(conn, &slug)).await?;
    Ok((loaded, query))
}

/// A download: `write` runs off the async workers with a connection and a
/// sender; what it sends is the body, as it comes.
fn streamed(
    store: &Store,
    content_type: &str,
    file: String,
    write: impl FnOnce(&mut DbConnection, &tokio::sync::mpsc::Sender<Chunk>) -> AppResult<()>
    + Send
    + 'static,
) -> HttpResponse {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
    let store = store.clone();
    let span = tracing::Span::current();
    actix_web::rt::task::spawn_blocking(move || {
        let _entered = span.enter();
        // A panic must cut the body short too, never end it cleanly.
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store
                .get()
                .map_err(AppError::from)
                .and_then(|mut conn| write(&mut conn, &tx))
        }))
        .unwrap_or_else(|_| Err(AppError::Internal(anyhow::anyhow!("the export panicked"))));
        if let Err(e) = written {
            // The status line is gone: cut the body short so that the
            // client sees a broken download, never a silently short file.
            tracing::error!(error = %e, "export failed");
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(body)
}

/// `{slug}-{what}-{date}.{extension}`, dated in the survey's time zone.
pub fn file_name(loaded: &Loaded, what: &str, extension: &str) -> String {
    format!(
        "{}-{what}-{}.{extension}",
        loaded.survey.definition.slug,
        local_today(&loaded.survey)
    )
}

/// `GET /api/v1/surveys/{slug}/responses.csv` (researcher or admin token)
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}/responses.csv",
    tag = "researchers",
    summary = "Microdata: one row per response, streamed (researcher or admin)",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug"), MicrodataQuery),
    responses((status = 200, description = "response_id,submitted_date,wave,lang,base_weight,weight, then each question in survey order (multi-choice as CODE__OPTION 0/1); ordered by date, then id", body = String, content_type = "text/csv"), (status = 422, description = "Parameters that do not fit the survey, an unknown or a repeated one", body = ErrorBody))
)]
pub async fn get_microdata(
    _researcher: Researcher,
    store: web::Data<Store>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (loaded, query) = load(&store, slug, query).await?;
    let options = MicrodataOptions::parse(&query, &loaded.waves)?;
    let file = file_name(&loaded, "responses", "csv");
    Ok(streamed(
        &store,
        "text/csv; charset=utf-8",
        file,
        move |conn, tx| {
            downloads::write_microdata(conn, &loaded, &options, |chunk| {
                tx.blocking_send(Ok(web::Bytes::from(chunk))).is_ok()
            })
        },
    ))
}

/// `GET /api/v1/surveys/{slug}/datapackage.zip` (researcher or admin token)
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}/datapackage.zip",
    tag = "researchers",
    summary = "Frictionless Data Package, streamed: datapackage.json, README.md, codebook.csv, series/<question>.csv, responses.csv (researcher or admin)",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug")),
    responses((status = 200, description = "A zip archive", body = [u8], content_type = "application/zip"), (status = 422, description = "A parameter: this download takes none", body = ErrorBody))
)]
pub async fn get_datapackage(
    _researcher: Researcher,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (loaded, query) = load(&store, slug, query).await?;
    no_parameters(&query)?;
    let file = file_name(&loaded, "datapackage", "zip");
    let min_cell = settings.min_cell;
    Ok(streamed(
        &store,
        "application/zip",
        file,
        move |conn, tx| {
            let today = local_today(&loaded.survey);
            let out = ChannelWriter {
                tx,
                buffer: Vec::with_capacity(CHUNK_BYTES),
            };
            downloads::write_datapackage(conn, &loaded, min_cell, today, out)
        },
    ))
}

/// A small download, written whole by the code the CLI runs.
async fn download(
    store: &Store,
    settings: &Settings,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
    what: Download,
) -> AppResult<(Loaded, Vec<u8>)> {
    let query = single_values(query.into_inner())?;
    let (slug, min_cell) = (slug.into_inner(), settings.min_cell);
    with_conn(store, move |conn| {
        let loaded = service::load(conn, &slug)?;
        let mut body = Vec::new();
        downloads::write_download(conn, &loaded, what, &query, min_cell, &mut body)?;
        Ok((loaded, body))
    })
    .await
}

/// `GET /api/v1/surveys/{slug}/codebook.csv` (researcher or admin token)
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}/codebook.csv",
    tag = "researchers",
    summary = "Codebook: one row per microdata column and value, then the weighting targets (researcher or admin)",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug")),
    responses((status = 200, description = "column,question,kind,role,text_ru,text_en,cell,code,value,label_ru,label_en,non_substantive", body = String, content_type = "text/csv"), (status = 422, description = "A parameter: this download takes none", body = ErrorBody))
)]
pub async fn get_codebook_csv(
    _researcher: Researcher,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (loaded, body) = download(&store, &settings, slug, query, Download::CodebookCsv).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{}\"",
                file_name(&loaded, "codebook", "csv")
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(body))
}

/// `GET /api/v1/surveys/{slug}/codebook.json` (researcher or admin token)
#[utoipa::path(
    get,
    path = "/api/v1/surveys/{slug}/codebook.json",
    tag = "researchers",
    summary = "Codebook: every microdata column with its codes, labels ru/en, numeric values and flags; waves; weighting targets and their source (researcher or admin)",
    security(("bearerAuth" = []), ("basicAuth" = [])),
    params(("slug" = String, Path, description = "The survey's slug")),
    responses((status = 200, description = "The codebook", body = crate::export::codebook::Codebook), (status = 422, description = "A parameter: this download takes none", body = ErrorBody))
)]
pub async fn get_codebook_json(
    _researcher: Researcher,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let (_, body) = download(&store, &settings, slug, query, Download::CodebookJson).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(body))
}

/// `Write` onto the body channel, a chunk at a time; an error once the
/// client has gone, so that the writer stops.
struct ChannelWriter<'a> {
    tx: &'a tokio::sync::mpsc::Sender<Chunk>,
    buffer: Vec<u8>,
}

impl ChannelWriter<'_> {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.tx
            .blocking_send(Ok(web::Bytes::from(chunk)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl std::io::Write for ChannelWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter<'_> {
    fn drop(&mut self) {
        let _ = self.send();
    }
}
