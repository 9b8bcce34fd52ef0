//! What a series says about itself (the metadata a reader needs to trust
//! it) and its CSV form.

use serde_json::{Map, Value, json};

use crate::analysis::disclosure::{self, Audience};
use crate::analysis::params::{Metric, SeriesSpec};
use crate::analysis::series::{Point, Series};
use crate::analysis::shifts::ShiftRequest;
use crate::analysis::weighting::WeightingReport;
use crate::db::targets::StoredTargets;
use crate::survey::{QuestionKind, Survey};

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
fn measure_meta(survey: &Survey, spec: &SeriesSpec) -> Map<String, Value> {
    let fields = json!({
        "survey": survey.definition.slug,
        "question": spec.question.code,
        "text": spec.question.prompt,
        "metric": spec.metric.as_str(),
        "option": spec.option,
        "by": spec.by.as_ref().map(|q| q.code.clone()),
        "definition": definition(spec),
        "base": base(spec),
    });
    fields.as_object().cloned().unwrap_or_default()
}

/// What every output says about its data: suppression, visibility, version.
fn provenance(
    meta: &mut Map<String, Value>,
    survey: &Survey,
    min_cell: u32,
    audience: &Audience,
    data_version: i64,
) {
    let public = audience.is_public();
    let fields = json!({
        "min_cell": min_cell,
        "completed_days_only": public,
        "perturbed": public,
        "disclosure": if public { disclosure::PERTURBATION_NOTE } else { "Exact figures (researcher access), today included." },
        "generated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data_version": data_version,
        "synthetic_data": survey.synthetic,
        "note": SAMPLING_NOTE,
    });
    meta.extend(fields.as_object().cloned().unwrap_or_default());
}

pub fn meta(
    survey: &Survey,
    spec: &SeriesSpec,
    series: &Series,
    targets: &StoredTargets,
    min_cell: u32,
    audience: &Audience,
) -> Value {
    let mut meta = measure_meta(survey, spec);
    let series_fields = json!({
        "groups": series.groups,
        "interval": spec.interval.as_str(),
        "smooth": spec.smooth,
        "units": match spec.metric { Metric::Mean => "scale units", Metric::Net => "percentage points", _ => "percent" },
        "weighting": {
            // Weights in use (raked with targets, else the base weights), and
            // whether there are targets to rake to.
            "weighted": spec.weighted,
            "raked_to_targets": series.weighted,
            "method": "raking to the targets per wave, else per calendar month; factors capped to [0.2, 5] x their mean",
            "targets": if series.weighted { json!(targets.shares) } else { Value::Null },
            "source": if series.weighted { json!(targets.source) } else { Value::Null },
            "periods": series.weighting,
        },
        "from": series.from,
        "to": series.to,
    });
    meta.extend(series_fields.as_object().cloned().unwrap_or_default());
    provenance(&mut meta, survey, min_cell, audience, series.data_version);
    Value::Object(meta)
}

/// What a list of shifts says about itself.
pub fn shifts_meta(
    survey: &Survey,
    spec: &SeriesSpec,
    request: &ShiftRequest,
    weighting: Vec<WeightingReport>,
    min_cell: u32,
    audience: &Audience,
    data_version: i64,
) -> Value {
    let mut meta = measure_meta(survey, spec);
    let shift_fields = json!({
        "window_days": request.window_days,
        "windows": "before = [date - window_days, date), after = [date, date + window_days), each its own sample; the public sees a shift once its after window has ended (until then it is pending)",
        "method": "difference = after - before; SE = sqrt(SE_after^2 + SE_before^2); z = difference/SE; p = 2(1 - Phi(|z|)); 95% CI = difference +/- 1.96 SE",
        "multiple_comparisons": request.every_event.then_some("p-values are per event and not adjusted for multiple comparisons"),
        "weighting": { "weighted": spec.weighted, "raked_to_targets": spec.weighted && !weighting.is_empty(), "periods": weighting },
    });
    meta.extend(shift_fields.as_object().cloned().unwrap_or_default());
    provenance(&mut meta, survey, min_cell, audience, data_version);
    Value::Object(meta)
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
