//! Series: per period (and group), weighted estimates with intervals, built
//! from the aggregate tables (never from raw answers).

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use crate::aggregate::{self, EVERYONE};
use crate::analysis::params::{Interval, Metric, SeriesSpec};
use crate::db::DbConnection;
use crate::db::aggregates::{self, Piece};
use crate::db::surveys::Wave;
use crate::stats::estimate::{self, Moments};
use crate::stats::raking::{self, Cell, Outcome};
use crate::stats::sums::{self, ANSWERED, Sums};
use crate::survey::targets::Targets;
use crate::survey::{QuestionDef, QuestionKind, Survey};

/// What a series is computed against.
pub struct Context<'a> {
    pub survey: &'a Survey,
    pub targets: &'a Targets,
    pub waves: &'a [Wave],
    pub min_cell: u32,
    /// The last day the caller may see: yesterday in the survey's time zone
    /// for the public (completed days only), today for researchers.
    pub last_day: NaiveDate,
}

/// How the question's answer values enter the estimate.
pub struct Measure {
    question: QuestionDef,
    metric: Metric,
    option: Option<String>,
    positive: Vec<i32>,
    negative: Vec<i32>,
    /// y of every value the question can take (None: outside the base),
    /// worked out once so the hot loop only compares short strings.
    ys: Vec<(String, Option<f64>)>,
    /// Unweighted: every wᵢ = 1, base weights left out (METHODS).
    unit_weights: bool,
}

impl Measure {
    pub fn new(spec: &SeriesSpec) -> Measure {
        let scale = spec.question.scale.as_ref();
        let mut measure = Measure {
            question: spec.question.clone(),
            metric: spec.metric,
            option: spec.option.clone(),
            positive: scale.map(|s| s.positive_values()).unwrap_or_default(),
            negative: scale.map(|s| s.negative_values()).unwrap_or_default(),
            ys: Vec::new(),
            unit_weights: !spec.weighted,
        };
        let mut values: Vec<String> = scale
            .iter()
            .flat_map(|s| s.min..=s.max)
            .map(|v| v.to_string())
            .collect();
        if spec.question.kind == QuestionKind::YesNo {
            values.extend(["yes".to_string(), "no".to_string()]);
        }
        values.extend(spec.question.options.iter().map(|o| o.code.clone()));
        measure.ys = values
            .into_iter()
            .map(|v| (v.clone(), measure.y(&v)))
            .collect();
        measure
    }

    fn y_of(&self, value: &str) -> Option<f64> {
        self.ys
            .iter()
            .find(|(v, _)| v == value)
            .and_then(|(_, y)| *y)
    }

    fn substantive(&self, value: &str) -> bool {
        match self.question.kind {
            QuestionKind::Scale => value.parse::<i32>().is_ok(),
            QuestionKind::YesNo => true,
            _ => self
                .question
                .option(value)
                .is_some_and(|o| !o.non_substantive),
        }
    }

    /// A share of a non-substantive option counts every answer in its base.
    fn option_is_non_substantive(&self) -> bool {
        self.option.as_deref().is_some_and(|o| !self.substantive(o))
    }

    /// y for one answer value, or None when the value is outside the base.
    fn y(&self, value: &str) -> Option<f64> {
        let substantive = self.substantive(value);
        match self.metric {
            Metric::Share if self.option_is_non_substantive() => {
                Some(f64::from(self.option.as_deref() == Some(value)))
            }
            _ if !substantive => None,
            Metric::Share => Some(f64::from(self.option.as_deref() == Some(value))),
            Metric::Mean => value.parse::<f64>().ok(),
            Metric::Top2 | Metric::Bottom2 | Metric::Net => {
                let v: i32 = value.parse().ok()?;
                let (pos, neg) = (self.positive.contains(&v), self.negative.contains(&v));
                Some(match self.metric {
                    Metric::Top2 => f64::from(pos),
                    Metric::Bottom2 => f64::from(neg),
                    _ => f64::from(pos) - f64::from(neg),
                })
            }
        }
    }

    /// The sums as this estimate weighs them: unweighted, n respondents of
    /// weight 1; weighted, their base weights.
    fn weighed(&self, s: Sums) -> Sums {
        if self.unit_weights {
            Sums {
                sb: s.n as f64,
                sb2: s.n as f64,
                ..s
            }
        } else {
            s
        }
    }

