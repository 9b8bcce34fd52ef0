//! The figures every face asks for, from a survey slug, the caller's audience
//! and the query parameters: parse and check them, compute, and say what the
//! numbers are. Handlers only turn the result into a response.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::analysis::disclosure::Audience;
use crate::analysis::memo::Memo;
use crate::analysis::params::{self, SeriesSpec};
use crate::analysis::report::{SeriesMeta, ShiftsMeta};
use crate::analysis::series::{self, Context, Point, Series};
use crate::analysis::{changepoints, report, shifts};
use crate::db::surveys::Wave;
use crate::db::targets::StoredTargets;
use crate::db::{DbConnection, aggregates, events, surveys, targets};
use crate::error::{AppError, AppResult, Detail};
use crate::submission::local_today;
use crate::survey::Survey;

/// Everything a reading endpoint needs about its survey.
pub struct Loaded {
    pub survey: Survey,
    pub targets: StoredTargets,
    pub waves: Vec<Wave>,
}

/// The survey by slug (404 when unknown), its targets and waves.
pub fn load(conn: &mut DbConnection, slug: &str) -> AppResult<Loaded> {
    let survey = surveys::find_by_slug(conn, slug)?
        .ok_or_else(|| AppError::NotFound(format!("no survey {slug:?}")))?;
    let targets = targets::get(conn, survey.id)?;
    let waves = surveys::waves(conn, survey.id)?;
    Ok(Loaded {
        survey,
        targets,
        waves,
    })
}

/// A series as CSV.
pub struct SeriesCsv {
    pub file: String,
    pub body: Vec<u8>,
    pub data_version: i64,
}

/// A series as JSON: what it is, and its points.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesResponse {
    pub meta: SeriesMeta,
    pub points: Vec<Point>,
}

/// Before/after estimates, one entry per event (and group with `by`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShiftsResponse {
    pub meta: ShiftsMeta,
    pub shifts: Vec<shifts::Shift>,
}

/// A series' metadata, and why its breaks are exploratory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangepointsMeta {
    #[serde(flatten)]
    pub series: SeriesMeta,
    pub exploratory: &'static str,
}

/// Exploratory change points of a series, per group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangepointsResponse {
    pub meta: ChangepointsMeta,
    pub groups: Vec<changepoints::GroupChanges>,
}

/// Shifts with what they were computed from.
pub struct ShiftFigures {
    pub spec: SeriesSpec,
    pub request: shifts::ShiftRequest,
    pub shifts: Vec<shifts::Shift>,
    pub weighting: Vec<crate::analysis::weighting::WeightingReport>,
    pub data_version: i64,
}

/// Who asks about which survey, with which minimum cell size.
pub struct Reader<'a> {
    pub loaded: &'a Loaded,
    pub audience: Audience,
    pub min_cell: u32,
    /// Store reads and raking kept between requests (the server's).
    pub memo: Option<&'a Memo>,
}

