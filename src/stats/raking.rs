//! Raking (iterative proportional fitting) of demographic cells to population
//! margins, with capped factors, as METHODS.md says.
//!
//! The unit is a cell: respondents sharing their categories on every raking
//! dimension. Raking multiplies each base weight by a factor g that depends only
//! on the cell, so sums of base weights per cell are all it needs.

/// A cell: its category on each margin (None: no substantive answer, which
/// keeps its weight through that margin's step), its base-weight total and
/// how many respondents it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub categories: Vec<Option<String>>,
    pub base: f64,
    pub count: f64,
}

/// A margin: category → population share, in the order of the cells' categories.
pub type Margin = Vec<(String, f64)>;

pub const TOLERANCE: f64 = 1e-6;
pub const MAX_SWEEPS: usize = 1000;
pub const MAX_ROUNDS: usize = 50;
pub const CAP_LOW: f64 = 0.2;
pub const CAP_HIGH: f64 = 5.0;
/// How far past a cap a factor may end, relative to the cap. Capping and
/// re-raking approach the cap geometrically from outside; 1e-4 takes about 20
/// rounds where exactness would need 50 or more.
pub const CAP_TOLERANCE: f64 = 1e-4;

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// One factor per cell, in cell order, scaled so that the final weights
    /// g·b of the period's respondents average 1.
    Raked {
        factors: Vec<f64>,
        sweeps: usize,
        rounds: usize,
    },
    /// The period keeps its base weights, and says why.
    Failed { reason: String },
}

/// Rakes the cells to the margins (one per dimension, in category order).
pub fn rake(cells: &[Cell], margins: &[Margin]) -> Outcome {
    // Every category with a positive target needs someone in it, and every
    // category someone is in needs a target.
    for (d, margin) in margins.iter().enumerate() {
        for (category, share) in margin {
            let present = cells
                .iter()
                .any(|c| c.base > 0.0 && c.categories[d].as_deref() == Some(category));
            if *share > 0.0 && !present {
                return Outcome::Failed {
                    reason: format!("no respondent in {category:?} of margin {d}"),
                };
            }
        }
        if let Some(stray) = cells.iter().find_map(|c| {
            let cat = c.categories[d].as_deref()?;
            (c.base > 0.0 && !margin.iter().any(|(k, _)| k == cat)).then_some(cat)
        }) {
            return Outcome::Failed {
                reason: format!("respondents in {stray:?} have no target in margin {d}"),
            };
        }
    }
    let total: f64 = cells.iter().map(|c| c.base).sum();
    let respondents: f64 = cells.iter().map(|c| c.count).sum();
    if total <= 0.0 || respondents <= 0.0 {
        return Outcome::Failed {
            reason: "no respondents".into(),
        };
    }
    let mut g = vec![1.0; cells.len()];
    let mut sweeps_used = 0;
    for round in 1..=MAX_ROUNDS {
        match ipf(cells, margins, &mut g) {
            Some(sweeps) => sweeps_used += sweeps,
            None => {
                return Outcome::Failed {
                    reason: format!("did not converge in {MAX_SWEEPS} sweeps"),
                };
            }
        }
        let mean = cells.iter().zip(&g).map(|(c, g)| g * c.base).sum::<f64>() / total;
        let (low, high) = (CAP_LOW * mean, CAP_HIGH * mean);
        if g.iter()
            .all(|f| *f >= low * (1.0 - CAP_TOLERANCE) && *f <= high * (1.0 + CAP_TOLERANCE))
        {
            // Final weights g·b scaled to mean 1 over the period's respondents
            // (METHODS), whatever the base weights average.
            let weight_total: f64 = cells.iter().zip(&g).map(|(c, g)| g * c.base).sum();
            let scale = respondents / weight_total;
            for f in g.iter_mut() {
                *f *= scale;
            }
            return Outcome::Raked {
                factors: g,
                sweeps: sweeps_used,
                rounds: round,
            };
        }
        for f in g.iter_mut() {
            *f = f.clamp(low, high);
        }
    }
    Outcome::Failed {
        reason: format!(
            "factors could not be kept within [{CAP_LOW}, {CAP_HIGH}] x their mean in {MAX_ROUNDS} rounds"
        ),
    }
}

