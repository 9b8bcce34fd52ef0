//! Exploratory change points on a series: PELT over the shown estimates,
//! each segment re-estimated from its pooled responses.

use chrono::NaiveDate;
use serde::Serialize;

use crate::analysis::disclosure::{self, Audience};
use crate::analysis::measure::Measure;
use crate::analysis::params::SeriesSpec;
use crate::analysis::series::Series;
use crate::stats::changepoints::pelt;
use crate::stats::estimate::{self, Moments};

pub const NOTE: &str = "Exploratory: the breaks are chosen by the data (PELT, squared-error cost, penalty 2·σ²·ln n with σ² the mean squared standard error of the points used). A data-chosen break is not a confirmatory test; use the shifts endpoint around a dated event for that.";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Segment {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub points: usize,
    /// Null for a suppressed public segment.
    pub n: Option<i64>,
    pub n_eff: Option<f64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Change {
    /// The first period of the new regime.
    pub period_start: NaiveDate,
    /// Pooled estimate after minus pooled estimate before.
    pub shift: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupChanges {
    pub group: String,
    pub points_used: usize,
    pub penalty: Option<f64>,
    pub segments: Vec<Segment>,
    pub changes: Vec<Change>,
}

/// The change points of every group of a computed series.
pub fn compute(
    series: &Series,
    spec: &SeriesSpec,
    min_cell: u32,
    audience: &Audience,
) -> Vec<GroupChanges> {
    let measure = Measure::new(spec);
    let scale = spec.metric.scale_factor();
    series
        .groups
        .iter()
        .enumerate()
        .map(|(gi, group)| {
            // Shown points only: suppressed and empty periods are left out.
            let used: Vec<(usize, f64, f64)> = series
                .points
                .iter()
                .filter(|p| &p.group == group)
                .enumerate()
                .filter_map(|(i, p)| Some((i, p.value?, p.se?)))
                .collect();
            let n = used.len();
            let sigma2 = if n > 0 {
                used.iter().map(|(_, _, se)| se * se).sum::<f64>() / n as f64
            } else {
                0.0
            };
            let penalty = (n >= 2).then(|| 2.0 * sigma2 * (n as f64).ln());
            let values: Vec<f64> = used.iter().map(|(_, v, _)| *v).collect();
            let breaks = penalty.map(|b| pelt(&values, b, 2)).unwrap_or_default();
            let mut bounds = vec![0];
            bounds.extend(&breaks);
            bounds.push(n);
            let segments: Vec<Segment> = bounds
                .windows(2)
                .filter(|w| w[1] > w[0])
                .map(|w| {
                    let (first, last) = (used[w[0]].0, used[w[1] - 1].0);
                    // The segment's own points only: a suppressed period inside
                    // it stays out (METHODS), so no segment reveals a hidden cell.
                    let mut m = Moments::default();
                    let mut total = 0;
                    for (i, _, _) in &used[w[0]..w[1]] {
                        let sums = &series.period_sums[*i].1;
                        m.merge(&sums.groups[gi]);
                        total += sums.total_n;
                    }
                    let e = estimate::estimate(&m, total, measure.interval());
                    let hidden = e.value.is_none() || estimate::too_small(&e, min_cell);
                    let start = series.period_sums[first].0;
                    let p = disclosure::point(start, group, &e, hidden, false, scale, audience);
                    Segment {
                        start,
                        end: series.period_sums[last].0,
                        points: w[1] - w[0],
                        n: p.n,
                        n_eff: p.n_eff,
                        value: p.value,
                        ci_low: p.ci_low,
                        ci_high: p.ci_high,
                    }
                })
                .collect();
            let changes = segments
                .windows(2)
                .map(|pair| Change {
                    period_start: pair[1].start,
                    shift: pair[0].value.zip(pair[1].value).map(|(a, b)| b - a),
                })
                .collect();
            GroupChanges {
                group: group.clone(),
                points_used: n,
                penalty,
                segments,
                changes,
            }
        })
        .collect()
}
