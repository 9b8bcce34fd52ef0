//! Thin handlers by audience: parse → call → respond. The route table is here.

pub(crate) mod admin;
pub(crate) mod analysis;
mod charts;
mod dashboard;
pub(crate) mod export;
pub(crate) mod ops;
pub(crate) mod read;
pub(crate) mod respond;

use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, Route, web};
use futures_util::StreamExt;

use crate::auth::{self, Role};
use crate::config::Settings;
use crate::db::{DbConnection, Store, tokens};
use crate::error::{AppError, AppResult};
use crate::limits::{self, RateLimiter};

pub use dashboard::Catalogue;
pub use ops::{HealthProbe, get_metrics};
pub use respond::SurveyCache;

/// The key behind form tokens, read from the store at start (shared by instances).
pub struct FormKey(pub Vec<u8>);

/// The route table: every path of the public port and the handler of each
/// method it takes. Each path is one resource, so a known path asked with
/// another method answers 405 (JSON), and an unknown path 404.
fn table() -> Vec<(&'static str, Vec<(Method, Route)>)> {
    let (get, post, put, patch, delete) = (
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    );
    vec![
        ("/healthz", vec![(get.clone(), web::to(ops::get_health))]),
        (
            "/assets/site.css",
            vec![(get.clone(), web::to(ops::get_stylesheet))],
        ),
        (
            "/api/openapi.json",
            vec![(get.clone(), web::to(ops::get_openapi))],
        ),
        // respondents
        (
            "/s/{slug}",
            vec![
                (get.clone(), web::to(respond::get_form)),
                (post.clone(), web::to(respond::post_form)),
            ],
        ),
        // the dashboard and charts
        ("/", vec![(get.clone(), web::to(dashboard::get_home))]),
        (
            "/d/{slug}",
            vec![(get.clone(), web::to(dashboard::get_dashboard))],
        ),
        (
            "/signin",
            vec![(get.clone(), web::to(dashboard::get_signin))],
        ),
        (
            "/embed/{slug}/{question}",
            vec![(get.clone(), web::to(dashboard::get_embed))],
        ),
        (
            "/charts/{slug}/{file}",
            vec![(get.clone(), web::to(charts::get_chart))],
        ),
        (
            "/charts/{slug}/{question}/{file}",
            vec![(get.clone(), web::to(charts::get_shift_chart))],
        ),
        (
            "/s/{slug}/thanks",
            vec![(get.clone(), web::to(respond::get_thanks))],
        ),
        (
            "/api/v1/surveys/{slug}/responses",
            vec![(post.clone(), web::to(respond::create_response))],
        ),
        // public reading, and the admins' writes to the same resources
        (
            "/api/v1/surveys",
            vec![
                (get.clone(), web::to(read::list_surveys)),
                (post.clone(), web::to(admin::create_survey)),
            ],
        ),
        (
            "/api/v1/surveys/{slug}",
            vec![
                (get.clone(), web::to(read::get_survey)),
                (put.clone(), web::to(admin::replace_survey)),
                (patch, web::to(admin::patch_survey)),
            ],
        ),
        (
            "/api/v1/surveys/{slug}/targets",
            vec![
                (get.clone(), web::to(read::get_targets)),
                (put, web::to(admin::put_targets)),
            ],
        ),
        (
            "/api/v1/events",
            vec![
                (get.clone(), web::to(read::list_events)),
                (post.clone(), web::to(admin::create_event)),
            ],
        ),
        (
            "/api/v1/events/{id}",
            vec![(delete.clone(), web::to(admin::delete_event))],
        ),
        (
            "/api/v1/surveys/{slug}/series",
            vec![(get.clone(), web::to(analysis::get_series))],
        ),
        (
            "/api/v1/surveys/{slug}/series.csv",
            vec![(get.clone(), web::to(analysis::get_series_csv))],
        ),
        (
            "/api/v1/surveys/{slug}/shifts",
            vec![(get.clone(), web::to(analysis::get_shifts))],
        ),
        (
            "/api/v1/surveys/{slug}/changepoints",
            vec![(get.clone(), web::to(analysis::get_changepoints))],
        ),
        // researchers
        (
            "/api/v1/surveys/{slug}/responses.csv",
            vec![(get.clone(), web::to(export::get_microdata))],
        ),
        (
            "/api/v1/surveys/{slug}/codebook.csv",
            vec![(get.clone(), web::to(export::get_codebook_csv))],
        ),
        (
            "/api/v1/surveys/{slug}/codebook.json",
            vec![(get.clone(), web::to(export::get_codebook_json))],
        ),
        (
            "/api/v1/surveys/{slug}/datapackage.zip",
            vec![(get.clone(), web::to(export::get_datapackage))],
        ),
        // admins
        (
            "/api/v1/surveys/{slug}/waves",
            vec![
                (get, web::to(admin::list_waves)),
                (post.clone(), web::to(admin::create_wave)),
            ],
        ),
        (
            "/api/v1/surveys/{slug}/waves/{id}",
            vec![(delete.clone(), web::to(admin::delete_wave))],
        ),
        (
            "/api/v1/surveys/{slug}/invitations",
            vec![(post, web::to(admin::create_invitations))],
        ),
        (
            "/api/v1/surveys/{slug}/responses/{id}",
            vec![(delete, web::to(admin::delete_response))],
        ),
    ]
}

