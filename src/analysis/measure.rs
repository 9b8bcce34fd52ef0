//! How a question's answers enter an estimate: each answer value's y for the
//! metric, weights as the estimate weighs them, and a cell's tally of answers
//! turned into the additive moments the estimators take.

use crate::analysis::params::{Metric, SeriesSpec};
use crate::stats::cellkey::{self, Entry, Tally};
use crate::stats::estimate::{self, Moments};
use crate::stats::sums::{self, ANSWERED, Sums};
use crate::survey::{QuestionDef, QuestionKind};

pub struct Measure {
    question: QuestionDef,
    metric: Metric,
    option: Option<String>,
    /// Every value the question can take, in a fixed order (a tally's slots),
    /// with its y (None: outside the base).
    values: Vec<(String, Option<f64>)>,
    /// Per value: a non-substantive option left out of this metric's base
    /// (multi-choice bases leave out those who chose only one).
    non_substantive: Vec<bool>,
    /// Per value: an option ticked alone (exclusive or non-substantive).
    alone: Vec<bool>,
    /// Unweighted: every wᵢ = 1, base weights left out (METHODS).
    unit_weights: bool,
}

/// Where a stored value code counts in a tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The question's "answered" count.
    Answered,
    /// One of the measure's values.
    Value(usize),
    /// A value this measure does not count.
    Nowhere,
}

impl Measure {
    pub fn new(spec: &SeriesSpec) -> Measure {
        let question = &spec.question;
        let scale = question.scale.as_ref();
        let mut codes: Vec<String> = scale
            .iter()
            .flat_map(|s| s.min..=s.max)
            .map(|v| v.to_string())
            .collect();
        if question.kind == QuestionKind::YesNo {
            codes.extend(["yes".to_string(), "no".to_string()]);
        }
        codes.extend(
            question
                .options
                .iter()
                .map(|o| o.code.clone())
                .filter(|c| !scale.is_some_and(|s| c.parse::<i64>().is_ok_and(|v| s.contains(v)))),
        );
        let positive = scale.map(|s| s.positive_values()).unwrap_or_default();
        let negative = scale.map(|s| s.negative_values()).unwrap_or_default();
        let substantive = |value: &str| match question.kind {
            QuestionKind::Scale => value.parse::<i32>().is_ok(),
            QuestionKind::YesNo => true,
            _ => question.option(value).is_some_and(|o| !o.non_substantive),
        };
        let option = spec.option.as_deref();
        let option_non_substantive = option.is_some_and(|o| !substantive(o));
        let y = |value: &str| -> Option<f64> {
            match spec.metric {
                // A share of a non-substantive option counts every answer.
                Metric::Share if option_non_substantive => Some(f64::from(option == Some(value))),
                _ if !substantive(value) => None,
                Metric::Share => Some(f64::from(option == Some(value))),
                Metric::Mean => value.parse::<f64>().ok(),
                Metric::Top2 | Metric::Bottom2 | Metric::Net => {
                    let v: i32 = value.parse().ok()?;
                    let (pos, neg) = (positive.contains(&v), negative.contains(&v));
                    Some(match spec.metric {
                        Metric::Top2 => f64::from(pos),
                        Metric::Bottom2 => f64::from(neg),
                        _ => f64::from(pos) - f64::from(neg),
                    })
                }
            }
        };
        let non_substantive = codes
            .iter()
            .map(|c| !option_non_substantive && !substantive(c))
            .collect();
        Measure {
            question: question.clone(),
            metric: spec.metric,
            option: spec.option.clone(),
            values: codes.iter().map(|c| (c.clone(), y(c))).collect(),
            non_substantive,
            alone: codes
                .iter()
                .map(|c| {
                    question
                        .option(c)
                        .is_some_and(|o| o.exclusive || o.non_substantive)
                })
                .collect(),
            unit_weights: !spec.weighted,
        }
    }

    /// Perturbs a public cell's tally (the cell-key method); added answers
    /// follow `prior`, the tally of the cell's whole piece of time.
    pub fn perturb(&self, tally: &mut Tally, prior: &Tally) {
        let answers = if self.question.kind == QuestionKind::MultiChoice {
            cellkey::Answers::Many(&self.alone)
        } else {
            cellkey::Answers::One
        };
        cellkey::perturb(
            tally,
            prior,
            answers,
            self.unit_weights,
            cellkey::salt(&self.question.code),
        );
    }

    /// An empty tally with a slot per value.
    pub fn tally(&self) -> Tally {
        Tally::new(self.values.len())
    }

    fn slot(&self, value: &str) -> Option<usize> {
        self.values.iter().position(|(v, _)| v == value)
    }

    /// Adds one stored row's sums to a tally, every weight times the raking
    /// factor `g` (base weights left out when unweighted).
    pub fn add(&self, tally: &mut Tally, value: &str, s: &Sums, g: f64) {
        self.add_to(tally, self.place(value), s, g);
    }

