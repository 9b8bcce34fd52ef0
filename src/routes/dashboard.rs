//! The dashboard: `/` (surveys and the chart catalogue), `/d/{slug}` (a GET
//! form whose URL is the permalink, the chart, its table, shifts, change
//! points, downloads) and `/embed/{slug}/{question}` (the bare chart, the
//! only pages that may be framed). Researchers sign in with HTTP Basic at
//! `/signin`.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::analysis::changepoints;
use crate::analysis::charts::{self as chart_service, Look};
use crate::analysis::service::{self, Reader};
use crate::catalogue::Entry;
use crate::config::Settings;
use crate::dashboard::{
    self, CatalogueCard, DashboardPage, EmbedPage, HomePage, Link, SurveyCard, View, query_string,
    texts,
};
use crate::db::{DbConnection, Store, events, surveys};
use crate::error::{AppError, AppResult};
use crate::pages::MessagePage;
use crate::plot::Size;
use crate::rendering::{Caches, fingerprint};
use crate::routes::{Caller, header_str, single_values, with_conn};
use crate::survey::Lang;

/// The chart catalogue, read at start.
pub struct Catalogue(pub Vec<Entry>);

fn render(page: &impl Template) -> AppResult<Bytes> {
    page.render()
        .map(Bytes::from)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering a page: {e}")))
}

/// An HTML answer: public pages may be cached briefly, a researcher's never
/// shared; both vary with the language asked and the credentials.
fn html(status: StatusCode, public: bool, body: Bytes) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CACHE_CONTROL,
            if public {
                "public, max-age=300"
            } else {
                "private, no-store"
            },
        ))
        .insert_header((header::VARY, "Accept-Language, Authorization"))
        .body(body)
}

/// A page for an error of an HTML route: the same status, said in words.
fn error_page(error: AppError, lang: Lang) -> AppResult<HttpResponse> {
    use actix_web::ResponseError;
    let status = error.status_code();
    if matches!(
        error,
        AppError::Unauthorized(_) | AppError::Internal(_) | AppError::Unavailable(_)
    ) {
        // The JSON error carries the Basic challenge and keeps causes out of pages.
        return Err(error);
    }
    let heading = match lang {
        Lang::Ru => "Не получилось",
        Lang::En => "That did not work",
    };
    let page = MessagePage::simple(lang, heading, &error.to_string());
    Ok(html(status, true, render(&page)?))
}

/// `?lang=` when asked, else the browser's language, else Russian (the
/// language of the surveys a page outside any survey serves first).
fn language(req: &HttpRequest, asked: Option<&str>) -> Lang {
    Lang::negotiate(asked, header_str(req, header::ACCEPT_LANGUAGE), Lang::Ru)
}

fn switch_link(path: &str, params: &[(String, String)], lang: Lang) -> Link {
    let other = if lang == Lang::Ru { Lang::En } else { Lang::Ru };
    let mut params: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "lang")
        .cloned()
        .collect();
    params.push(("lang".into(), other.as_str().into()));
    Link {
        href: format!("{path}?{}", query_string(&params)),
        text: match other {
            Lang::Ru => "Русский".into(),
            Lang::En => "English".into(),
        },
    }
}

/// `GET /`
pub async fn get_home(
    req: HttpRequest,
    store: web::Data<Store>,
    catalogue: web::Data<Catalogue>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let query = single_values(query.into_inner())?;
    let lang = language(&req, query.get("lang").map(String::as_str));
    let list = with_conn(&store, |conn| Ok(surveys::list(conn)?)).await?;
    let surveys: Vec<SurveyCard> = list
        .iter()
        .map(|s| SurveyCard {
            title: s.definition.title.get(lang).to_string(),
            description: s.definition.description.get(lang).to_string(),
            dashboard: format!("/d/{}?lang={}", s.definition.slug, lang.as_str()),
            form: format!("/s/{}?lang={}", s.definition.slug, lang.as_str()),
        })
        .collect();
    let charts: Vec<CatalogueCard> = dashboard::catalogue_cards(&catalogue.0, &list, lang);
    let page = HomePage {
        lang: lang.as_str(),
        t: texts(lang),
        switch: switch_link("/", &[], lang),
        surveys,
        charts,
    };
    Ok(html(StatusCode::OK, true, render(&page)?))
}

