//! Before/after an event: the estimate in the D days before and the D days
//! from the event on, each window its own sample, and their difference.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::aggregate;
use crate::analysis::disclosure::{self, Audience};
use crate::analysis::measure::{Measure, Place};
use crate::analysis::memo::{Decoded, Decoder};
use crate::analysis::params::SeriesSpec;
use crate::analysis::series::{AtomBuilder, Context, atom_moments, corrupt, read_weights};
use crate::analysis::weighting::{RakePeriod, WeightingReport};
use crate::db::DbConnection;
use crate::db::aggregates;
use crate::db::events::Event;
use crate::error::Detail;
use crate::stats::estimate::{self, Estimate, Moments};
use crate::stats::{Z95, two_sided_p};

pub const DEFAULT_WINDOW_DAYS: i64 = 28;
pub const MAX_WINDOW_DAYS: i64 = 366;

/// The parameters a shift takes besides the series' own.
pub const PARAMS: &[&str] = &["event", "date", "window_days"];

/// The query of the shifts endpoint, as the OpenAPI document describes it:
/// the series parameters that mean something before/after an event, and
/// `PARAMS` (a test keeps them in step). Never built.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ShiftsQuery {
    /// A question code (not a free-text question).
    question: String,
    /// Default `mean` for a scale question; other kinds must name one.
    metric: Option<crate::analysis::params::Metric>,
    /// The option code for `metric=share` (send `+` as `%2B`).
    option: Option<String>,
    /// A demographic question: one shift per substantive option.
    by: Option<String>,
    /// Default true when the survey has targets.
    weighted: Option<bool>,
    /// An event id. Without `event` or `date`: every event inside the
    /// survey's date range.
    event: Option<i32>,
    /// A date instead of an event (researchers only).
    date: Option<NaiveDate>,
    /// Days on each side (researchers only; default 28).
    #[param(minimum = 1, maximum = 366)]
    window_days: Option<i64>,
}

/// Series parameters that mean nothing before/after an event.
const NOT_FOR_SHIFTS: [&str; 4] = ["interval", "from", "to", "smooth"];

/// Which dates to test and how wide the windows are.
#[derive(Debug, Clone)]
pub struct ShiftRequest {
    pub dates: Vec<(Option<Event>, NaiveDate)>,
    pub window_days: i64,
    /// No event or date was named: every event in the survey's range.
    pub every_event: bool,
}

/// Reads `event=ID` or `date=…` (neither: every event inside `range`) and
/// `window_days`, naming each problem.
pub fn parse(
    query: &std::collections::HashMap<String, String>,
    events: &[Event],
    range: Option<(NaiveDate, NaiveDate)>,
) -> Result<ShiftRequest, Vec<Detail>> {
    let mut problems: Vec<Detail> = NOT_FOR_SHIFTS
        .iter()
        .filter(|p| query.contains_key(**p))
        .map(|p| {
            Detail::field(
                *p,
                "not_applicable",
                "shifts compare two windows around an event",
            )
        })
        .collect();
    let window_days = match query.get("window_days").map(|v| v.parse::<i64>()) {
        None => DEFAULT_WINDOW_DAYS,
        Some(Ok(d)) if (1..=MAX_WINDOW_DAYS).contains(&d) => d,
        Some(_) => {
            problems.push(Detail::field(
                "window_days",
                "out_of_range",
                format!("whole days, 1 to {MAX_WINDOW_DAYS}"),
            ));
            DEFAULT_WINDOW_DAYS
        }
    };
    let dates = match (query.get("event"), query.get("date")) {
        (Some(_), Some(_)) => {
            problems.push(Detail::field(
                "date",
                "not_both",
                "name an event or a date, not both",
            ));
            Vec::new()
        }
        (Some(id), None) => match events.iter().find(|e| e.id.to_string() == *id) {
            Some(e) if !crate::analysis::params::date_in_range(e.event_date) => {
                problems.push(Detail::field(
                    "event",
                    "out_of_range",
                    "the event's date is outside 1900-2199",
                ));
                Vec::new()
            }
            Some(e) => vec![(Some(e.clone()), e.event_date)],
            None => {
                problems.push(Detail::field(
                    "event",
                    "unknown_event",
                    format!("no event {id:?}"),
                ));
                Vec::new()
            }
        },
        (None, Some(d)) => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(date) if !crate::analysis::params::date_in_range(date) => {
                problems.push(Detail::field(
                    "date",
                    "out_of_range",
                    "a date from 1900-01-01 to 2199-12-31",
                ));
                Vec::new()
            }
            Ok(date) => vec![(None, date)],
            Err(_) => {
                problems.push(Detail::field("date", "invalid_date", "use YYYY-MM-DD"));
                Vec::new()
            }
        },
        (None, None) => range
            .map(|(first, last)| {
                events
                    .iter()
                    .filter(|e| first <= e.event_date && e.event_date <= last)
                    .map(|e| (Some(e.clone()), e.event_date))
                    .collect()
            })
            .unwrap_or_default(),
    };
    if problems.is_empty() {
        Ok(ShiftRequest {
            dates,
            window_days,
            every_event: !query.contains_key("event") && !query.contains_key("date"),
        })
    } else {
        Err(problems)
    }
}