    /// Where a value code's sums go in a tally (looked up once per code).
    pub fn place(&self, value: &str) -> Place {
        if value == ANSWERED {
            Place::Answered
        } else {
            self.slot(value).map_or(Place::Nowhere, Place::Value)
        }
    }

    /// `add` with the value's place already found.
    pub fn add_to(&self, tally: &mut Tally, place: Place, s: &Sums, g: f64) {
        let (w, w2) = if self.unit_weights {
            (s.n as f64, s.n as f64)
        } else {
            (g * s.sb, g * g * s.sb2)
        };
        match place {
            Place::Answered => {
                tally.answered.add(s.n, w, w2);
                tally.key = tally.key.wrapping_add(s.key);
            }
            Place::Value(i) => tally.values[i].add(s.n, w, w2),
            Place::Nowhere => {}
        }
    }

    /// `add` over a row's encoded sums.
    pub fn add_text(&self, tally: &mut Tally, text: &str, g: f64) -> Result<(), String> {
        sums::for_each(text, |value, s| self.add(tally, value, &s, g))
    }

    /// The moments of y over the tally's respondents in the base.
    pub fn moments(&self, tally: &Tally) -> Moments {
        let mut m = Moments::default();
        if self.question.kind != QuestionKind::MultiChoice {
            for ((_, y), e) in self.values.iter().zip(&tally.values) {
                if let Some(y) = y {
                    m.add(e.n, e.w, e.w2, 1.0, *y);
                }
            }
            return m;
        }
        // Multi-choice: the base is everyone who answered, less those who chose
        // a non-substantive option (exclusive, so chosen alone) unless that
        // option is the one measured.
        let mut base = tally.answered;
        for (e, non_substantive) in tally.values.iter().zip(&self.non_substantive) {
            if *non_substantive {
                base.add(-e.n, -e.w, -e.w2);
            }
        }
        let chosen = self
            .option
            .as_deref()
            .and_then(|o| self.slot(o))
            .map_or(Entry::default(), |i| tally.values[i]);
        m.add(base.n, base.w, base.w2, 1.0, 0.0);
        m.add_indicator(chosen.w, chosen.w2, 1.0);
        m
    }

    pub fn interval(&self) -> estimate::Interval {
        match self.metric {
            Metric::Mean => {
                let s = self.question.scale.as_ref();
                estimate::Interval::T {
                    min: s.map_or(f64::MIN, |s| f64::from(s.min)),
                    max: s.map_or(f64::MAX, |s| f64::from(s.max)),
                }
            }
            Metric::Net => estimate::Interval::T {
                min: -1.0,
                max: 1.0,
            },
            _ => estimate::Interval::Wilson,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::params::Interval;
    use crate::survey::demo;

    fn spec(question: &str, metric: Metric, option: Option<&str>, weighted: bool) -> SeriesSpec {
        SeriesSpec {
            question: demo::definition().question(question).unwrap().clone(),
            metric,
            option: option.map(String::from),
            by: None,
            interval: Interval::Month,
            from: None,
            to: None,
            weighted,
            smooth: 1,
        }
    }

    fn weighted(n: i64, sb: f64) -> Sums {
        Sums {
            n,
            sb,
            sb2: sb * sb / n as f64,
            key: 0,
        }
    }

    #[test]
    fn unweighted_tallies_ignore_base_weights_and_weighted_ones_use_them() {
        let rows = [
            ("*", weighted(3, 6.0)),
            ("2", weighted(1, 4.0)),
            ("5", weighted(2, 2.0)),
        ];
        let mean = |weighted_spec| {
            let m = Measure::new(&spec("portal_trust", Metric::Mean, None, weighted_spec));
            let mut t = m.tally();
            for (v, s) in &rows {
                m.add(&mut t, v, s, 1.0);
            }
            let moments = m.moments(&t);
            moments.wy / moments.w
        };
        // Unweighted: (2 + 5 + 5)/3 = 4; weighted: (4·2 + 2·5)/6 = 3.
        assert!((mean(false) - 4.0).abs() < 1e-12);
        assert!((mean(true) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_multi_choice_base_leaves_out_those_who_chose_only_none_or_dk() {
        let m = Measure::new(&spec("concerns", Metric::Share, Some("data_leak"), false));
        let mut t = m.tally();
        for (v, n) in [
            ("*", 10),
            ("data_leak", 4),
            ("surveillance", 5),
            ("none", 2),
        ] {
            m.add(
                &mut t,
                v,
                &Sums {
                    n,
                    sb: n as f64,
                    sb2: n as f64,
                    key: 0,
                },
                1.0,
            );
        }
        let moments = m.moments(&t);
        // "none" is exclusive but substantive: base 10, 4 chose data_leak.
        assert_eq!(moments.n, 10);
        assert!((moments.wy / moments.w - 0.4).abs() < 1e-12);
    }
}