/// Everything `/d/{slug}` shows, computed.
fn dashboard_page(
    conn: &mut DbConnection,
    store: &Store,
    reader: &Reader,
    view: &View,
    slug: &str,
) -> AppResult<DashboardPage> {
    let survey = &reader.loaded.survey;
    let (lang, t) = (view.lang, texts(view.lang));
    let public = reader.audience.is_public();
    let (has_targets, has_waves) = (
        !reader.loaded.targets.shares.is_empty(),
        !reader.loaded.waves.is_empty(),
    );
    let series_query: HashMap<String, String> = view.series_params(true).into_iter().collect();
    let shift_query: HashMap<String, String> = view.shift_params(true).into_iter().collect();
    // The shifts (a day read per event window) on a second connection and
    // core while this one computes the series: the page waits for the
    // slower of the two, not their sum.
    let (series, shifts) = std::thread::scope(|scope| {
        let shifts = scope.spawn(|| {
            let mut conn = store.get()?;
            reader.shift_figures(&mut conn, &shift_query, &[])
        });
        let series = reader.series(conn, &series_query);
        let shifts = shifts.join().unwrap_or_else(|_| {
            Err(AppError::Internal(anyhow::anyhow!(
                "computing the shifts panicked"
            )))
        });
        (series, shifts)
    });
    let ((spec, series), shifts) = (series?, shifts?);
    let events = events::list(conn)?;
    let look = Look {
        lang,
        size: Size::DEFAULT,
        fixed_height: true,
        events: true,
        changes: view.changes,
    };
    let chart = chart_service::series_chart(reader, &spec, &series, &events, &look);
    let unit = chart.unit;
    let groups = changepoints::compute(&series, &spec, reader.min_cell, &reader.audience);

    let question = &view.question;
    let chart_query = query_string(&view.chart_params());
    let series_api = query_string(&view.series_params(true));
    let mut shift_params = view.shift_params(false);
    shift_params.push(("lang".into(), lang.as_str().into()));
    let mut downloads = vec![
        Link {
            href: format!("/charts/{slug}/{question}.png?{chart_query}"),
            text: "PNG".into(),
        },
        Link {
            href: format!("/charts/{slug}/{question}.svg?{chart_query}"),
            text: "SVG".into(),
        },
        Link {
            href: format!("/api/v1/surveys/{slug}/series.csv?{series_api}"),
            text: "CSV".into(),
        },
        Link {
            href: format!("/api/v1/surveys/{slug}/series?{series_api}"),
            text: "JSON".into(),
        },
        Link {
            href: format!("/embed/{slug}/{question}?{chart_query}"),
            text: t.embed.into(),
        },
    ];
    if !public {
        downloads.push(Link {
            href: format!("/api/v1/surveys/{slug}/responses.csv"),
            text: t.microdata.into(),
        });
        downloads.push(Link {
            href: format!("/api/v1/surveys/{slug}/datapackage.zip"),
            text: t.package.into(),
        });
    }
    let permalink = view.page_params();
    let here = format!("/d/{slug}?{}", query_string(&permalink));
    let shift_title = match lang {
        Lang::Ru => "Сдвиги вокруг событий: разница между 28 днями после и до, с 95% интервалами",
        Lang::En => {
            "Shifts around events: the difference between 28 days after and before, with 95% intervals"
        }
    };
    Ok(DashboardPage {
        lang: lang.as_str(),
        t,
        title: survey.definition.title.get(lang).to_string(),
        description: survey.definition.description.get(lang).to_string(),
        synthetic: survey.synthetic,
        synthetic_note: crate::pages::texts(lang).synthetic,
        exact: !public,
        action: format!("/d/{slug}"),
        switch: switch_link(&format!("/d/{slug}"), &permalink, lang),
        controls: dashboard::controls(survey, view, public, has_targets, has_waves),
        from: view.from.map(|d| d.to_string()).unwrap_or_default(),
        to: view.to.map(|d| d.to_string()).unwrap_or_default(),
        smooth: if view.smooth > 1 {
            view.smooth.to_string()
        } else {
            String::new()
        },
        changes: view.changes,
        chart_src: format!("/charts/{slug}/{question}.png?{chart_query}"),
        chart_alt: chart_service::alt_text(&chart, lang),
        chart_title: format!("{} — {}", chart.title, chart.subtitle),
        downloads,
        latest: dashboard::latest_rows(&spec, &series.points, 6, unit, lang),
        shift_src: format!(
            "/charts/{slug}/{question}/shifts.png?{}",
            query_string(&shift_params)
        ),
        shift_alt: shift_title.to_string(),
        shifts: dashboard::shift_rows(&spec, &shifts.shifts, unit, lang),
        segments: dashboard::segment_rows(&spec, &groups, unit, lang),
        researcher_href: public
            .then(|| format!("/signin?{}", query_string(&[("next".to_string(), here)]))),
    })
}

/// `GET /signin?next=PATH`: a researcher's sign-in. Without a token: 401 with
/// a Basic challenge, and the browser asks for the token (as the password);
/// with one: back to `next`, a path on this site. The challenge is answered
/// at the site's root so that the browser then sends the token with every
/// request here, chart images included (a challenge under /d/ would cover
/// only /d/).
pub async fn get_signin(
    caller: Caller,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let query = single_values(query.into_inner())?;
    if caller.is_public() {
        return Err(AppError::Unauthorized(
            "sign in with your researcher token as the password".into(),
        ));
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, local_path(query.get("next"))))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// `next` when it is a path on this site, else `/` (never another site).
fn local_path(next: Option<&String>) -> String {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.contains('\\')
            && !n.chars().any(char::is_control)
    })
    .cloned()
    .unwrap_or_else(|| "/".into())
}