/// What a public caller may not ask of shifts: arbitrary dates and window
/// lengths would let differences of overlapping windows isolate single days.
pub fn refusals(audience: &Audience, query: &HashMap<String, String>) -> Vec<String> {
    if !audience.is_public() {
        return Vec::new();
    }
    ["date", "window_days"]
        .iter()
        .filter(|p| query.contains_key(**p))
        .map(|p| p.to_string())
        .collect()
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Null for a suppressed public window.
    pub n: Option<i64>,
    pub n_eff: Option<f64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub weighted: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Shift {
    pub event: Option<Event>,
    pub date: NaiveDate,
    pub group: String,
    pub before: Window,
    pub after: Window,
    pub difference: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub z: Option<f64>,
    pub p: Option<f64>,
    pub suppressed: bool,
    /// Public only: the after window has not ended yet.
    pub pending: bool,
}

/// d = after − before, SE_d = √(SE_a² + SE_b²), z = d/SE_d, p = 2(1 − Φ(|z|)).
/// None when either side has no standard error or SE_d is 0.
pub fn difference(
    before: (f64, Option<f64>),
    after: (f64, Option<f64>),
) -> (f64, Option<(f64, f64, f64, f64)>) {
    let d = after.0 - before.0;
    let stats = match (before.1, after.1) {
        (Some(sb), Some(sa)) if (sb * sb + sa * sa) > 0.0 => {
            let se = (sb * sb + sa * sa).sqrt();
            let z = d / se;
            Some((d - Z95 * se, d + Z95 * se, z, two_sided_p(z)))
        }
        _ => None,
    };
    (d, stats)
}

/// Shifts around each date, per group (one group "" without `by`). Each
/// window × group is one atom: perturbed for the public like a series' atoms.
pub fn compute(
    conn: &mut DbConnection,
    ctx: &Context,
    spec: &SeriesSpec,
    dates: &[(Option<Event>, NaiveDate)],
    window_days: i64,
) -> diesel::QueryResult<(Vec<Shift>, Vec<WeightingReport>)> {
    let groups = spec.groups();
    let weighted = spec.weighted && !ctx.targets.is_empty();
    let measure = Measure::new(spec);
    let scale = spec.metric.scale_factor();
    let last_day = ctx.audience.last_day();
    let mut shifts = Vec::new();
    let mut reports = Vec::new();
    for (event, date) in dates {
        let before = (
            *date - Duration::days(window_days),
            *date - Duration::days(1),
        );
        let full_after = *date + Duration::days(window_days - 1);
        let after = (*date, full_after.min(last_day));
        // The public sees a shift once both windows are complete: a window
        // still growing would change with every day's answers.
        let pending = ctx.audience.completed_periods_only() && full_after > last_day;
        let (first, last) = (before.0, after.1.max(before.1));
        let w = read_weights(
            conn,
            ctx,
            weighted,
            aggregate::month_start(first),
            aggregate::month_start(last),
        )?;
        let mut builder = AtomBuilder::new(&measure, spec);
        let mut rakes: HashMap<usize, bool> = HashMap::new();
        let code = &spec.question.code;
        let read = |conn: &mut DbConnection| -> diesel::QueryResult<Decoded> {
            let mut decoder = Decoder::default();
            aggregates::for_each_day(
                conn,
                ctx.survey.id,
                code,
                (first, last),
                |piece, cell, part| decoder.push(piece, cell, part).map_err(corrupt),
            )?;
            Ok(decoder.finish())
        };
        let rows = match ctx.memo {
            _ if pending => Default::default(),
            Some(memo) => memo.days(ctx.version(conn)?, code, (first, last), || read(conn))?,
            None => std::sync::Arc::new(read(conn)?),
        };
        // Each interned cell and code looked up once per window.
        let groups_of: Vec<Option<usize>> =
            rows.cells.iter().map(|c| builder.group_of(c)).collect();
        let places: Vec<Place> = rows.values.iter().map(|v| measure.place(v)).collect();
        for row in &rows.rows {
            let (day, wave_id) = (row.piece.week_start, row.piece.wave_id);
            let side = if day < *date {
                0
            } else if day <= after.1 {
                1
            } else {
                continue;
            };
            let rake = RakePeriod::of(day, wave_id);
            let g = if weighted && w.raked(rake) {
                w.factor(rake, &rows.cells[row.cell as usize])
            } else {
                1.0
            };
            let raked = rakes.entry(side).or_insert(weighted);
            *raked &= w.raked(rake);
            let time = (*date, *date, side as i32);
            let entries = rows.entries_of(row);
            builder
                .add_to(time, groups_of[row.cell as usize], &mut |m, t| {
                    for entry in entries {
                        m.add_to(t, places[entry.value as usize], &rows.sums(entry), g);
                    }
                    Ok(())
                })
                .map_err(corrupt)?;
        }
        let atoms = builder.finish();

        // [before, after] × groups, plus each window's whole n.
        let mut moments = [
            vec![Moments::default(); groups.len()],
            vec![Moments::default(); groups.len()],
        ];
        let (mut totals, mut residuals) = ([0i64; 2], [0i64; 2]);
        for ((time, group), tally) in &atoms.tallies {
            let side = time.2 as usize;
            let m = atom_moments(&measure, tally, atoms.everyone_at(*time), &ctx.audience);
            if atoms.is_everyone(*group) {
                totals[side] += m.n;
            }
            if *group < groups.len() {
                moments[side][*group].merge(&m);
            } else if *group == atoms.residual() {
                residuals[side] += m.n;
            }
        }
        let raked = [
            rakes.get(&0).copied().unwrap_or(weighted),
            rakes.get(&1).copied().unwrap_or(weighted),
        ];
        let estimates: Vec<Vec<(Estimate, bool)>> = (0..2)
            .map(|side| {
                estimate::estimate_period(
                    &moments[side],
                    totals[side],
                    measure.interval(),
                    ctx.min_cell,
                    spec.by.is_some().then_some(residuals[side]),
                )
            })
            .collect();
        for (gi, group) in groups.iter().enumerate() {
            let ((eb, sb), (ea, sa)) = (estimates[0][gi], estimates[1][gi]);
            let suppressed = sb || sa || pending;
            let window = |e: &Estimate, range: (NaiveDate, NaiveDate), raked: bool| {
                let p =
                    disclosure::point(range.0, group, e, suppressed, raked, scale, &ctx.audience);
                Window {
                    from: range.0,
                    to: range.1,
                    n: p.n,
                    n_eff: p.n_eff,
                    value: p.value,
                    ci_low: p.ci_low,
                    ci_high: p.ci_high,
                    weighted: raked,
                }
            };
            let (d, stats) = match (eb.value, ea.value) {
                (Some(b), Some(a)) if !suppressed => {
                    let (d, stats) = difference(
                        (b * scale, eb.se.map(|s| s * scale)),
                        (a * scale, ea.se.map(|s| s * scale)),
                    );
                    (Some(d), stats)
                }
                _ => (None, None),
            };
            shifts.push(Shift {
                event: event.clone(),
                date: *date,
                group: group.clone(),
                before: window(&eb, before, raked[0]),
                after: window(&ea, after, raked[1]),
                difference: d,
                ci_low: stats.map(|s| s.0),
                ci_high: stats.map(|s| s.1),
                z: stats.map(|s| s.2),
                p: stats.map(|s| s.3),
                suppressed,
                pending,
            });
        }
        let mut weighting = w.reports.clone();
        if ctx.audience.perturbed() {
            disclosure::hide_weighting_counts(&mut weighting);
        }
        reports.extend(weighting);
    }
    Ok((shifts, reports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_query_names_what_shifts_read() {
        use utoipa::IntoParams;
        let documented: Vec<String> = ShiftsQuery::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .collect();
        let read: Vec<&str> = crate::analysis::params::SERIES_PARAMS
            .iter()
            .filter(|p| !NOT_FOR_SHIFTS.contains(p))
            .chain(PARAMS)
            .copied()
            .collect();
        assert_eq!(documented, read);
    }

    #[test]
    fn a_difference_of_two_independent_windows_matches_the_hand_calculation() {
        // 30% after vs 40% before, SE 5 points each: d = −10, SE_d = 7.0711,
        // z = −1.4142, p = 0.1573, 95% CI −10 ± 13.859.
        let (d, stats) = difference((40.0, Some(5.0)), (30.0, Some(5.0)));
        let (low, high, z, p) = stats.unwrap();
        assert!((d + 10.0).abs() < 1e-12);
        assert!((z + std::f64::consts::SQRT_2).abs() < 1e-9);
        assert!((p - 0.157299).abs() < 1e-6);
        assert!((low + 10.0 + 13.859).abs() < 1e-3 && (high + 10.0 - 13.859).abs() < 1e-3);
        // Without a standard error on one side there is no z, p or interval.
        assert_eq!(difference((40.0, None), (30.0, Some(5.0))).1, None);
        assert_eq!(difference((40.0, Some(0.0)), (30.0, Some(0.0))).1, None);
    }
}