    /// Adds a cell's sums for this question (value, sums), every weight
    /// multiplied by `g`.
    pub fn accumulate<'a>(
        &self,
        m: &mut Moments,
        entries: impl IntoIterator<Item = (&'a str, Sums)>,
        g: f64,
    ) {
        let entries = entries.into_iter().map(|(v, s)| (v, self.weighed(s)));
        if self.question.kind != QuestionKind::MultiChoice {
            for (value, s) in entries {
                if let Some(y) = self.y_of(value) {
                    m.add(s.n, s.sb, s.sb2, g, y);
                }
            }
            return;
        }
        // Multi-choice: the base is everyone who answered, less those who chose
        // only a non-substantive option (unless that option is the one measured).
        let (mut base, mut chosen) = (Sums::default(), Sums::default());
        let keep_non_substantive = self.option_is_non_substantive();
        for (value, s) in entries {
            if value == ANSWERED {
                base.add(&s, 1);
            } else if !keep_non_substantive
                && self
                    .question
                    .option(value)
                    .is_some_and(|o| o.non_substantive)
            {
                base.add(&s, -1);
            }
            if self.option.as_deref() == Some(value) {
                chosen = s;
            }
        }
        m.add(base.n, base.sb, base.sb2, g, 0.0);
        m.add_indicator(chosen.sb, chosen.sb2, g);
    }

