//! Who sees what, in one place: the public gets perturbed figures of
//! completed periods from a coarse query space, with no count for a hidden
//! cell; researchers (a token) get exact figures, today included, and the
//! whole query space. Suppression itself (METHODS' thresholds and secondary
//! rule) lives with the estimators in `stats::estimate`.

use chrono::{Datelike, NaiveDate};

use crate::analysis::params::{Interval, SeriesSpec};
use crate::analysis::series::Point;
use crate::analysis::weighting::WeightingReport;
use crate::stats::estimate::Estimate;
use crate::survey::Role;

/// Said in every public `meta`.
pub const PERTURBATION_NOTE: &str = "Public figures are perturbed (cell-key method): each piece of time (an ISO week cut at month ends) and group gains or loses up to 3 respondents and has one more swapped for a made-up answer, drawn from a key fixed for that set of respondents, so repeating or differencing requests cannot single anyone out. A shown mean or share typically moves by under a tenth of its 95% half-interval (rarely more than half of it, in the smallest cells). Figures cover completed periods up to yesterday in the survey's time zone. Exact figures need a researcher token.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// No token: `last_day` is yesterday in the survey's time zone.
    Public { last_day: NaiveDate },
    /// A researcher or admin token: `today` in the survey's time zone.
    Researcher { today: NaiveDate },
}

impl Audience {
    pub fn new(public: bool, today: NaiveDate) -> Audience {
        if public {
            Audience::Public {
                last_day: today.pred_opt().unwrap_or(today),
            }
        } else {
            Audience::Researcher { today }
        }
    }

    pub fn is_public(&self) -> bool {
        matches!(self, Audience::Public { .. })
    }

    /// The last day whose responses the caller may see.
    pub fn last_day(&self) -> NaiveDate {
        match self {
            Audience::Public { last_day } => *last_day,
            Audience::Researcher { today } => *today,
        }
    }

    pub fn perturbed(&self) -> bool {
        self.is_public()
    }

    /// Only periods that have ended: a period still open would change with
    /// each new response, and two readings would difference it.
    pub fn completed_periods_only(&self) -> bool {
        self.is_public()
    }

    /// The data version an output reports. Researchers: the survey's change
    /// counter. The public: a number that moves only when public figures can
    /// (a change on a completed day, new targets, or another piece of time
    /// completing), so that it says nothing about today's submissions.
    /// `closed_waves`: how many waves have closed by the public's last day
    /// (a wave closing mid-week adds a public period).
    pub fn data_version(&self, versions: (i64, i64), closed_waves: usize) -> i64 {
        match self {
            Audience::Researcher { .. } => versions.0,
            Audience::Public { last_day } => {
                let frontier = i64::from(last_completed_piece(*last_day).num_days_from_ce());
                // Distinct triples give distinct numbers; none of it is secret.
                (versions.1 << 32) ^ ((closed_waves as i64) << 22) ^ frontier
            }
        }
    }

    /// Waves closed by the caller's last day.
    pub fn closed_waves(&self, waves: &[crate::db::surveys::Wave]) -> usize {
        waves.iter().filter(|w| w.closes <= self.last_day()).count()
    }

    /// The series parameters a public caller may not use: days, and the
    /// answers to a demographic question (how many of each group answered a
    /// week would otherwise come out nearly exact from the week's total,
    /// where the few made-up answers rarely touch a small group).
    pub fn series_refusals(&self, spec: &SeriesSpec) -> Vec<String> {
        let mut refused = Vec::new();
        if !self.is_public() {
            return refused;
        }
        if spec.interval == Interval::Day {
            refused.push("interval=day".to_string());
        }
        if spec.question.role == Role::Demographic {
            refused.push(format!(
                "question={} (a demographic question)",
                spec.question.code
            ));
        }
        refused
    }
}

/// The last day that ends a piece of time (a Sunday or a month's last day)
/// on or before `day`: public figures change only when one completes.
pub fn last_completed_piece(day: NaiveDate) -> NaiveDate {
    let sunday =
        day - chrono::Duration::days(i64::from((day.weekday().num_days_from_monday() + 1) % 7));
    let month_end = if (day + chrono::Duration::days(1)).day() == 1 {
        day
    } else {
        day.with_day(1).unwrap_or(day) - chrono::Duration::days(1)
    };
    sunday.max(month_end)
}

/// A point as the caller may see it: values in the metric's units, nothing
/// of a suppressed cell, and for the public not even its count.
pub fn point(
    period_start: NaiveDate,
    group: &str,
    e: &Estimate,
    suppressed: bool,
    weighted: bool,
    scale: f64,
    audience: &Audience,
) -> Point {
    let shown = |x: Option<f64>| {
        if suppressed {
            None
        } else {
            x.map(|v| v * scale)
        }
    };
    let counted = !(suppressed && audience.is_public());
    Point {
        period_start,
        group: group.to_string(),
        n: counted.then_some(e.n),
        n_eff: counted.then_some(e.n_eff),
        value: shown(e.value),
        ci_low: shown(e.ci_low),
        ci_high: shown(e.ci_high),
        suppressed,
        weighted,
        se: if suppressed {
            None
        } else {
            e.se.map(|v| v * scale)
        },
    }
}

/// Public weighting reports say whether each period was raked, not its exact
/// count, design effect or which category was empty (all functions of exact
/// cell counts).
pub fn hide_weighting_counts(reports: &mut [WeightingReport]) {
    for r in reports {
        r.n = None;
        r.design_effect = None;
        if r.failure.is_some() {
            r.failure = Some(
                "could not be raked to its targets (too few respondents in some category); base weights used"
                    .into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_last_completed_piece_ends_on_a_sunday_or_a_month_end() {
        assert_eq!(last_completed_piece(d("2024-03-05")), d("2024-03-03")); // Tue → Sun
        assert_eq!(last_completed_piece(d("2024-03-03")), d("2024-03-03")); // a Sunday
        assert_eq!(last_completed_piece(d("2024-02-29")), d("2024-02-29")); // a month end
        assert_eq!(last_completed_piece(d("2024-03-01")), d("2024-02-29")); // Fri after it
        // The public version moves with a completed piece, not with each day.
        let v = |day| Audience::Public { last_day: d(day) }.data_version((7, 3), 0);
        assert_eq!(v("2024-03-05"), v("2024-03-06"));
        assert_ne!(v("2024-03-05"), v("2024-03-10"));
        let other = |changes, waves| {
            Audience::Public {
                last_day: d("2024-03-05"),
            }
            .data_version((7, changes), waves)
        };
        assert_ne!(v("2024-03-05"), other(4, 0));
        assert_ne!(v("2024-03-05"), other(3, 1));
    }
}
