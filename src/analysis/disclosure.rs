//! Who sees what, in one place: the public gets perturbed figures of
//! completed periods from a coarse query space, with no count for a hidden
//! cell; researchers (a token) get exact figures, today included, and the
//! whole query space. Suppression itself (METHODS' thresholds and secondary
//! rule) lives with the estimators in `stats::estimate`.

use chrono::NaiveDate;

use crate::analysis::params::{Interval, SeriesSpec};
use crate::analysis::series::Point;
use crate::analysis::weighting::WeightingReport;
use crate::stats::estimate::Estimate;

/// Said in every public `meta`.
pub const PERTURBATION_NOTE: &str = "Public figures are perturbed (cell-key method): each published piece of time and group gains or loses up to 3 respondents, drawn from a key fixed for that set of respondents, so repeating or differencing requests cannot single anyone out. A shown mean or share moves by well under its 95% interval. Figures cover completed periods up to yesterday in the survey's time zone. Exact figures need a researcher token.";

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

    /// The series parameters a public caller may not use.
    pub fn series_refusals(&self, spec: &SeriesSpec) -> Vec<String> {
        if self.is_public() && spec.interval == Interval::Day {
            vec!["interval=day".to_string()]
        } else {
            Vec::new()
        }
    }
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

/// Public weighting reports keep the design effect, not exact counts.
pub fn hide_weighting_counts(reports: &mut [WeightingReport]) {
    for r in reports {
        r.n = None;
    }
}