    /// `accumulate` over encoded sums, without building a map.
    pub fn accumulate_text(&self, m: &mut Moments, text: &str, g: f64) -> Result<(), String> {
        if self.question.kind != QuestionKind::MultiChoice {
            return sums::for_each(text, |value, s| {
                let s = self.weighed(s);
                if let Some(y) = self.y_of(value) {
                    m.add(s.n, s.sb, s.sb2, g, y);
                }
            });
        }
        let mut entries = Vec::with_capacity(16);
        sums::for_each(text, |value, s| entries.push((value, s)))?;
        self.accumulate(m, entries, g);
        Ok(())
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

/// Weighting of one raking period, as reported in the metadata.
#[derive(Debug, Clone, Serialize)]
pub struct WeightingReport {
    pub period: String,
    pub n: i64,
    pub raked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design_effect: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The factors g per cell of each raking period (1 when unweighted or failed).
pub struct Weights {
    factors: HashMap<RakePeriod, HashMap<String, f64>>,
    failed: HashMap<RakePeriod, bool>,
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
    let mut cells: BTreeMap<RakePeriod, HashMap<&str, (f64, f64, i64)>> = BTreeMap::new();
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
        factors: HashMap::new(),
        failed: HashMap::new(),
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
                    n,
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
                    n,
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

/// One point of a series.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Point {
    pub period_start: NaiveDate,
    pub group: String,
    pub n: i64,
    pub n_eff: f64,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub suppressed: bool,
    pub weighted: bool,
    /// Standard error in the point's units (change points use it).
    #[serde(skip)]
    pub se: Option<f64>,
}

/// A period's accumulated moments per group, and its whole valid n.
#[derive(Debug, Clone, Default)]
pub struct PeriodSums {
    pub groups: Vec<Moments>,
    pub total_n: i64,
    /// Every raking period that fed it was raked.
    pub raked: bool,
    pub any: bool,
}

/// The periods of a range: their start dates, in order.
pub fn periods(
    interval: Interval,
    from: NaiveDate,
    to: NaiveDate,
    waves: &[Wave],
) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    match interval {
        Interval::Day | Interval::Week => {
            let step = if interval == Interval::Day { 1 } else { 7 };
            let mut d = from;
            while d <= to {
                out.push(d);
                d += Duration::days(step);
            }
        }
        Interval::Month => {
            let mut d = from;
            while d <= to {
                out.push(d);
                d = next_month(d);
            }
        }
        Interval::Wave => out.extend(
            waves
                .iter()
                .filter(|w| w.opens <= to && w.closes >= from)
                .map(|w| w.opens),
        ),
    }
    out
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("the first of a month exists")
}

/// Widens [from, to] to whole periods.
pub fn widen(interval: Interval, from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    match interval {
        Interval::Day | Interval::Wave => (from, to),
        Interval::Week => (
            aggregate::week_start(from),
            aggregate::week_start(to) + Duration::days(6),
        ),
        Interval::Month => (
            aggregate::month_start(from),
            next_month(to) - Duration::days(1),
        ),
    }
}

/// The computed series and what the metadata reports about it.
pub struct Series {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub points: Vec<Point>,
    pub groups: Vec<String>,
    pub weighting: Vec<WeightingReport>,
    pub weighted: bool,
    pub data_version: i64,
    /// Sums per period, kept for re-estimating pooled segments.
    pub period_sums: Vec<(NaiveDate, PeriodSums)>,
}

pub fn compute(
    conn: &mut DbConnection,
    ctx: &Context,
    spec: &SeriesSpec,
) -> diesel::QueryResult<Series> {
    let survey_id = ctx.survey.id;
    let data_version = aggregates::data_version(conn, survey_id)?;
    let groups = spec.groups();
    let weighted = spec.weighted && !ctx.targets.is_empty();
    let empty = |data_version| Series {
        from: None,
        to: None,
        points: Vec::new(),
        groups: groups.clone(),
        weighting: Vec::new(),
        weighted,
        data_version,
        period_sums: Vec::new(),
    };
    let Some((first, last)) = aggregates::date_range(conn, survey_id)? else {
        return Ok(empty(data_version));
    };
    let from = spec.from.unwrap_or(first);
    let to = spec.to.unwrap_or(last).min(ctx.last_day);
    if from > to {
        return Ok(empty(data_version));
    }
    let (from, to) = widen(spec.interval, from, to);
    let starts = periods(spec.interval, from, to, ctx.waves);
    // Data range: for waves, every month any of the chosen waves touches.
    let (data_from, data_to) = match spec.interval {
        Interval::Wave => {
            let chosen: Vec<&Wave> = ctx
                .waves
                .iter()
                .filter(|w| starts.contains(&w.opens))
                .collect();
            match (
                chosen.iter().map(|w| w.opens).min(),
                chosen.iter().map(|w| w.closes).max(),
            ) {
                (Some(a), Some(b)) => (a, b.min(ctx.last_day)),
                _ => return Ok(empty(data_version)),
            }
        }
        _ => (from, to.min(ctx.last_day)),
    };
    let (month_from, month_to) = (
        aggregate::month_start(data_from),
        aggregate::month_start(data_to),
    );
    let everyone = if weighted {
        let (a, b) = if ctx.waves.is_empty() {
            (month_from, month_to)
        } else {
            (NaiveDate::MIN, NaiveDate::MAX)
        };
        aggregates::pieces_raw(conn, survey_id, EVERYONE, a, b)?
    } else {
        Vec::new()
    };
    let corrupt = |e: String| {
        diesel::result::Error::DeserializationError(format!("aggregate sums: {e}").into())
    };
    let weights =
        weights(ctx.survey, ctx.targets, ctx.waves, &everyone, weighted).map_err(corrupt)?;
    let mut malformed: Option<String> = None;
    let measure = Measure::new(spec);
    let by = spec.by.as_ref().map(|q| q.code.as_str());
    let group_index: HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.as_str(), i))
        .collect();
    let index: HashMap<NaiveDate, usize> =
        starts.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut sums: Vec<PeriodSums> = starts
        .iter()
        .map(|_| PeriodSums {
            groups: vec![Moments::default(); groups.len()],
            total_n: 0,
            raked: weighted,
            any: false,
        })
        .collect();
    let wave_opens: HashMap<i32, NaiveDate> = ctx.waves.iter().map(|w| (w.id, w.opens)).collect();
    // Per distinct cell, looked up once: its group and its factor per raking
    // period (a request touches ~250 cells but tens of thousands of rows).
    let mut cells: HashMap<String, (Option<usize>, HashMap<RakePeriod, f64>)> = HashMap::new();
    let mut add = |period: Option<NaiveDate>,
                   rake: RakePeriod,
                   cell: &str,
                   whole: &dyn Fn(&mut Moments, f64)| {
        let Some(i) = period.and_then(|p| index.get(&p)) else {
            return;
        };
        if !cells.contains_key(cell) {
            let group = by
                .map_or(Some(""), |d| Some(aggregate::cell_value(cell, d)))
                .and_then(|g| group_index.get(g).copied());
            cells.insert(cell.to_string(), (group, HashMap::new()));
        }
        let (group, factors) = cells.get_mut(cell).expect("just inserted");
        let g = *factors.entry(rake).or_insert_with(|| {
            if weighted && weights.raked(rake) {
                weights.factor(rake, cell)
            } else {
                1.0
            }
        });
        let group = *group;
        let slot = &mut sums[*i];
        let mut m = Moments::default();
        whole(&mut m, g);
        let whole = m;
        slot.total_n += whole.n;
        if whole.n > 0 {
            slot.any = true;
            slot.raked &= weights.raked(rake);
        }
        if let Some(gi) = group {
            slot.groups[gi].merge(&whole);
        }
    };
    match spec.interval {
        Interval::Day => {
            for (day, wave_id, cell, q) in
                aggregates::days(conn, survey_id, &spec.question.code, data_from, data_to)?
            {
                let visit = |m: &mut Moments, g: f64| {
                    measure.accumulate(m, q.iter().map(|(v, s)| (v.as_str(), *s)), g)
                };
                add(Some(day), RakePeriod::of(day, wave_id), &cell, &visit);
            }
        }
        _ => {
            for (piece, cell, text) in
                aggregates::pieces_raw(conn, survey_id, &spec.question.code, month_from, month_to)?
            {
                let period = match spec.interval {
                    Interval::Week => Some(piece.week_start),
                    Interval::Month => Some(piece.month_start),
                    _ => wave_opens.get(&piece.wave_id).copied(),
                };
                let error = std::cell::RefCell::new(None);
                let visit = |m: &mut Moments, g: f64| {
                    if let Err(e) = measure.accumulate_text(m, &text, g) {
                        *error.borrow_mut() = Some(e);
                    }
                };
                add(
                    period,
                    RakePeriod::of(piece.month_start, piece.wave_id),
                    &cell,
                    &visit,
                );
                if let Some(e) = error.into_inner() {
                    malformed.get_or_insert(e);
                }
            }
        }
    }
    if let Some(e) = malformed {
        return Err(corrupt(e));
    }
    let points = estimate_points(
        &starts,
        &sums,
        &groups,
        spec,
        &measure,
        ctx.min_cell,
        weighted,
    );
    Ok(Series {
        from: Some(from),
        to: Some(to),
        points,
        groups,
        weighting: weights.reports,
        weighted,
        data_version,
        period_sums: starts.into_iter().zip(sums).collect(),
    })
}

