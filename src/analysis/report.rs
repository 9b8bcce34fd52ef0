//! What a series says about itself (the metadata a reader needs to trust
//! it) and its CSV form.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::analysis::disclosure::{self, Audience};
use crate::analysis::params::{Interval, Metric, SeriesSpec};
use crate::analysis::series::{Point, Series};
use crate::analysis::shifts::ShiftRequest;
use crate::analysis::weighting::WeightingReport;
use crate::db::targets::StoredTargets;
use crate::survey::targets::Targets;
use crate::survey::{Localized, QuestionKind, Survey};

/// Said on every output: what the intervals cover and what they do not.
pub const SAMPLING_NOTE: &str = "Responses come from whoever answers (an opt-in sample): intervals describe sampling variation under the weights, not self-selection. Recent figures can move as late answers arrive and when targets change.";

pub fn definition(spec: &SeriesSpec) -> String {
    let q = &spec.question;
    let list = |v: Vec<i32>| v.iter().map(i32::to_string).collect::<Vec<_>>().join(", ");
    match spec.metric {
        Metric::Mean => {
            let s = q.scale.as_ref();
            format!(
                "Weighted mean of the {}-{} answers, in scale units.",
                s.map_or(0, |s| s.min),
                s.map_or(0, |s| s.max)
            )
        }
        Metric::Top2 => format!(
            "Percent answering {}.",
            list(
                q.scale
                    .as_ref()
                    .map(|s| s.positive_values())
                    .unwrap_or_default()
            )
        ),
        Metric::Bottom2 => format!(
            "Percent answering {}.",
            list(
                q.scale
                    .as_ref()
                    .map(|s| s.negative_values())
                    .unwrap_or_default()
            )
        ),
        Metric::Net => "Top-2 minus bottom-2, in percentage points.".to_string(),
        Metric::Share if q.kind == QuestionKind::MultiChoice => {
            format!(
                "Percent of respondents who answered the question choosing {:?}.",
                spec.option.as_deref().unwrap_or("")
            )
        }
        Metric::Share => format!(
            "Percent choosing {:?}.",
            spec.option.as_deref().unwrap_or("")
        ),
    }
}

pub fn base(spec: &SeriesSpec) -> String {
    let non_substantive_share = spec.metric == Metric::Share
        && spec
            .option
            .as_deref()
            .is_some_and(|o| spec.question.option(o).is_some_and(|o| o.non_substantive));
    if non_substantive_share {
        "Every answer to the question, non-substantive ones included.".into()
    } else {
        "Substantive answers only: non-substantive options (don't know, prefer not to say) are left out.".into()
    }
}

/// What every output says about the measure: which survey, question, metric
/// and breakdown, and what the numbers mean.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasureMeta {
    pub survey: String,
    pub question: String,
    /// The question as asked.
    pub text: Localized,
    pub metric: Metric,
    /// The option of `metric=share`.
    pub option: Option<String>,
    /// The demographic question of the breakdown.
    pub by: Option<String>,
    /// What the value is, in words.
    pub definition: String,
    /// Which answers count in the base.
    pub base: String,
}

fn measure_meta(survey: &Survey, spec: &SeriesSpec) -> MeasureMeta {
    MeasureMeta {
        survey: survey.definition.slug.clone(),
        question: spec.question.code.clone(),
        text: spec.question.prompt.clone(),
        metric: spec.metric,
        option: spec.option.clone(),
        by: spec.by.as_ref().map(|q| q.code.clone()),
        definition: definition(spec),
        base: base(spec),
    }
}

/// What every output says about its data: suppression, visibility, version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Provenance {
    /// Cells with fewer (effective) respondents are suppressed.
    pub min_cell: u32,
    /// Public figures cover completed days only (up to yesterday).
    pub completed_days_only: bool,
    /// Public figures are perturbed (cell-key method).
    pub perturbed: bool,
    pub disclosure: &'static str,
    /// When this answer was computed (UTC, seconds).
    #[schema(format = DateTime)]
    pub generated_at: String,
    /// Changes whenever any figure this caller may see could change.
    pub data_version: i64,
    /// The store holds generated (synthetic) demo responses for this survey.
    pub synthetic_data: bool,
    pub note: &'static str,
}

fn provenance(
    survey: &Survey,
    min_cell: u32,
    audience: &Audience,
    data_version: i64,
) -> Provenance {
    let public = audience.is_public();
    Provenance {
        min_cell,
        completed_days_only: public,
        perturbed: public,
        disclosure: if public {
            disclosure::PERTURBATION_NOTE
        } else {
            "Exact figures (researcher access), today included."
        },
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        data_version,
        synthetic_data: survey.synthetic,
        note: SAMPLING_NOTE,
    }
}

