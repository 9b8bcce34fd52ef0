//! A deliberately naive, independent implementation of /work/shared/METHODS.md
//! (and SPEC.md "Series" and shifts) for the demo survey, used as the oracle of
//! the differential test.
//!
//! It starts from the raw responses (date, wave, answers JSON, base weight) the
//! test stored, never from the service's aggregate tables, and never calls the
//! crate's statistics code. It is written to be obviously right, not fast: every
//! estimate loops over the respondents again and applies the formulas as written.
//! Only `statrs` is shared with the service (t quantiles and Φ).

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::Value;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// z₀.₉₇₅ as METHODS writes it.
pub const Z: f64 = 1.959963984540054;
/// METHODS, raking: "largest relative margin error is ≤ 1e-6 (at most 1000 sweeps)".
const RAKE_TOLERANCE: f64 = 1e-6;
const MAX_SWEEPS: usize = 1000;
/// METHODS, raking: "cap the factors g to [0.2, 5] × their weighted mean ... (at most 50 rounds)".
const CAP_LOW: f64 = 0.2;
const CAP_HIGH: f64 = 5.0;
const MAX_ROUNDS: usize = 50;

/// One stored response, exactly as the test generated it.
#[derive(Debug, Clone)]
pub struct Response {
    pub date: NaiveDate,
    /// Index into `Data::waves`.
    pub wave: Option<usize>,
    pub answers: Value,
    pub base_weight: f64,
}

#[derive(Debug, Clone)]
pub struct Wave {
    pub label: String,
    pub opens: NaiveDate,
    pub closes: NaiveDate,
}

/// dimension → [(option, share)], dimensions in survey order.
pub type Targets = Vec<(String, Vec<(String, f64)>)>;

/// How METHODS is read where it leaves a number unsaid (`cap_tolerance`), or
/// where a rule was once read differently (`residual_counts`), so that the
/// naive code can show what either reading gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// "cap the factors ... repeating until both hold": METHODS gives no
    /// tolerance for the cap; exactness is never reached by capping and
    /// re-raking. 0 is the literal reading.
    pub cap_tolerance: f64,
    /// METHODS, small cells: "The residual ... counts as a group here: a
    /// residual with 0 < n < MIN_CELL is a suppressed group."
    pub residual_counts: bool,
}

/// METHODS as written, with the service's documented cap tolerance (1e-4),
/// since METHODS names none and a literal 0 can never be met.
pub const METHODS: Reading = Reading {
    cap_tolerance: 1e-4,
    residual_counts: true,
};

pub struct Data {
    pub responses: Vec<Response>,
    pub waves: Vec<Wave>,
    pub targets: Targets,
    pub min_cell: f64,
}

// ---------------------------------------------------------------------------
// The demo survey, from the table in SPEC.md.

/// (min, max) of a scale item.
fn scale_range(question: &str) -> Option<(i64, i64)> {
    match question {
        "portal_trust" | "leak_worry" | "evote_intent" => Some((1, 5)),
        "evote_count_trust" => Some((0, 10)),
        _ => None,
    }
}

/// METHODS: 1–5 → top2 {4,5}, bottom2 {1,2}; 0–10 → high 6–10, low 0–4.
fn positive(question: &str, v: i64) -> bool {
    match scale_range(question) {
        Some((1, 5)) => v >= 4,
        Some((0, 10)) => v >= 6,
        _ => false,
    }
}

fn negative(question: &str, v: i64) -> bool {
    match scale_range(question) {
        Some((1, 5)) => v <= 2,
        Some((0, 10)) => v <= 4,
        _ => false,
    }
}

/// Non-substantive codes: "don't know" of the scales, "prefer not to say" of
/// the demographics (SPEC.md: `dk`, `na`).
fn non_substantive(code: &str) -> bool {
    code == "dk" || code == "na"
}

/// The substantive options of a demographic question, in option order.
pub fn groups_of(dimension: &str) -> Vec<&'static str> {
    match dimension {
        "age_band" => vec!["18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
        "region" => vec![
            "central",
            "northwest",
            "south",
            "north_caucasus",
            "volga",
            "ural",
            "siberia",
            "far_east",
        ],
        "settlement" => vec!["city", "town", "village"],
        other => panic!("not a demographic: {other}"),
    }
}

// ---------------------------------------------------------------------------
// Metrics: y of one respondent (None: outside the base).

#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    Mean,
    Top2,
    Bottom2,
    Net,
    Share(String),
}

