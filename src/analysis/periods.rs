//! The periods of a series: days, ISO weeks (Monday), calendar months or
//! waves; ranges widened to whole periods.

use chrono::{Datelike, Duration, NaiveDate};

use crate::aggregate;
use crate::analysis::params::Interval;
use crate::db::surveys::Wave;

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

/// The last day of the period starting at `start`.
pub fn end(interval: Interval, start: NaiveDate, waves: &[Wave]) -> NaiveDate {
    match interval {
        Interval::Day => start,
        Interval::Week => start + Duration::days(6),
        Interval::Month => next_month(start) - Duration::days(1),
        Interval::Wave => waves
            .iter()
            .find(|w| w.opens == start)
            .map_or(start, |w| w.closes),
    }
}
