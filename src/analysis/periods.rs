//! The periods of a series: days, ISO weeks (Monday), calendar months or
//! waves; ranges widened to whole periods.

use chrono::{Datelike, Duration, NaiveDate};

use crate::aggregate;
use crate::analysis::params::Interval;
use crate::db::aggregates::Piece;
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
/// The last day of a piece of time: its week's Sunday or its month's last
/// day, whichever comes first.
pub fn piece_end(piece: &Piece) -> NaiveDate {
    (piece.week_start + Duration::days(6)).min(next_month(piece.month_start) - Duration::days(1))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_piece_ends_on_its_sunday_or_its_months_last_day() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let piece = |week: &str, month: &str| Piece {
            week_start: d(week),
            month_start: d(month),
            wave_id: 0,
        };
        // Monday 2026-11-30: its week runs into December.
        assert_eq!(
            piece_end(&piece("2026-11-30", "2026-11-01")),
            d("2026-11-30")
        );
        assert_eq!(
            piece_end(&piece("2026-11-30", "2026-12-01")),
            d("2026-12-06")
        );
        assert_eq!(
            piece_end(&piece("2026-11-23", "2026-11-01")),
            d("2026-11-29")
        );
    }
}