impl Metric {
    /// Shares and net in percent / points, means in scale units.
    fn scale(&self) -> f64 {
        if *self == Metric::Mean { 1.0 } else { 100.0 }
    }
}

/// METHODS, point estimates: the base is the substantive answers, except the
/// share of a non-substantive option, whose base is every answer.
fn y(question: &str, metric: &Metric, answer: Option<&Value>) -> Option<f64> {
    let answer = answer?;
    let one = |b: bool| if b { 1.0 } else { 0.0 };
    if let Value::Array(chosen) = answer {
        // multi_choice: the percent choosing the option among those who answered.
        let Metric::Share(option) = metric else {
            panic!("only shares of a multi_choice")
        };
        let codes: Vec<&str> = chosen.iter().map(|c| c.as_str().unwrap()).collect();
        let substantive = codes.iter().any(|c| !non_substantive(c));
        if !non_substantive(option) && !substantive {
            return None;
        }
        return Some(one(codes.contains(&option.as_str())));
    }
    if let Some(code) = answer.as_str() {
        // A code: an option of a single choice, or "dk" on a scale.
        return match metric {
            Metric::Share(option) if non_substantive(option) => Some(one(code == option)),
            _ if non_substantive(code) => None,
            Metric::Share(option) => Some(one(code == option)),
            _ => None, // a mean of a single choice is not asked for
        };
    }
    let v = answer.as_i64().expect("a scale value");
    Some(match metric {
        Metric::Mean => v as f64,
        Metric::Top2 => one(positive(question, v)),
        Metric::Bottom2 => one(negative(question, v)),
        Metric::Net => one(positive(question, v)) - one(negative(question, v)),
        Metric::Share(option) => one(*option == v.to_string()),
    })
}

// ---------------------------------------------------------------------------
// Weights.