/// The view a page's query asks for, in the language it negotiates, made to
/// fit the survey and the caller.
fn view_of(
    loaded: &service::Loaded,
    query: &HashMap<String, String>,
    public: bool,
    accept_language: Option<&str>,
) -> View {
    let def = &loaded.survey.definition;
    let lang = Lang::negotiate(
        query.get("lang").map(String::as_str),
        accept_language,
        def.default_lang,
    );
    View::fit(
        def,
        query,
        public,
        !loaded.targets.shares.is_empty(),
        !loaded.waves.is_empty(),
        lang,
    )
}

/// `GET /d/{slug}`
pub async fn get_dashboard(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    caches: web::Data<Caches>,
    slug: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let query = single_values(query.into_inner())?;
    let public = caller.is_public();
    let accept = header_str(&req, header::ACCEPT_LANGUAGE).map(str::to_string);
    let min_cell = settings.min_cell;
    let caches = caches.into_inner();
    let slug = slug.into_inner();
    let pool = store.clone().into_inner();
    let outcome = with_conn(&store, move |conn| {
        let loaded = service::load(conn, &slug)?;
        let reader = Reader::new(&loaded, public, min_cell).with_memo(&caches.figures);
        let view = view_of(&loaded, &query, public, accept.as_deref());
        let lang = view.lang;
        let data_version = reader.data_version(conn)?;
        let key = fingerprint(
            conn,
            &reader,
            data_version,
            "dashboard",
            &view.page_params().into_iter().collect(),
        )?;
        if let Some(page) = caches.pages.get(&key) {
            return Ok((lang, Ok(page)));
        }
        match dashboard_page(conn, &pool, &reader, &view, &slug) {
            Ok(page) => {
                let bytes = render(&page)?;
                caches.pages.insert(key, bytes.clone());
                Ok((lang, Ok(bytes)))
            }
            Err(e) => Ok((lang, Err(e))),
        }
    })
    .await;
    match outcome {
        Ok((_, Ok(page))) => Ok(html(StatusCode::OK, public, page)),
        Ok((lang, Err(e))) => error_page(e, lang),
        Err(e @ AppError::NotFound(_)) => error_page(e, language(&req, None)),
        Err(e) => Err(e),
    }
}

/// `GET /embed/{slug}/{question}`: the chart alone, for an iframe anywhere.
pub async fn get_embed(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    caches: web::Data<Caches>,
    path: web::Path<(String, String)>,
    query: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let lang = language(&req, None);
    let mut query = match single_values(query.into_inner()) {
        Ok(query) => query,
        Err(e) => return error_page(e, lang),
    };
    let (slug, question) = path.into_inner();
    query.insert("question".into(), question.clone());
    let public = caller.is_public();
    let accept = header_str(&req, header::ACCEPT_LANGUAGE).map(str::to_string);
    let min_cell = settings.min_cell;
    let caches = caches.into_inner();
    let page = with_conn(&store, move |conn| {
        let loaded = service::load(conn, &slug)?;
        // A page for a question that has no chart is a 404, not another chart.
        if !dashboard::item_questions(&loaded.survey.definition)
            .iter()
            .any(|q| q.code == question)
        {
            return Err(AppError::NotFound(format!("no chart of {question:?}")));
        }
        let reader = Reader::new(&loaded, public, min_cell).with_memo(&caches.figures);
        let view = view_of(&loaded, &query, public, accept.as_deref());
        let lang = view.lang;
        let mut chart_query: HashMap<String, String> = view.chart_params().into_iter().collect();
        chart_query.insert("question".into(), view.question.clone());
        let (picture, _) = chart_service::series_picture(&reader, conn, &chart_query)?;
        let q = &view.question;
        render(&EmbedPage {
            lang: lang.as_str(),
            title: picture.chart.title.clone(),
            src: format!(
                "/charts/{slug}/{q}.png?{}",
                query_string(&view.chart_params())
            ),
            alt: picture.alt,
            href: format!("/d/{slug}?{}", query_string(&view.page_params())),
            link_text: match lang {
                Lang::Ru => "trustpulse: открыть панель",
                Lang::En => "trustpulse: open the dashboard",
            },
        })
    })
    .await;
    let page = match page {
        Ok(page) => page,
        Err(e) => return error_page(e, lang),
    };
    let mut response = html(StatusCode::OK, public, page);
    // The one page that may be framed, by any site.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors *",
        ),
    );
    Ok(response)
}