/// Registers the route table on the public port.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for (path, routes) in table() {
        let mut resource = web::resource(path).default_service(web::to(method_not_allowed));
        for (method, route) in routes {
            resource = resource.route(route.method(method));
        }
        cfg.service(resource);
    }
}

/// Each path of the route table with the methods it takes: what `configure`
/// registers, read from the same table (the OpenAPI document is checked
/// against it).
pub fn route_table() -> Vec<(&'static str, Vec<Method>)> {
    table()
        .into_iter()
        .map(|(path, routes)| (path, routes.into_iter().map(|(m, _)| m).collect()))
        .collect()
}

/// A known path asked with a method it does not take.
async fn method_not_allowed(req: HttpRequest) -> AppResult<actix_web::HttpResponse> {
    Err(AppError::MethodNotAllowed(format!(
        "{} is not allowed here",
        req.method()
    )))
}

/// Any path the service does not have.
pub async fn not_found() -> AppResult<actix_web::HttpResponse> {
    Err(AppError::NotFound("no such resource".into()))
}

/// Query parameters by name; a name given twice is refused rather than one
/// of its values silently chosen.
pub fn single_values(
    pairs: Vec<(String, String)>,
) -> AppResult<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    let mut repeated = Vec::new();
    for (name, value) in pairs {
        if out.insert(name.clone(), value).is_some() && !repeated.contains(&name) {
            repeated.push(name);
        }
    }
    if repeated.is_empty() {
        return Ok(out);
    }
    Err(AppError::invalid(
        "a parameter is given more than once",
        repeated
            .into_iter()
            .map(|name| crate::error::Detail::field(name, "repeated", "give each parameter once"))
            .collect(),
    ))
}

