//! Weights per raking period (a wave, else a calendar month): the raking
//! factor g of each demographic cell, computed from the everyone-sums of the
//! period, and what the metadata reports about it.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::aggregate;
use crate::db::aggregates::Piece;
use crate::db::surveys::Wave;
use crate::stats::raking::{self, Cell, Outcome};
use crate::stats::sums::{self, ANSWERED};
use crate::survey::Survey;
use crate::survey::targets::Targets;

/// The period whose raking weights a response uses: its wave, else its month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RakePeriod {
    Month(NaiveDate),
    Wave(i32),
}

impl RakePeriod {
    pub fn of(day: NaiveDate, wave_id: i32) -> RakePeriod {
        if wave_id != 0 {
            RakePeriod::Wave(wave_id)
        } else {
            RakePeriod::Month(aggregate::month_start(day))
        }
    }
}

/// The last day of a raking period.
pub fn period_end(period: RakePeriod, waves: &[Wave]) -> NaiveDate {
    match period {
        RakePeriod::Month(m) => {
            let next = if m.month() == 12 {
                NaiveDate::from_ymd_opt(m.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(m.year(), m.month() + 1, 1)
            };
            next.map_or(NaiveDate::MAX, |d| d - chrono::Duration::days(1))
        }
        RakePeriod::Wave(id) => waves
            .iter()
            .find(|w| w.id == id)
            .map_or(NaiveDate::MAX, |w| w.closes),
    }
}

/// Weighting of one raking period, as reported in the metadata.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WeightingReport {
    pub period: String,
    /// Respondents in the period (researchers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<i64>,
    pub raked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design_effect: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The factors g per cell of each raking period (1 when unweighted or failed).
pub struct Weights {
    // FxHash: looked up once per row read, with short string keys.
    factors: FxHashMap<RakePeriod, FxHashMap<String, f64>>,
    failed: FxHashMap<RakePeriod, bool>,
    pub reports: Vec<WeightingReport>,
}

impl Weights {
    pub fn factor(&self, period: RakePeriod, cell: &str) -> f64 {
        self.factors
            .get(&period)
            .and_then(|f| f.get(cell))
            .copied()
            .unwrap_or(1.0)
    }

    /// Did raking apply to this period?
    pub fn raked(&self, period: RakePeriod) -> bool {
        self.failed.get(&period) == Some(&false)
    }

    /// About how many bytes the factors take (for a cache's budget).
    pub fn size_hint(&self) -> usize {
        self.factors
            .values()
            .map(|cells| cells.keys().map(|k| k.len() + 48).sum::<usize>())
            .sum()
    }
}

/// Rakes every period that `rows` (the everyone-rows of the pieces, sums
/// still encoded) cover.
pub fn weights(
    survey: &Survey,
    targets: &Targets,
    waves: &[Wave],
    rows: &[(Piece, String, String)],
    weighted: bool,
) -> Result<Weights, String> {
    // Ordered by cell: the raking sums then add up in the same order every
    // time, so the same data give the same last digits.
    let mut cells: BTreeMap<RakePeriod, BTreeMap<&str, (f64, f64, i64)>> = BTreeMap::new();
    for (piece, cell, text) in rows {
        let mut everyone = None;
        sums::for_each(text, |value, s| {
            if value == ANSWERED {
                everyone = Some(s);
            }
        })?;
        let Some(all) = everyone else { continue };
        let period = RakePeriod::of(piece.month_start, piece.wave_id);
        let slot = cells
            .entry(period)
            .or_default()
            .entry(cell.as_str())
            .or_default();
        slot.0 += all.sb;
        slot.1 += all.sb2;
        slot.2 += all.n;
    }
    let dimensions: Vec<(&String, Vec<(String, f64)>)> = targets
        .iter()
        .map(|(dim, shares)| {
            let order: Vec<(String, f64)> = survey
                .definition
                .question(dim)
                .map(|q| {
                    q.options
                        .iter()
                        .filter_map(|o| shares.get(&o.code).map(|s| (o.code.clone(), *s)))
                        .collect()
                })
                .unwrap_or_default();
            (dim, order)
        })
        .collect();
    let margins: Vec<raking::Margin> = dimensions.iter().map(|(_, m)| m.clone()).collect();
    let mut out = Weights {
        factors: FxHashMap::default(),
        failed: FxHashMap::default(),
        reports: Vec::new(),
    };
    for (period, period_cells) in cells {
        let list: Vec<(&str, (f64, f64, i64))> = period_cells.into_iter().collect();
        let n: i64 = list.iter().map(|(_, s)| s.2).sum();
        let label = match period {
            RakePeriod::Month(m) => m.format("%Y-%m").to_string(),
            RakePeriod::Wave(id) => waves
                .iter()
                .find(|w| w.id == id)
                .map_or(id.to_string(), |w| w.label.clone()),
        };
        if !weighted || targets.is_empty() {
            continue;
        }
        let raking_cells: Vec<Cell> = list
            .iter()
            .map(|(cell, s)| Cell {
                categories: dimensions
                    .iter()
                    .map(|(dim, margin)| {
                        let value = aggregate::cell_value(cell, dim);
                        let substantive = survey
                            .definition
                            .question(dim)
                            .and_then(|q| q.option(value))
                            .is_some_and(|o| !o.non_substantive);
                        // A category someone chose but that has no target is
                        // left to the raking to report.
                        (substantive
                            || (!value.is_empty() && margin.iter().any(|(k, _)| k == value)))
                        .then(|| value.to_string())
                    })
                    .collect(),
                base: s.0,
                count: s.2 as f64,
            })
            .collect();
        match raking::rake(&raking_cells, &margins) {
            Outcome::Raked { factors, .. } => {
                let (mut w, mut w2) = (0.0, 0.0);
                for ((_, s), g) in list.iter().zip(&factors) {
                    w += g * s.0;
                    w2 += g * g * s.1;
                }
                let n_eff = w * w / w2;
                out.reports.push(WeightingReport {
                    period: label,
                    n: Some(n),
                    raked: true,
                    design_effect: Some(n as f64 / n_eff),
                    failure: None,
                });
                out.factors.insert(
                    period,
                    list.iter()
                        .map(|(c, _)| c.to_string())
                        .zip(factors)
                        .collect(),
                );
                out.failed.insert(period, false);
            }
            Outcome::Failed { reason } => {
                out.reports.push(WeightingReport {
                    period: label,
                    n: Some(n),
                    raked: false,
                    design_effect: None,
                    failure: Some(reason),
                });
                out.failed.insert(period, true);
            }
        }
    }
    Ok(out)
}