/// The weights a series uses and how its raking went, per raking period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesWeighting {
    /// Weights in use (raked with targets, else the base weights).
    pub weighted: bool,
    /// Whether there were targets to rake to.
    pub raked_to_targets: bool,
    pub method: &'static str,
    /// The targets raked to (null when not raked).
    #[schema(value_type = Option<std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>>)]
    pub targets: Option<Targets>,
    /// Where the targets come from (null when not raked, or not said).
    pub source: Option<String>,
    pub periods: Vec<WeightingReport>,
}

/// What a series says about itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesMeta {
    #[serde(flatten)]
    pub measure: MeasureMeta,
    /// The groups of the breakdown (`[""]` without `by`).
    pub groups: Vec<String>,
    pub interval: Interval,
    /// Each period pooled with the `smooth - 1` before it.
    pub smooth: usize,
    pub units: &'static str,
    pub weighting: SeriesWeighting,
    /// The effective range: cut to the data, widened to whole periods.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    #[serde(flatten)]
    pub provenance: Provenance,
}

pub fn meta(
    survey: &Survey,
    spec: &SeriesSpec,
    series: &Series,
    targets: &StoredTargets,
    min_cell: u32,
    audience: &Audience,
) -> SeriesMeta {
    SeriesMeta {
        measure: measure_meta(survey, spec),
        groups: series.groups.clone(),
        interval: spec.interval,
        smooth: spec.smooth,
        units: match spec.metric {
            Metric::Mean => "scale units",
            Metric::Net => "percentage points",
            _ => "percent",
        },
        weighting: SeriesWeighting {
            weighted: spec.weighted,
            raked_to_targets: series.weighted,
            method: "raking to the targets per wave, else per calendar month; factors capped to [0.2, 5] x their mean",
            targets: series.weighted.then(|| targets.shares.clone()),
            source: targets.source.clone().filter(|_| series.weighted),
            periods: series.weighting.clone(),
        },
        from: series.from,
        to: series.to,
        provenance: provenance(survey, min_cell, audience, series.data_version),
    }
}

/// The weights of a list of shifts, per raking period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShiftsWeighting {
    pub weighted: bool,
    pub raked_to_targets: bool,
    pub periods: Vec<WeightingReport>,
}

/// What a list of shifts says about itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShiftsMeta {
    #[serde(flatten)]
    pub measure: MeasureMeta,
    /// Days on each side of the date.
    pub window_days: i64,
    pub windows: &'static str,
    pub method: &'static str,
    /// Said when every event was tested at once (null otherwise).
    pub multiple_comparisons: Option<&'static str>,
    pub weighting: ShiftsWeighting,
    #[serde(flatten)]
    pub provenance: Provenance,
}

pub fn shifts_meta(
    survey: &Survey,
    spec: &SeriesSpec,
    request: &ShiftRequest,
    weighting: Vec<WeightingReport>,
    min_cell: u32,
    audience: &Audience,
    data_version: i64,
) -> ShiftsMeta {
    ShiftsMeta {
        measure: measure_meta(survey, spec),
        window_days: request.window_days,
        windows: "before = [date - window_days, date), after = [date, date + window_days), each its own sample; the public sees a shift once its after window has ended (until then it is pending)",
        method: "difference = after - before; SE = sqrt(SE_after^2 + SE_before^2); z = difference/SE; p = 2(1 - Phi(|z|)); 95% CI = difference +/- 1.96 SE",
        multiple_comparisons: request
            .every_event
            .then_some("p-values are per event and not adjusted for multiple comparisons"),
        weighting: ShiftsWeighting {
            weighted: spec.weighted,
            raked_to_targets: spec.weighted && !weighting.is_empty(),
            periods: weighting,
        },
        provenance: provenance(survey, min_cell, audience, data_version),
    }
}

pub const CSV_HEADER: [&str; 15] = [
    "survey",
    "question",
    "metric",
    "option",
    "group_by",
    "group",
    "period_start",
    "interval",
    "n",
    "n_eff",
    "value",
    "ci_low",
    "ci_high",
    "suppressed",
    "weighted",
];

fn number(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// The series as CSV, columns in the order the product contract fixes.
pub fn csv(survey: &Survey, spec: &SeriesSpec, points: &[Point]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER)?;
    let by = spec.by.as_ref().map(|q| q.code.as_str()).unwrap_or("");
    for p in points {
        out.write_record([
            survey.definition.slug.as_str(),
            spec.question.code.as_str(),
            spec.metric.as_str(),
            spec.option.as_deref().unwrap_or(""),
            by,
            p.group.as_str(),
            &p.period_start.to_string(),
            spec.interval.as_str(),
            &p.n.map(|n| n.to_string()).unwrap_or_default(),
            &number(p.n_eff),
            &number(p.value),
            &number(p.ci_low),
            &number(p.ci_high),
            if p.suppressed { "true" } else { "false" },
            if p.weighted { "true" } else { "false" },
        ])?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}