/// Runs store work on the blocking pool, inside the caller's log span.
pub async fn with_conn<T, F>(store: &Store, work: F) -> AppResult<T>
where
    F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let store = store.clone();
    let span = tracing::Span::current();
    web::block(move || {
        let _entered = span.enter();
        let mut conn = store.get()?;
        work(&mut conn)
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// Reads a body up to the configured limit; a larger one is refused unread.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    settings: &Settings,
) -> AppResult<web::Bytes> {
    let limit = settings.max_body;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(AppError::TooLarge(limit));
    }
    // The whole body within the request timeout: a body trickled a byte at a
    // time would otherwise hold a connection (and a worker's buffer) open.
    let deadline = settings.request_timeout;
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|e| AppError::Malformed(format!("could not read the body: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(AppError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    let body = actix_web::rt::time::timeout(deadline, read)
        .await
        .map_err(|_| AppError::BodyTimeout(deadline.as_secs().max(1)))??;
    Ok(body.freeze())
}

/// `FromRequest` for an extractor that needs the request and the store: the
/// boilerplate once, each extractor's rule in one line.
macro_rules! extractor {
    ($ty:ty, |$req:ident, $store:ident| $body:expr) => {
        impl actix_web::FromRequest for $ty {
            type Error = AppError;
            type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
                let $req = req.clone();
                Box::pin(async move {
                    let $store = store_of(&$req)?;
                    $body
                })
            }
        }
    };
}

/// Who calls: anonymous (the public) or the role of a live token. As an
/// extractor it answers 401 for a token that is unknown, revoked or unreadable.
pub struct Caller(pub Option<Role>);

impl Caller {
    pub fn is_public(&self) -> bool {
        self.0.is_none()
    }
}

extractor!(Caller, |req, store| Ok(Caller(
    caller_role(&req, &store).await?
)));

/// A researcher (or admin) caller: as an extractor, 401 without a live token.
pub struct Researcher;

extractor!(Researcher, |req, store| {
    require(&req, &store, Role::Researcher)
        .await
        .map(|_| Researcher)
});

/// An admin caller: as an extractor, 401 without a live token and 403 for a
/// token of a lower role.
pub struct Admin;

extractor!(Admin, |req, store| {
    require(&req, &store, Role::Admin).await.map(|_| Admin)
});

/// The survey named by the path's `{slug}`: as an extractor, 404 when there
/// is none.
pub struct PathSurvey(pub crate::survey::Survey);

/// The path's survey for an admin: 401/403 first (a caller without the role
/// learns nothing more), then 404 when there is no such survey.
pub struct AdminSurvey(pub crate::survey::Survey);

fn store_of(req: &HttpRequest) -> AppResult<web::Data<Store>> {
    req.app_data::<web::Data<Store>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no store configured")))
}

async fn survey_of_path(req: &HttpRequest, store: &Store) -> AppResult<crate::survey::Survey> {
    let slug = req.match_info().get("slug").unwrap_or_default().to_string();
    with_conn(store, move |conn| {
        crate::db::surveys::find_by_slug(conn, &slug)?
            .ok_or_else(|| AppError::NotFound(format!("no survey {slug:?}")))
    })
    .await
}

extractor!(PathSurvey, |req, store| {
    Ok(PathSurvey(survey_of_path(&req, &store).await?))
});

extractor!(AdminSurvey, |req, store| {
    require(&req, &store, Role::Admin).await?;
    Ok(AdminSurvey(survey_of_path(&req, &store).await?))
});

/// The role of the request's token: 401 without a live token, 403 below `needed`.
pub async fn require(req: &HttpRequest, store: &Store, needed: Role) -> AppResult<Role> {
    match caller_role(req, store).await? {
        None => Err(AppError::Unauthorized(
            "send an API token: Authorization: Bearer TOKEN".into(),
        )),
        Some(role) if role < needed => Err(AppError::Forbidden(format!(
            "this needs the {} role",
            needed.as_str()
        ))),
        Some(role) => Ok(role),
    }
}

/// The role of the request's token if it sent one; a token that is unknown or
/// revoked is 401 (never silently treated as anonymous).
pub async fn caller_role(req: &HttpRequest, store: &Store) -> AppResult<Option<Role>> {
    let Some(header) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    // A header that is not plain ASCII is an unreadable token, never "no token".
    let header = header
        .to_str()
        .map_err(|_| AppError::Unauthorized("unreadable Authorization header".into()))?;
    let token = auth::token_from_header(header)
        .ok_or_else(|| AppError::Unauthorized("unreadable Authorization header".into()))?;
    let today = chrono::Utc::now().date_naive();
    with_conn(store, move |conn| {
        Ok(tokens::authenticate(conn, &token, today)?)
    })
    .await?
    .map(Some)
    .ok_or_else(|| AppError::Unauthorized("unknown or revoked token".into()))
}

/// Takes one submission from the client's allowance (429 when spent).
pub fn check_rate(req: &HttpRequest, settings: &Settings, limiter: &RateLimiter) -> AppResult<()> {
    let forwarded = header_str(req, header::HeaderName::from_static("x-forwarded-for"));
    let peer = req.peer_addr().map(|a| a.ip());
    match limits::client_address(peer, forwarded, settings.trusted_proxy) {
        Some(client) => limiter
            .check(client, std::time::Instant::now())
            .map_err(|wait| AppError::RateLimited(wait.as_secs_f64().ceil() as u64)),
        None => Ok(()),
    }
}

/// The media type of the request without its parameters, lowercased.
pub fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers()
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
}