/// Estimates every (period, group), pooling `smooth` periods, then applies
/// primary and secondary suppression.
fn estimate_points(
    starts: &[NaiveDate],
    sums: &[PeriodSums],
    groups: &[String],
    spec: &SeriesSpec,
    measure: &Measure,
    min_cell: u32,
    weighted: bool,
) -> Vec<Point> {
    let scale = spec.metric.scale_factor();
    let mut points = Vec::with_capacity(starts.len() * groups.len());
    for (i, start) in starts.iter().enumerate() {
        let window = &sums[i.saturating_sub(spec.smooth - 1)..=i];
        let total_n: i64 = window.iter().map(|s| s.total_n).sum();
        let raked = weighted && window.iter().all(|s| s.raked || !s.any);
        let pooled: Vec<Moments> = (0..groups.len())
            .map(|gi| {
                let mut m = Moments::default();
                for s in window {
                    m.merge(&s.groups[gi]);
                }
                m
            })
            .collect();
        let row = estimate::estimate_period(
            &pooled,
            total_n,
            measure.interval(),
            min_cell,
            spec.by.is_some(),
        );
        for ((e, suppressed), group) in row.into_iter().zip(groups) {
            let shown = |x: Option<f64>| {
                if suppressed {
                    None
                } else {
                    x.map(|v| v * scale)
                }
            };
            points.push(Point {
                period_start: *start,
                group: group.clone(),
                n: e.n,
                n_eff: e.n_eff,
                value: shown(e.value),
                ci_low: shown(e.ci_low),
                ci_high: shown(e.ci_high),
                suppressed,
                weighted: raked,
                se: if suppressed {
                    None
                } else {
                    e.se.map(|v| v * scale)
                },
            });
        }
    }
    points
}
