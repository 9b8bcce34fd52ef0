//! Weighted ratio estimates with linearization standard errors, Kish effective
//! sample sizes, Wilson intervals for shares and t intervals for means and
//! nets, from additive weighted moments (so cells, groups and smoothing
//! windows combine by adding).

use crate::stats::{Z95, t975};

/// Σ over respondents with a valid answer in one estimation cell: the
/// respondent count and weighted moments of y (w = final weight).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub n: i64,
    pub w: f64,
    pub w2: f64,
    pub wy: f64,
    pub w2y: f64,
    pub w2y2: f64,
}

impl Moments {
    /// Adds `n` respondents sharing the value y, whose base weights sum to `sb`
    /// (squares to `sb2`), all with raking factor `g`.
    pub fn add(&mut self, n: i64, sb: f64, sb2: f64, g: f64, y: f64) {
        self.n += n;
        self.w += g * sb;
        self.w2 += g * g * sb2;
        self.wy += g * y * sb;
        self.w2y += g * g * y * sb2;
        self.w2y2 += g * g * y * y * sb2;
    }

    /// Adds y = 1 for respondents already counted with y = 0 (a multi-choice
    /// option among those who answered).
    pub fn add_indicator(&mut self, sb: f64, sb2: f64, g: f64) {
        self.wy += g * sb;
        self.w2y += g * g * sb2;
        self.w2y2 += g * g * sb2;
    }

    pub fn merge(&mut self, other: &Moments) {
        self.n += other.n;
        self.w += other.w;
        self.w2 += other.w2;
        self.wy += other.wy;
        self.w2y += other.w2y;
        self.w2y2 += other.w2y2;
    }

    /// Kish: (Σw)² / Σw².
    pub fn n_eff(&self) -> f64 {
        if self.w2 > 0.0 {
            self.w * self.w / self.w2
        } else {
            0.0
        }
    }
}

