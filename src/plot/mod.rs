//! Charts as pictures: a chart model in display units (what to draw, already
//! worded in the reader's language) → PNG or SVG bytes. Pure: no HTTP, no SQL.
//!
//! `series` and `shifts` lay a chart out as a `Scene` of pixel-placed shapes;
//! `scene` draws one with plotters (and fills PNG bands itself, see there).

pub mod format;
pub mod scene;
pub mod series;
pub mod shifts;
mod text;

use chrono::NaiveDate;

pub use scene::Format;

/// The Okabe–Ito palette (colour-blind safe), in the order groups take it;
/// its yellow, which does not read as a line on white, comes last and
/// darkened (eight regions need eight colours).
pub const PALETTE: [(u8, u8, u8); 8] = [
    (0, 114, 178),   // blue
    (213, 94, 0),    // vermillion
    (0, 158, 115),   // bluish green
    (204, 121, 167), // reddish purple
    (230, 159, 0),   // orange
    (86, 180, 233),  // sky blue
    (0, 0, 0),       // black
    (163, 145, 0),   // yellow, darkened
];

/// Picture size in pixels; requests are clamped to `MIN..=MAX` per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    pub const DEFAULT: Size = Size {
        width: 1200,
        height: 700,
    };
    pub const MIN: u32 = 320;
    pub const MAX: u32 = 2400;

    pub fn clamped(width: u32, height: u32) -> Size {
        Size {
            width: width.clamp(Self::MIN, Self::MAX),
            height: height.clamp(Self::MIN, Self::MAX),
        }
    }
}

/// What the y axis measures; fixes its range, ticks and labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// 0–100, shown as "40%".
    Percent,
    /// −100–100 percentage points, shown as "+20".
    Points,
    /// The answer scale's own range, e.g. 1–5.
    Scale { min: f64, max: f64 },
}

/// One estimate: the value and its 95% interval, in display units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// A period of a line: drawn at its middle; `None` is a gap (suppressed or
/// empty), never bridged.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub start: NaiveDate,
    /// The day after the period's last day.
    pub end: NaiveDate,
    pub estimate: Option<Estimate>,
}

/// A level held over a stretch of periods (a change-point segment).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub periods: Vec<Period>,
    pub steps: Vec<Step>,
}

/// A dated event: a dashed vertical line with a short label.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub date: NaiveDate,
    pub label: String,
}

/// Interface words the drawing itself needs, in the chart's language.
#[derive(Debug, Clone, PartialEq)]
pub struct Words {
    pub months: [&'static str; 12],
    pub decimal_comma: bool,
    /// "Events" before the numbered key of small multiples.
    pub events: &'static str,
    /// Shown where a chart has nothing to draw.
    pub no_data: &'static str,
}

impl Words {
    pub const EN: Words = Words {
        months: [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ],
        decimal_comma: false,
        events: "Events",
        no_data: "No figures to show for this selection",
    };
    pub const RU: Words = Words {
        months: [
            "янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
        ],
        decimal_comma: true,
        events: "События",
        no_data: "Для этого выбора нет показателей",
    };
}

/// A time-series chart, worded and in display units.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesChart {
    pub title: String,
    pub subtitle: String,
    pub unit: Unit,
    pub lines: Vec<Line>,
    pub markers: Vec<Marker>,
    pub footnote: String,
    pub words: Words,
}

/// One row of a shift chart: an event (and group) with its difference.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftRow {
    /// The event's label, and its date as shown.
    pub label: String,
    pub date: String,
    /// The group's name under a breakdown, else empty.
    pub group: String,
    /// None: withheld (too few answers, or the after window is not over); the
    /// reason is then in `note`.
    pub difference: Option<Estimate>,
    pub p: Option<f64>,
    pub note: String,
}

/// Before/after differences at each event, in display units.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftChart {
    pub title: String,
    pub subtitle: String,
    /// "pts" or "п.п." after a difference; empty for scale units.
    pub unit_suffix: String,
    pub rows: Vec<ShiftRow>,
    pub footnote: String,
    pub words: Words,
}