impl<'a> Reader<'a> {
    pub fn new(loaded: &'a Loaded, public: bool, min_cell: u32) -> Reader<'a> {
        Reader {
            audience: Audience::new(public, local_today(&loaded.survey)),
            loaded,
            min_cell,
            memo: None,
        }
    }

    /// The same reader keeping its store reads and raking in `memo`.
    pub fn with_memo(self, memo: &'a Memo) -> Reader<'a> {
        Reader {
            memo: Some(memo),
            ..self
        }
    }

    fn context(&self) -> Context<'a> {
        Context {
            survey: &self.loaded.survey,
            targets: &self.loaded.targets.shares,
            waves: &self.loaded.waves,
            min_cell: self.min_cell,
            audience: self.audience,
            memo: self.memo,
            version: Default::default(),
        }
    }

    /// Parses series parameters against the survey (422 naming each problem).
    pub fn spec(&self, query: &HashMap<String, String>, extra: &[&str]) -> AppResult<SeriesSpec> {
        params::parse(
            &self.loaded.survey.definition,
            !self.loaded.targets.shares.is_empty(),
            !self.loaded.waves.is_empty(),
            query,
            extra,
        )
        .map_err(invalid)
    }

    pub fn series(
        &self,
        conn: &mut DbConnection,
        query: &HashMap<String, String>,
    ) -> AppResult<(SeriesSpec, Series)> {
        self.series_with(conn, query, &[])
    }

    /// A series for a query that has parameters of its own in `extra`.
    pub fn series_with(
        &self,
        conn: &mut DbConnection,
        query: &HashMap<String, String>,
        extra: &[&str],
    ) -> AppResult<(SeriesSpec, Series)> {
        let spec = self.spec(query, extra)?;
        refuse(self.audience.series_refusals(&spec))?;
        let series = series::compute(conn, &self.context(), &spec)?;
        Ok((spec, series))
    }

    pub fn meta(&self, spec: &SeriesSpec, series: &Series) -> SeriesMeta {
        report::meta(
            &self.loaded.survey,
            spec,
            series,
            &self.loaded.targets,
            self.min_cell,
            &self.audience,
        )
    }

    /// `{"meta", "points"}`.
    pub fn series_json(
        &self,
        conn: &mut DbConnection,
        query: &HashMap<String, String>,
    ) -> AppResult<SeriesResponse> {
        let (spec, series) = self.series(conn, query)?;
        Ok(SeriesResponse {
            meta: self.meta(&spec, &series),
            points: series.points,
        })
    }

    /// The CSV bytes, a file name for them and the data version they used.
    pub fn series_csv(
        &self,
        conn: &mut DbConnection,
        query: &HashMap<String, String>,
    ) -> AppResult<SeriesCsv> {
        let (spec, series) = self.series(conn, query)?;
        let body = report::csv(&self.loaded.survey, &spec, &series.points)
            .map_err(|e| AppError::Internal(e.into()))?;
        let file = format!(
            "{}-{}-{}.csv",
            self.loaded.survey.definition.slug,
            spec.question.code,
            spec.metric.as_str()
        );
        Ok(SeriesCsv {
            file,
            body,
            data_version: series.data_version,
        })
    }

    /// `{"meta", "shifts"}`: every problem with the parameters at once.
    pub fn shifts(
        &self,
        conn: &mut DbConnection,
        query: &HashMap<String, String>,
    ) -> AppResult<ShiftsResponse> {
        let figures = self.shift_figures(conn, query, &[])?;
        let meta = report::shifts_meta(
            &self.loaded.survey,
            &figures.spec,
            &figures.request,
            figures.weighting,
            self.min_cell,
            &self.audience,
            figures.data_version,
        );
        Ok(ShiftsResponse {
            meta,
            shifts: figures.shifts,
        })
    }

    /// The shifts a query asks for (parameters of its own in `extra`).
    pub fn shift_figures(
        &self,
        conn: &mut DbConnection,
        query: &HashMap<String, String>,
        extra: &[&str],
    ) -> AppResult<ShiftFigures> {
        let survey_id = self.loaded.survey.id;
        let range = aggregates::date_range(conn, survey_id, self.audience.last_day())?;
        let events = events::list(conn)?;
        let known: Vec<&str> = shifts::PARAMS.iter().chain(extra).copied().collect();
        let spec = self.spec(query, &known);
        let request = shifts::parse(query, &events, range);
        let (spec, request) = match (spec, request) {
            (Ok(spec), Ok(request)) => (spec, request),
            (spec, request) => {
                let mut details = match spec {
                    Err(AppError::Invalid { details, .. }) => details,
                    Err(other) => return Err(other),
                    Ok(_) => Vec::new(),
                };
                details.extend(request.err().unwrap_or_default());
                return Err(invalid(details));
            }
        };
        let mut refused = self.audience.series_refusals(&spec);
        refused.extend(shifts::refusals(&self.audience, query));
        refuse(refused)?;
        let ctx = self.context();
        let (list, weighting) =
            shifts::compute(conn, &ctx, &spec, &request.dates, request.window_days)?;
        let data_version = ctx.version(conn)?.data_version;
        Ok(ShiftFigures {
            spec,
            request,
            shifts: list,
            weighting,
            data_version,
        })
    }

    /// The version of the figures this reader may see: it changes whenever
    /// any of them could (a new answer, a completed day, a closed wave).
    pub fn data_version(&self, conn: &mut DbConnection) -> AppResult<i64> {
        Ok(self.context().version(conn)?.data_version)
    }

    /// `{"meta", "groups"}`: exploratory change points per group.
    pub fn changepoints(
        &self,
        conn: &mut DbConnection,
        query: &HashMap<String, String>,
    ) -> AppResult<ChangepointsResponse> {
        let (spec, series) = self.series(conn, query)?;
        let groups = changepoints::compute(&series, &spec, self.min_cell, &self.audience);
        Ok(ChangepointsResponse {
            meta: ChangepointsMeta {
                series: self.meta(&spec, &series),
                exploratory: changepoints::NOTE,
            },
            groups,
        })
    }
}

fn invalid(details: Vec<Detail>) -> AppError {
    AppError::invalid("the parameters do not fit this survey", details)
}

/// 403 naming what needs a researcher token.
fn refuse(refusals: Vec<String>) -> AppResult<()> {
    if refusals.is_empty() {
        return Ok(());
    }
    Err(AppError::Forbidden(format!(
        "{} needs a researcher token: public figures stay coarse so that combining requests cannot single anyone out",
        refusals.join(", ")
    )))
}