/// How an estimate's interval is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Interval {
    /// A share in [0, 1]: Wilson at (p̂, n_eff).
    Wilson,
    /// A mean or net: estimate ± t(0.975, n−1)·SE, clamped to [min, max].
    T { min: f64, max: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub n: i64,
    pub n_eff: f64,
    pub value: Option<f64>,
    pub se: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// The estimate of a cell (a group is a domain of its period: `period_n`
/// counts every valid answer of the period, for the n/(n−1) factor).
pub fn estimate(m: &Moments, period_n: i64, interval: Interval) -> Estimate {
    let n_eff = m.n_eff();
    let empty = Estimate {
        n: m.n,
        n_eff,
        value: None,
        se: None,
        ci_low: None,
        ci_high: None,
    };
    if m.n == 0 || m.w <= 0.0 {
        return empty;
    }
    let r = m.wy / m.w;
    let se = (period_n > 1).then(|| {
        let squares = (m.w2y2 - 2.0 * r * m.w2y + r * r * m.w2).max(0.0);
        let np = period_n as f64;
        (np / (np - 1.0) * squares / (m.w * m.w)).sqrt()
    });
    let (ci_low, ci_high) = match interval {
        // Wilson stays honest at 0% and 100%; only a lone answer has no interval.
        Interval::Wilson if m.n > 1 => {
            let (low, high) = wilson(r, n_eff);
            (Some(low), Some(high))
        }
        Interval::T { min, max } => match se {
            Some(se) if m.n > 1 && se > 0.0 => {
                let half = t975((m.n - 1) as f64) * se;
                (Some((r - half).max(min)), Some((r + half).min(max)))
            }
            _ => (None, None),
        },
        Interval::Wilson => (None, None),
    };
    Estimate {
        n: m.n,
        n_eff,
        value: Some(r),
        se,
        ci_low,
        ci_high,
    }
}

/// The Wilson score interval for a share p at sample size m.
pub fn wilson(p: f64, m: f64) -> (f64, f64) {
    // A share is in [0, 1]; guard against rounding just outside it.
    let p = p.clamp(0.0, 1.0);
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / m;
    let centre = (p + z2 / (2.0 * m)) / denominator;
    let half = Z95 / denominator * (p * (1.0 - p) / m + z2 / (4.0 * m * m)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Primary suppression: too few answers, or too few once weights count.
pub fn too_small(e: &Estimate, min_cell: u32) -> bool {
    e.n < i64::from(min_cell) || e.n_eff < f64::from(min_cell)
}

/// Estimates every group of one period and marks what must be hidden: primary
/// suppression per cell, then secondary suppression across the groups of a
/// breakdown (`residual` None: a single cell, nothing to protect across).
/// The residual — the n of the period's valid answers outside every group —
/// counts as a hidden group when 0 < n < `min_cell`.
pub fn estimate_period(
    groups: &[Moments],
    period_n: i64,
    interval: Interval,
    min_cell: u32,
    residual: Option<i64>,
) -> Vec<(Estimate, bool)> {
    let mut row: Vec<(Estimate, bool)> = groups
        .iter()
        .map(|m| {
            let e = estimate(m, period_n, interval);
            let suppressed = e.value.is_none() || too_small(&e, min_cell);
            (e, suppressed)
        })
        .collect();
    if let Some(residual) = residual {
        let residual_hidden = residual > 0 && residual < i64::from(min_cell);
        let mut flags: Vec<(i64, bool)> = row.iter().map(|(e, s)| (e.n, *s)).collect();
        secondary_suppression(&mut flags, residual_hidden);
        for (cell, (_, s)) in row.iter_mut().zip(flags) {
            cell.1 = s;
        }
    }
    row
}

/// Secondary suppression within one period of a breakdown: when exactly one
/// group with answers is hidden (the residual counting as one), also hide the
/// shown group with the smallest n (the first in option order on ties), so
/// the period total cannot reveal the hidden one. `cells` are (n, suppressed)
/// in option order.
pub fn secondary_suppression(cells: &mut [(i64, bool)], residual_hidden: bool) {
    let hidden = cells.iter().filter(|(n, s)| *n > 0 && *s).count() + usize::from(residual_hidden);
    if hidden != 1 {
        return;
    }
    let smallest = cells
        .iter()
        .enumerate()
        .filter(|(_, (n, s))| *n > 0 && !*s)
        .min_by_key(|(i, (n, _))| (*n, *i))
        .map(|(i, _)| i);
    if let Some(i) = smallest {
        cells[i].1 = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    fn moments(values: &[(f64, f64)]) -> Moments {
        let mut m = Moments::default();
        for (y, w) in values {
            m.add(1, *w, w * w, 1.0, *y);
        }
        m
    }

    #[test]
    fn an_unweighted_share_has_the_textbook_se_and_wilson_interval() {
        // 3 of 10: SE² = p(1−p)/(n−1) = 0.21/9; Wilson 95% by hand = [0.1078, 0.6032].
        let m = moments(&[
            (1.0, 1.0),
            (1.0, 1.0),
            (1.0, 1.0),
            (0.0, 1.0),
            (0.0, 1.0),
            (0.0, 1.0),
            (0.0, 1.0),
            (0.0, 1.0),
            (0.0, 1.0),
            (0.0, 1.0),
        ]);
        let e = estimate(&m, 10, Interval::Wilson);
        close(e.value.unwrap(), 0.3, 1e-12);
        close(e.se.unwrap(), (0.21f64 / 9.0).sqrt(), 1e-12);
        close(e.n_eff, 10.0, 1e-12);
        close(e.ci_low.unwrap(), 0.107791, 1e-6);
        close(e.ci_high.unwrap(), 0.603222, 1e-6);
    }

    #[test]
    fn a_mean_has_a_t_interval() {
        // 1..5: mean 3, SE = √(2.5/5), t(0.975, 4) = 2.776445.
        let m = moments(&[(1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (4.0, 1.0), (5.0, 1.0)]);
        let e = estimate(&m, 5, Interval::T { min: 1.0, max: 5.0 });
        close(e.value.unwrap(), 3.0, 1e-12);
        close(e.se.unwrap(), 0.5f64.sqrt(), 1e-12);
        close(e.ci_low.unwrap(), 3.0 - 2.776445 * 0.5f64.sqrt(), 1e-6);
        close(e.ci_high.unwrap(), 3.0 + 2.776445 * 0.5f64.sqrt(), 1e-6);
    }

    #[test]
    fn weights_enter_the_estimate_the_se_and_n_eff() {
        // y = (1, 0), w = (3, 1): p = 0.75; Σw²(y−p)² = 1.125; V = 2·1.125/16.
        let m = moments(&[(1.0, 3.0), (0.0, 1.0)]);
        let e = estimate(&m, 2, Interval::Wilson);
        close(e.value.unwrap(), 0.75, 1e-12);
        close(e.se.unwrap(), 0.375, 1e-12);
        close(e.n_eff, 1.6, 1e-12);
    }

    #[test]
    fn widely_varying_weights_shrink_n_eff() {
        // 9 weights of 1 and one of 10: n_eff = 19² / 109.
        let mut values = vec![(1.0, 1.0); 9];
        values.push((0.0, 10.0));
        let e = estimate(&moments(&values), 10, Interval::Wilson);
        close(e.n_eff, 361.0 / 109.0, 1e-12);
        close(e.value.unwrap(), 9.0 / 19.0, 1e-12);
    }

    #[test]
    fn a_group_is_a_domain_of_its_period() {
        // Group of 3 (1, 1, 0) in a period of 4: V = 4/3 · (6/9) / 9.
        let m = moments(&[(1.0, 1.0), (1.0, 1.0), (0.0, 1.0)]);
        let e = estimate(&m, 4, Interval::Wilson);
        close(
            e.se.unwrap(),
            (4.0 / 3.0 * (6.0 / 9.0) / 9.0f64).sqrt(),
            1e-12,
        );
    }

    #[test]
    fn a_net_is_a_mean_of_plus_zero_minus_clamped_to_its_range() {
        // (+1, 0, −1, +1): 0.25 ± t(3)·√(4/3 · 2.75 / 16), clamped to ±1.
        let m = moments(&[(1.0, 1.0), (0.0, 1.0), (-1.0, 1.0), (1.0, 1.0)]);
        let e = estimate(
            &m,
            4,
            Interval::T {
                min: -1.0,
                max: 1.0,
            },
        );
        close(e.value.unwrap(), 0.25, 1e-12);
        close(e.se.unwrap(), (4.0 / 3.0 * 2.75 / 16.0f64).sqrt(), 1e-12);
        assert_eq!((e.ci_low, e.ci_high), (Some(-1.0), Some(1.0)));
    }

    #[test]
    fn all_answers_in_one_category_still_get_an_honest_interval() {
        // 0 of 20: Wilson upper bound z²/(n+z²) = 0.161125; 20 of 20 mirrors it.
        let none = moments(&vec![(0.0, 1.0); 20]);
        let e = estimate(&none, 20, Interval::Wilson);
        assert_eq!(e.value, Some(0.0));
        close(e.ci_low.unwrap(), 0.0, 1e-12);
        close(e.ci_high.unwrap(), 0.161125, 1e-6);
        let all = estimate(&moments(&vec![(1.0, 1.0); 20]), 20, Interval::Wilson);
        close(all.ci_low.unwrap(), 1.0 - 0.161125, 1e-6);
        assert_eq!(all.ci_high, Some(1.0));
        // A mean with no spread has SE 0: value shown, no interval.
        let flat = estimate(
            &moments(&vec![(4.0, 1.0); 20]),
            20,
            Interval::T { min: 1.0, max: 5.0 },
        );
        assert_eq!(
            (flat.value, flat.se, flat.ci_low),
            (Some(4.0), Some(0.0), None)
        );
    }

    #[test]
    fn a_lone_answer_has_a_value_and_no_interval() {
        let e = estimate(&moments(&[(1.0, 1.0)]), 1, Interval::Wilson);
        assert_eq!(
            (e.value, e.se, e.ci_low, e.ci_high),
            (Some(1.0), None, None, None)
        );
        let e = estimate(
            &moments(&[(3.0, 1.0)]),
            1,
            Interval::T { min: 1.0, max: 5.0 },
        );
        assert_eq!((e.value, e.ci_low), (Some(3.0), None));
        assert_eq!(
            estimate(&Moments::default(), 0, Interval::Wilson).value,
            None
        );
    }

    #[test]
    fn small_cells_are_suppressed_and_one_hidden_group_hides_the_next_smallest() {
        let e = |n: i64, n_eff: f64| Estimate {
            n,
            n_eff,
            value: Some(0.5),
            se: None,
            ci_low: None,
            ci_high: None,
        };
        assert!(too_small(&e(29, 29.0), 30));
        assert!(too_small(&e(100, 29.9), 30));
        assert!(!too_small(&e(30, 30.0), 30));
        let mut cells = [(40, false), (12, true), (35, false), (35, false), (0, true)];
        secondary_suppression(&mut cells, false);
        assert_eq!(cells.map(|c| c.1), [false, true, true, false, true]);
        let mut two_hidden = [(40, false), (12, true), (5, true)];
        secondary_suppression(&mut two_hidden, false);
        assert_eq!(two_hidden.map(|c| c.1), [false, true, true]);
        // A small residual is the one hidden group: the smallest shown goes too,
        // or the period total minus the groups would give it away.
        let mut residual = [(40, false), (35, false), (50, false)];
        secondary_suppression(&mut residual, true);
        assert_eq!(residual.map(|c| c.1), [false, true, false]);
        // With a hidden group as well, two are hidden already.
        let mut both = [(40, false), (12, true), (50, false)];
        secondary_suppression(&mut both, true);
        assert_eq!(both.map(|c| c.1), [false, true, false]);
    }
}