/// Each cell's category index on each margin (None: no substantive answer).
fn category_index(cells: &[Cell], margins: &[Margin]) -> Vec<Vec<Option<usize>>> {
    margins
        .iter()
        .enumerate()
        .map(|(d, margin)| {
            cells
                .iter()
                .map(|c| {
                    c.categories[d]
                        .as_deref()
                        .and_then(|cat| margin.iter().position(|(k, _)| k == cat))
                })
                .collect()
        })
        .collect()
}

/// Weighted totals per category of one margin, and of all its substantive cells.
fn totals(
    index: &[Option<usize>],
    cells: &[Cell],
    g: &[f64],
    categories: usize,
) -> (Vec<f64>, f64) {
    let mut totals = vec![0.0; categories];
    for ((k, c), f) in index.iter().zip(cells).zip(g) {
        if let Some(k) = k {
            totals[*k] += f * c.base;
        }
    }
    let substantive = totals.iter().sum();
    (totals, substantive)
}

/// Sweeps the margins until the largest relative error is within tolerance;
/// returns the sweeps used, or None when it does not converge.
fn ipf(cells: &[Cell], margins: &[Margin], g: &mut [f64]) -> Option<usize> {
    let index = category_index(cells, margins);
    for sweep in 1..=MAX_SWEEPS {
        for (margin, idx) in margins.iter().zip(&index) {
            let (current, substantive) = totals(idx, cells, g, margin.len());
            let factors: Vec<f64> = margin
                .iter()
                .zip(&current)
                .map(|((_, share), now)| {
                    if *now > 0.0 {
                        share * substantive / now
                    } else {
                        1.0
                    }
                })
                .collect();
            for (k, f) in idx.iter().zip(g.iter_mut()) {
                if let Some(k) = k {
                    *f *= factors[*k];
                }
            }
        }
        let worst = margins
            .iter()
            .zip(&index)
            .flat_map(|(margin, idx)| {
                let (current, substantive) = totals(idx, cells, g, margin.len());
                margin
                    .iter()
                    .zip(current)
                    .filter(|((_, share), _)| *share > 0.0)
                    .map(move |((_, share), now)| {
                        (now - share * substantive).abs() / (share * substantive)
                    })
                    .collect::<Vec<_>>()
            })
            .fold(0.0, f64::max);
        if worst <= TOLERANCE {
            return Some(sweep);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(a: Option<&str>, b: Option<&str>, base: f64) -> Cell {
        Cell {
            categories: vec![a.map(String::from), b.map(String::from)],
            base,
            count: base,
        }
    }

    #[test]
    fn final_weights_average_one_whatever_the_base_weights_average() {
        // 10 respondents with base weight 3 in a1, 10 with base weight 1 in a2,
        // raked 50/50: a1 cells get g·3 = a2's g·1, so every final weight is 1.
        let cells = [
            Cell {
                categories: vec![Some("a1".into())],
                base: 30.0,
                count: 10.0,
            },
            Cell {
                categories: vec![Some("a2".into())],
                base: 10.0,
                count: 10.0,
            },
        ];
        let Outcome::Raked { factors, .. } = rake(&cells, &[halves("a1", "a2")]) else {
            panic!()
        };
        close(factors[0] * 3.0, 1.0);
        close(factors[1], 1.0);
        // Mean of the final weights over the 20 respondents is 1.
        close((factors[0] * 30.0 + factors[1] * 10.0) / 20.0, 1.0);
    }

    fn halves(x: &str, y: &str) -> Margin {
        vec![(x.to_string(), 0.5), (y.to_string(), 0.5)]
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn a_two_by_two_table_rakes_to_the_hand_worked_solution() {
        // Cells 40 10 / 20 30 raked to 50/50 margins keep their odds ratio 6:
        // x11 = x22 = 50·√6/(1+√6) = 35.5051, x12 = x21 = 14.4949.
        let cells = [
            cell(Some("a1"), Some("b1"), 40.0),
            cell(Some("a1"), Some("b2"), 10.0),
            cell(Some("a2"), Some("b1"), 20.0),
            cell(Some("a2"), Some("b2"), 30.0),
        ];
        let Outcome::Raked { factors, .. } =
            rake(&cells, &[halves("a1", "a2"), halves("b1", "b2")])
        else {
            panic!()
        };
        let x11 = 50.0 * 6f64.sqrt() / (1.0 + 6f64.sqrt());
        close(factors[0], x11 / 40.0);
        close(factors[1], (50.0 - x11) / 10.0);
        close(factors[2], (50.0 - x11) / 20.0);
        close(factors[3], x11 / 30.0);
    }

    #[test]
    fn a_respondent_without_a_category_keeps_their_weight_through_that_margin() {
        // Margin on a only; the cell with no answer keeps factor 1 (before
        // scaling to mean 1), the others share the rest 50/50.
        let cells = [
            cell(Some("a1"), None, 30.0),
            cell(Some("a2"), None, 10.0),
            cell(None, None, 10.0),
        ];
        let Outcome::Raked { factors, .. } = rake(&cells, &[halves("a1", "a2")]) else {
            panic!()
        };
        // Raw factors 20/30, 20/10, 1; weighted mean (20 + 20 + 10)/50 = 1.
        close(factors[0], 2.0 / 3.0);
        close(factors[1], 2.0);
        close(factors[2], 1.0);
    }

    #[test]
    fn factors_are_capped_at_five_times_their_mean_and_reraked() {
        // 1 respondent in a2 of 100 must carry half the weight: uncapped g = 50.
        let cells = [
            cell(Some("a1"), Some("b1"), 50.0),
            cell(Some("a1"), Some("b2"), 49.0),
            cell(Some("a2"), Some("b1"), 1.0),
        ];
        let outcome = rake(
            &cells,
            &[
                halves("a1", "a2"),
                vec![("b1".into(), 0.6), ("b2".into(), 0.4)],
            ],
        );
        match outcome {
            Outcome::Failed { reason } => assert!(reason.contains("could not be kept"), "{reason}"),
            Outcome::Raked { .. } => panic!("a margin this far off cannot be met within the caps"),
        }
        // A milder one is met with every factor inside the caps.
        let cells = [
            cell(Some("a1"), Some("b1"), 60.0),
            cell(Some("a1"), Some("b2"), 25.0),
            cell(Some("a2"), Some("b1"), 10.0),
            cell(Some("a2"), Some("b2"), 5.0),
        ];
        let Outcome::Raked { factors, .. } =
            rake(&cells, &[halves("a1", "a2"), halves("b1", "b2")])
        else {
            panic!()
        };
        // Uncapped, the a2-b2 cell would need 5.23; capped and re-raked it ends at 5.
        assert!(
            factors
                .iter()
                .all(|f| (0.2..=5.0 * (1.0 + CAP_TOLERANCE)).contains(f)),
            "{factors:?}"
        );
        assert!((factors[3] - 5.0).abs() < 5e-4, "{factors:?}");
        let a1: f64 = factors[0] * 60.0 + factors[1] * 25.0;
        close(a1 / 100.0, 0.5);
        let b1: f64 = factors[0] * 60.0 + factors[2] * 10.0;
        close(b1 / 100.0, 0.5);
    }

    #[test]
    fn raking_fails_loudly_without_respondents_in_a_targeted_category() {
        let cells = [cell(Some("a1"), None, 10.0)];
        assert!(matches!(
            rake(&cells, &[halves("a1", "a2")]),
            Outcome::Failed { .. }
        ));
        let cells = [
            cell(Some("a1"), None, 10.0),
            cell(Some("a3"), None, 10.0),
            cell(Some("a2"), None, 10.0),
        ];
        assert!(
            matches!(rake(&cells, &[halves("a1", "a2")]), Outcome::Failed { .. }),
            "a3 has no target"
        );
    }
}