/// A raking period: the response's wave, else its calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RakePeriod {
    Wave(usize),
    Month(i32, u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PeriodWeighting {
    pub label: String,
    pub n: usize,
    pub raked: bool,
    pub design_effect: Option<f64>,
}

pub struct Weights {
    /// The final weight of every response (index as in `Data::responses`).
    pub w: Vec<f64>,
    /// Whether raking applied to the response's period.
    pub raked: Vec<bool>,
    /// Per raking period (only when raking was attempted).
    pub periods: BTreeMap<RakePeriod, PeriodWeighting>,
}

impl Data {
    pub fn rake_period(&self, r: &Response) -> RakePeriod {
        match r.wave {
            Some(w) => RakePeriod::Wave(w),
            None => RakePeriod::Month(r.date.year(), r.date.month()),
        }
    }

    fn label(&self, p: RakePeriod) -> String {
        match p {
            RakePeriod::Wave(w) => self.waves[w].label.clone(),
            RakePeriod::Month(y, m) => format!("{y:04}-{m:02}"),
        }
    }

    /// METHODS, weighting: unweighted = every weight 1; weighted without targets
    /// = the base weights; with targets, raked per period, or the base weights
    /// where raking fails.
    pub fn weights(&self, weighted: bool, reading: Reading) -> Weights {
        let count = self.responses.len();
        if !weighted {
            return Weights {
                w: vec![1.0; count],
                raked: vec![false; count],
                periods: BTreeMap::new(),
            };
        }
        let mut w: Vec<f64> = self.responses.iter().map(|r| r.base_weight).collect();
        let mut raked = vec![false; count];
        let mut periods = BTreeMap::new();
        if self.targets.is_empty() {
            return Weights { w, raked, periods };
        }
        let mut members: BTreeMap<RakePeriod, Vec<usize>> = BTreeMap::new();
        for (i, r) in self.responses.iter().enumerate() {
            members.entry(self.rake_period(r)).or_default().push(i);
        }
        for (period, who) in members {
            let outcome = self.rake(&who, reading);
            let report = match outcome {
                Some(final_weights) => {
                    for (i, fw) in who.iter().zip(&final_weights) {
                        w[*i] = *fw;
                        raked[*i] = true;
                    }
                    // Kish n_eff and design effect = n / n_eff.
                    let sum: f64 = final_weights.iter().sum();
                    let sum2: f64 = final_weights.iter().map(|x| x * x).sum();
                    let n_eff = sum * sum / sum2;
                    PeriodWeighting {
                        label: self.label(period),
                        n: who.len(),
                        raked: true,
                        design_effect: Some(who.len() as f64 / n_eff),
                    }
                }
                None => PeriodWeighting {
                    label: self.label(period),
                    n: who.len(),
                    raked: false,
                    design_effect: None,
                },
            };
            periods.insert(period, report);
        }
        Weights { w, raked, periods }
    }

    /// The respondent's substantive category on a dimension, if any.
    fn category<'a>(&self, r: &'a Response, dimension: &str) -> Option<&'a str> {
        r.answers
            .get(dimension)
            .and_then(Value::as_str)
            .filter(|c| !non_substantive(c))
    }

    /// Plain IPF over every respondent of one period, with capping; the final
    /// weights (g × base) scaled to mean 1, or None when raking fails.
    fn rake(&self, who: &[usize], reading: Reading) -> Option<Vec<f64>> {
        let people: Vec<&Response> = who.iter().map(|i| &self.responses[*i]).collect();
        // Each respondent's category on each margin (None: no substantive answer).
        let cats: Vec<Vec<Option<&str>>> = self
            .targets
            .iter()
            .map(|(dimension, _)| people.iter().map(|r| self.category(r, dimension)).collect())
            .collect();
        // Fails when a category with a positive target has nobody in the period.
        for (d, (_, shares)) in self.targets.iter().enumerate() {
            for (category, share) in shares {
                let present = cats[d].contains(&Some(category.as_str()));
                if *share > 0.0 && !present {
                    return None;
                }
            }
        }
        let base: Vec<f64> = people.iter().map(|r| r.base_weight).collect();
        let mut g = vec![1.0; people.len()];
        // Σ g·b over the respondents of a category, or (None) over everyone
        // with a substantive answer on margin d.
        let total = |g: &[f64], d: usize, category: Option<&str>| -> f64 {
            let mut sum = 0.0;
            for k in 0..g.len() {
                let matches = match category {
                    Some(c) => cats[d][k] == Some(c),
                    None => cats[d][k].is_some(),
                };
                if matches {
                    sum += g[k] * base[k];
                }
            }
            sum
        };
        for _round in 0..MAX_ROUNDS {
            // Iterative proportional fitting over the margins in a fixed order.
            let mut converged = false;
            for _sweep in 0..MAX_SWEEPS {
                for (d, (_, shares)) in self.targets.iter().enumerate() {
                    // The others' (substantive answers') current weight total.
                    let others = total(&g, d, None);
                    for (category, share) in shares {
                        // Control total = share × the others' total.
                        let factor = share * others / total(&g, d, Some(category));
                        for k in 0..g.len() {
                            if cats[d][k] == Some(category.as_str()) {
                                g[k] *= factor;
                            }
                        }
                    }
                }
                // The largest relative margin error after the sweep.
                let mut worst: f64 = 0.0;
                for (d, (_, shares)) in self.targets.iter().enumerate() {
                    let others = total(&g, d, None);
                    for (category, share) in shares {
                        let control = share * others;
                        let now = total(&g, d, Some(category));
                        worst = worst.max((now - control).abs() / control);
                    }
                }
                if worst <= RAKE_TOLERANCE {
                    converged = true;
                    break;
                }
            }
            if !converged {
                return None;
            }
            // The factors' weighted mean (weighted by the base weights).
            let mean = (0..g.len()).map(|k| g[k] * base[k]).sum::<f64>() / base.iter().sum::<f64>();
            let (low, high) = (CAP_LOW * mean, CAP_HIGH * mean);
            let tol = reading.cap_tolerance;
            if g.iter()
                .all(|f| *f >= low * (1.0 - tol) && *f <= high * (1.0 + tol))
            {
                // Final weight = g × base, scaled to mean 1 within the period.
                let finals: Vec<f64> = (0..g.len()).map(|k| g[k] * base[k]).collect();
                let sum: f64 = finals.iter().sum();
                let n = finals.len() as f64;
                return Some(finals.iter().map(|x| x * n / sum).collect());
            }
            for f in g.iter_mut() {
                *f = f.clamp(low, high);
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------
// One estimation cell.

#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub n: usize,
    pub n_eff: f64,
    pub value: Option<f64>,
    pub se: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// The interval a metric uses: Wilson for shares, t for means and nets with the
/// clamp range (in the estimate's own units, before scaling to percent).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Wilson,
    T { min: f64, max: f64 },
}

fn kind(question: &str, metric: &Metric) -> Kind {
    match metric {
        Metric::Mean => {
            let (lo, hi) = scale_range(question).unwrap();
            Kind::T {
                min: lo as f64,
                max: hi as f64,
            }
        }
        Metric::Net => Kind::T {
            min: -1.0,
            max: 1.0,
        },
        _ => Kind::Wilson,
    }
}

/// `cell`: (wᵢ, yᵢ) of the group's respondents with a valid answer (weights
/// already 0 outside the group, i.e. left out); `period_n`: every valid answer
/// of the period, whatever the group, for the n/(n−1) factor.
fn estimate(cell: &[(f64, f64)], period_n: usize, kind: Kind) -> Estimate {
    let n = cell.len();
    let mut big_w = 0.0;
    let mut sum_w2 = 0.0;
    let mut sum_wy = 0.0;
    for (w, y) in cell {
        big_w += w;
        sum_w2 += w * w;
        sum_wy += w * y;
    }
    // Kish: (Σw)² / Σw².
    let n_eff = if n == 0 { 0.0 } else { big_w * big_w / sum_w2 };
    if n == 0 {
        return Estimate {
            n,
            n_eff,
            value: None,
            se: None,
            ci_low: None,
            ci_high: None,
        };
    }
    // R̂ = Σwy / Σw
    let r = sum_wy / big_w;
    // V̂ = n/(n−1) · Σ w²(y − R̂)² / W², with the period's n.
    let se = if period_n > 1 {
        let mut squares = 0.0;
        for (w, y) in cell {
            squares += w * w * (y - r) * (y - r);
        }
        let np = period_n as f64;
        Some((np / (np - 1.0) * squares / (big_w * big_w)).sqrt())
    } else {
        None
    };
    let (ci_low, ci_high) = match kind {
        // Wilson at (p̂, n_eff); a lone answer has no interval. (Wilson does not
        // need the SE, and METHODS says it stays honest at 0% and 100%, so a zero
        // SE does not remove it; see the report.)
        Kind::Wilson if n > 1 => {
            let m = n_eff;
            let z2 = Z * Z;
            let centre = (r + z2 / (2.0 * m)) / (1.0 + z2 / m);
            let half = Z / (1.0 + z2 / m) * (r * (1.0 - r) / m + z2 / (4.0 * m * m)).sqrt();
            (Some(centre - half), Some(centre + half))
        }
        Kind::Wilson => (None, None),
        // estimate ± t(0.975, n−1)·SE with the cell's own n, clamped.
        Kind::T { min, max } => match se {
            Some(se) if n > 1 && se > 0.0 => {
                let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
                    .unwrap()
                    .inverse_cdf(0.975);
                (Some((r - t * se).max(min)), Some((r + t * se).min(max)))
            }
            _ => (None, None),
        },
    };
    Estimate {
        n,
        n_eff,
        value: Some(r),
        se,
        ci_low,
        ci_high,
    }
}

/// Primary suppression: n < MIN_CELL or n_eff < MIN_CELL (and nothing to show).
fn too_small(e: &Estimate, min_cell: f64) -> bool {
    e.value.is_none() || (e.n as f64) < min_cell || e.n_eff < min_cell
}

/// The groups of one sample (a period or a window): estimates and suppression
/// flags, with secondary suppression when there is a breakdown.
fn estimate_groups(
    data: &Data,
    sample: &[(usize, f64, f64)],
    groups: &[String],
    by: Option<&str>,
    kind: Kind,
    reading: Reading,
) -> Vec<(Estimate, bool)> {
    // The period's n: everyone in the sample with a valid answer.
    let period_n = sample.len();
    let mut out: Vec<(Estimate, bool)> = groups
        .iter()
        .map(|group| {
            let cell: Vec<(f64, f64)> = sample
                .iter()
                .filter(|(i, _, _)| match by {
                    None => true,
                    Some(d) => {
                        data.responses[*i].answers.get(d).and_then(Value::as_str)
                            == Some(group.as_str())
                    }
                })
                .map(|(_, w, y)| (*w, *y))
                .collect();
            let e = estimate(&cell, period_n, kind);
            let hidden = too_small(&e, data.min_cell);
            (e, hidden)
        })
        .collect();
    if by.is_some() {
        // Secondary suppression: exactly one group with n > 0 suppressed (the
        // residual counting as a group) → also hide the shown group with the
        // smallest n, the first in option order on ties.
        let residual = period_n - out.iter().map(|(e, _)| e.n).sum::<usize>();
        let mut hidden = out.iter().filter(|(e, s)| e.n > 0 && *s).count();
        if reading.residual_counts && residual > 0 && (residual as f64) < data.min_cell {
            hidden += 1;
        }
        if hidden == 1 {
            let mut smallest: Option<usize> = None;
            for (k, (e, s)) in out.iter().enumerate() {
                if !*s && smallest.is_none_or(|j| e.n < out[j].0.n) {
                    smallest = Some(k);
                }
            }
            if let Some(k) = smallest {
                out[k].1 = true;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Series.

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Interval {
    Day,
    Week,
    Month,
    Wave,
}

impl Interval {
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
            Interval::Wave => "wave",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SeriesQuery {
    pub question: String,
    pub metric: Metric,
    pub by: Option<String>,
    pub interval: Interval,
    pub weighted: bool,
    pub smooth: usize,
    pub from: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub period_start: NaiveDate,
    pub group: String,
    pub n: usize,
    pub n_eff: f64,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub suppressed: bool,
    pub weighted: bool,
}

fn month_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap()
}

fn add_months(d: NaiveDate, k: i32) -> NaiveDate {
    let index = d.year() * 12 + d.month0() as i32 + k;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1).unwrap()
}

/// ISO week: starts on Monday.
fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

impl Data {
    /// The start of the period (of this interval) a response falls in.
    fn period_of(&self, r: &Response, interval: Interval) -> Option<NaiveDate> {
        match interval {
            Interval::Day => Some(r.date),
            Interval::Week => Some(week_start(r.date)),
            Interval::Month => Some(month_start(r.date)),
            Interval::Wave => r.wave.map(|w| self.waves[w].opens),
        }
    }

    /// The series' periods: from the first to the last response (or `from`),
    /// widened to whole periods.
    fn periods(&self, interval: Interval, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        match interval {
            Interval::Day => {
                let mut d = from;
                while d <= to {
                    out.push(d);
                    d += Duration::days(1);
                }
            }
            Interval::Week => {
                let mut d = week_start(from);
                while d <= to {
                    out.push(d);
                    d += Duration::days(7);
                }
            }
            Interval::Month => {
                let mut d = month_start(from);
                while d <= to {
                    out.push(d);
                    d = add_months(d, 1);
                }
            }
            Interval::Wave => {
                for w in &self.waves {
                    if w.opens <= to && w.closes >= from {
                        out.push(w.opens);
                    }
                }
            }
        }
        out
    }

    /// The starts of the `smooth` periods ending with `start` (itself and the
    /// N−1 periods before it on the calendar, or the waves before it).
    fn pooled_starts(&self, interval: Interval, start: NaiveDate, smooth: usize) -> Vec<NaiveDate> {
        let k = smooth as i64;
        match interval {
            Interval::Day => (0..k).map(|j| start - Duration::days(j)).collect(),
            Interval::Week => (0..k).map(|j| start - Duration::days(7 * j)).collect(),
            Interval::Month => (0..k).map(|j| add_months(start, -(j as i32))).collect(),
            Interval::Wave => {
                let mut opens: Vec<NaiveDate> = self.waves.iter().map(|w| w.opens).collect();
                opens.sort();
                let i = opens.iter().position(|o| *o == start).unwrap();
                opens[i.saturating_sub(smooth - 1)..=i].to_vec()
            }
        }
    }

    /// `weights`: `self.weights(q.weighted, reading)` (computed once by the caller).
    pub fn series(&self, q: &SeriesQuery, weights: &Weights, reading: Reading) -> Vec<Point> {
        let weighted = q.weighted && !self.targets.is_empty();
        let first = self.responses.iter().map(|r| r.date).min().unwrap();
        let last = self.responses.iter().map(|r| r.date).max().unwrap();
        let from = q.from.unwrap_or(first);
        let groups: Vec<String> = match &q.by {
            Some(d) => groups_of(d).into_iter().map(String::from).collect(),
            None => vec![String::new()],
        };
        let kind = kind(&q.question, &q.metric);
        let scale = q.metric.scale();
        let mut points = Vec::new();
        for start in self.periods(q.interval, from, last) {
            let pooled = self.pooled_starts(q.interval, start, q.smooth);
            // (response, wᵢ, yᵢ) for every valid answer in the pooled periods.
            let mut sample = Vec::new();
            let mut all_raked = true;
            for (i, r) in self.responses.iter().enumerate() {
                let Some(p) = self.period_of(r, q.interval) else {
                    continue;
                };
                if !pooled.contains(&p) {
                    continue;
                }
                if let Some(yi) = y(&q.question, &q.metric, r.answers.get(&q.question)) {
                    sample.push((i, weights.w[i], yi));
                    all_raked &= weights.raked[i];
                }
            }
            let row = estimate_groups(self, &sample, &groups, q.by.as_deref(), kind, reading);
            for ((e, suppressed), group) in row.into_iter().zip(&groups) {
                let shown = |x: Option<f64>| {
                    if suppressed {
                        None
                    } else {
                        x.map(|v| v * scale)
                    }
                };
                points.push(Point {
                    period_start: start,
                    group: group.clone(),
                    n: e.n,
                    n_eff: e.n_eff,
                    value: shown(e.value),
                    ci_low: shown(e.ci_low),
                    ci_high: shown(e.ci_high),
                    suppressed,
                    weighted: weighted && all_raked,
                });
            }
        }
        points
    }
}

// ---------------------------------------------------------------------------
// Shifts.

#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub n: usize,
    pub n_eff: f64,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub weighted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub group: String,
    pub before: Window,
    pub after: Window,
    pub difference: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub z: Option<f64>,
    pub p: Option<f64>,
    pub suppressed: bool,
}

pub struct ShiftQuery {
    pub question: String,
    pub metric: Metric,
    pub by: Option<String>,
    pub weighted: bool,
    pub date: NaiveDate,
    pub window_days: i64,
}

impl Data {
    /// Windows [date − D, date) and [date, date + D), each its own sample.
    /// `weights`: `self.weights(q.weighted, reading)` (computed once by the caller).
    pub fn shifts(&self, q: &ShiftQuery, weights: &Weights, reading: Reading) -> Vec<Shift> {
        let weighted = q.weighted && !self.targets.is_empty();
        let groups: Vec<String> = match &q.by {
            Some(d) => groups_of(d).into_iter().map(String::from).collect(),
            None => vec![String::new()],
        };
        let kind = kind(&q.question, &q.metric);
        let scale = q.metric.scale();
        let d = Duration::days(q.window_days);
        let ranges = [(q.date - d, q.date), (q.date, q.date + d)];
        let mut sides = Vec::new();
        for (lo, hi) in ranges {
            let mut sample = Vec::new();
            let mut all_raked = true;
            for (i, r) in self.responses.iter().enumerate() {
                if r.date < lo || r.date >= hi {
                    continue;
                }
                if let Some(yi) = y(&q.question, &q.metric, r.answers.get(&q.question)) {
                    sample.push((i, weights.w[i], yi));
                    all_raked &= weights.raked[i];
                }
            }
            let row = estimate_groups(self, &sample, &groups, q.by.as_deref(), kind, reading);
            sides.push((row, weighted && all_raked, lo, hi - Duration::days(1)));
        }
        let mut out = Vec::new();
        for (k, group) in groups.iter().enumerate() {
            let (eb, sb) = &sides[0].0[k];
            let (ea, sa) = &sides[1].0[k];
            let suppressed = *sb || *sa;
            let window = |e: &Estimate, side: usize| {
                let shown = |x: Option<f64>| {
                    if suppressed {
                        None
                    } else {
                        x.map(|v| v * scale)
                    }
                };
                Window {
                    from: sides[side].2,
                    to: sides[side].3,
                    n: e.n,
                    n_eff: e.n_eff,
                    value: shown(e.value),
                    ci_low: shown(e.ci_low),
                    ci_high: shown(e.ci_high),
                    weighted: sides[side].1,
                }
            };
            // d = θ̂_after − θ̂_before, SE_d = √(SE_a² + SE_b²), z = d/SE_d,
            // p = 2·(1 − Φ(|z|)), CI d ± z₀.₉₇₅·SE_d.
            let (mut difference, mut ci_low, mut ci_high, mut z, mut p) =
                (None, None, None, None, None);
            if !suppressed && let (Some(b), Some(a)) = (eb.value, ea.value) {
                let dv = (a - b) * scale;
                difference = Some(dv);
                if let (Some(seb), Some(sea)) = (eb.se, ea.se) {
                    let se_d = ((seb * scale).powi(2) + (sea * scale).powi(2)).sqrt();
                    if se_d > 0.0 {
                        let zv = dv / se_d;
                        let phi = Normal::new(0.0, 1.0).unwrap().cdf(zv.abs());
                        z = Some(zv);
                        p = Some(2.0 * (1.0 - phi));
                        ci_low = Some(dv - Z * se_d);
                        ci_high = Some(dv + Z * se_d);
                    }
                }
            }
            out.push(Shift {
                group: group.clone(),
                before: window(eb, 0),
                after: window(ea, 1),
                difference,
                ci_low,
                ci_high,
                z,
                p,
                suppressed,
            });
        }
        out
    }
}
