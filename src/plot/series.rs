//! The time-series chart: lines with interval bands, gaps, event markers,
//! labels at the lines' ends; small multiples beyond three groups, where
//! overlapping bands would turn to mud.

use chrono::{Datelike, Months, NaiveDate};

use crate::plot::format;
use crate::plot::scene::{Anchor, CONTEXT, FAINT, Font, GRID, INK, MUTED, Scene, Shape};
use crate::plot::{Estimate, Format, Line, PALETTE, SeriesChart, Size, Unit, Words};

/// Up to this many groups share one panel, each with its band.
pub const MAX_BANDS: usize = 3;
const BAND_OPACITY: f64 = 0.16;

pub fn render(chart: &SeriesChart, size: Size, format: Format) -> Vec<u8> {
    layout(chart, size).render(format)
}

/// Font sizes and spacing for a picture size: text stays readable on a
/// phone-sized picture and does not look lost on a large one.
struct Type {
    title: Font,
    subtitle: Font,
    label: Font,
    tick: Font,
    small: Font,
    margin: f64,
    line: u32,
}

impl Type {
    fn for_size(size: Size) -> Type {
        let s = (size.width as f64 / 1100.0).clamp(0.72, 1.6);
        // Floors keep a phone-sized picture legible when shown at its size.
        Type {
            title: Font::bold((21.0 * s).max(16.0)),
            subtitle: Font::regular((15.0 * s).max(12.0)),
            label: Font::bold((14.0 * s).max(12.0)),
            tick: Font::regular((13.0 * s).max(11.0)),
            small: Font::regular((11.5 * s).max(10.0)),
            margin: (22.0 * s).round(),
            line: ((2.4 * s).round() as u32).max(2),
        }
    }
}

/// The chart's y axis: its range and ticks in display units.
#[derive(Debug, Clone, PartialEq)]
pub struct YAxis {
    pub min: f64,
    pub max: f64,
    pub step: f64,
}

impl YAxis {
    /// From the scale's floor (0% for shares) so that a fall is not
    /// exaggerated; the top far enough for every interval.
    pub fn for_unit(unit: Unit, estimates: &[Estimate]) -> YAxis {
        let high = estimates.iter().map(|e| e.high).fold(f64::MIN, f64::max);
        let low = estimates.iter().map(|e| e.low).fold(f64::MAX, f64::min);
        match unit {
            Unit::Percent => {
                let high = if estimates.is_empty() { 100.0 } else { high };
                let step = if high <= 40.0 { 10.0 } else { 20.0 };
                let max = ((high / step).ceil() * step).clamp(step, 100.0);
                YAxis {
                    min: 0.0,
                    max,
                    step,
                }
            }
            Unit::Points => {
                let (low, high) = if estimates.is_empty() {
                    (-100.0, 100.0)
                } else {
                    (low.min(0.0), high.max(0.0))
                };
                let step = if high - low <= 60.0 { 10.0 } else { 20.0 };
                YAxis {
                    min: ((low / step).floor() * step).max(-100.0),
                    max: ((high / step).ceil() * step).min(100.0),
                    step,
                }
            }
            Unit::Scale { min, max } => YAxis {
                min,
                max,
                step: if max - min <= 10.0 {
                    1.0
                } else {
                    ((max - min) / 5.0).ceil()
                },
            },
        }
    }

    fn ticks(&self) -> Vec<f64> {
        let count = ((self.max - self.min) / self.step).round() as usize;
        (0..=count)
            .map(|i| self.min + self.step * i as f64)
            .collect()
    }
}

/// Maps dates and values to pixels inside one plot area.
#[derive(Debug, Clone, Copy)]
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    first: NaiveDate,
    last: NaiveDate,
    y_min: f64,
    y_max: f64,
}

impl Frame {
    fn x(&self, date: NaiveDate) -> f64 {
        let first = self.first.num_days_from_ce();
        let span = (self.last.num_days_from_ce() - first).max(1) as f64;
        self.left + (self.right - self.left) * (date.num_days_from_ce() - first) as f64 / span
    }

    /// A period's place: its middle.
    fn x_mid(&self, start: NaiveDate, end: NaiveDate) -> f64 {
        (self.x(start) + self.x(end)) / 2.0
    }

    fn y(&self, value: f64) -> f64 {
        let t = (value - self.y_min) / (self.y_max - self.y_min);
        self.bottom - (self.bottom - self.top) * t.clamp(-0.02, 1.02)
    }

    fn contains(&self, date: NaiveDate) -> bool {
        date >= self.first && date <= self.last
    }
}

fn colour(index: usize) -> (u8, u8, u8) {
    PALETTE[index % PALETTE.len()]
}

/// The picture of `chart` at `size`.
pub fn layout(chart: &SeriesChart, size: Size) -> Scene {
    let t = Type::for_size(size);
    let (width, height) = (size.width as f64, size.height as f64);
    let mut scene = Scene::new(size.width, size.height);
    scene.title = chart.title.clone();
    let inner = width - 2.0 * t.margin;

    // Title and subtitle, wrapped.
    let mut y = t.margin;
    for (text, font, color) in [
        (&chart.title, t.title, INK),
        (&chart.subtitle, t.subtitle, MUTED),
    ] {
        for line in font.wrap(text, inner) {
            scene.text(line, (t.margin, y + font.line_height() / 2.0), font, color);
            y += font.line_height();
        }
        y += 4.0;
    }
    y += t.small.line_height() / 2.0;

    // The footnote from the bottom up.
    let footnote = t.small.wrap(&chart.footnote, inner);
    let mut bottom = height - t.margin * 0.7;
    for line in footnote.iter().rev() {
        bottom -= t.small.line_height();
        scene.text(
            line.clone(),
            (t.margin, bottom + t.small.line_height() / 2.0),
            t.small,
            FAINT,
        );
    }
    bottom -= t.small.line_height();

    let estimates: Vec<Estimate> = chart
        .lines
        .iter()
        .flat_map(|l| l.periods.iter().filter_map(|p| p.estimate))
        .collect();
    let first = chart
        .lines
        .iter()
        .flat_map(|l| l.periods.first())
        .map(|p| p.start)
        .min();
    let last = chart
        .lines
        .iter()
        .flat_map(|l| l.periods.last())
        .map(|p| p.end)
        .max();
    let (Some(first), Some(last)) = (first, last) else {
        scene.text_anchored(
            chart.words.no_data,
            (width / 2.0, (y + bottom) / 2.0),
            t.subtitle,
            MUTED,
            Anchor::Center,
        );
        return scene;
    };
    let axis = YAxis::for_unit(chart.unit, &estimates);
    let tick_labels: Vec<String> = axis
        .ticks()
        .iter()
        .map(|&v| format::tick(v, axis.step, chart.unit, &chart.words))
        .collect();
    let axis_width = tick_labels
        .iter()
        .map(|l| t.tick.width(l))
        .fold(0.0, f64::max)
        + 8.0;
    let x_labels_height = t.tick.line_height() + 6.0;
    let frame = |left: f64, right: f64, top: f64, bottom: f64| Frame {
        left,
        right,
        top,
        bottom,
        first,
        last,
        y_min: axis.min,
        y_max: axis.max,
    };

    if chart.lines.len() <= MAX_BANDS {
        let labels: Vec<(usize, String, f64)> = chart
            .lines
            .iter()
            .enumerate()
            .filter_map(|(i, line)| {
                let latest = line.periods.iter().rev().find_map(|p| p.estimate)?;
                let text = if line.label.is_empty() {
                    format::value(latest.value, chart.unit, &chart.words)
                } else {
                    format!(
                        "{} {}",
                        line.label,
                        format::value(latest.value, chart.unit, &chart.words)
                    )
                };
                Some((i, text, latest.value))
            })
            .collect();
        let label_width = labels
            .iter()
            .map(|(_, text, _)| t.label.width(text))
            .fold(0.0, f64::max)
            .min(inner * 0.3);
        let left = t.margin + axis_width;
        let right = width - t.margin - label_width - 10.0;
        let rows = marker_rows(chart, t.small, left, right, first, last);
        let row_count = rows.iter().map(|r| r.row + 1).max().unwrap_or(0);
        let top = y + row_count as f64 * t.small.line_height();
        let plot = frame(left, right, top, bottom - x_labels_height);
        grid(&mut scene, &plot, &axis, &tick_labels, &t, true);
        x_ticks(&mut scene, &plot, &t, &chart.words, true);
        for row in &rows {
            let x = plot.x(row.date);
            scene.push(Shape::Dashed {
                color: (70, 70, 70),
                from: (x, y + row.row as f64 * t.small.line_height()),
                to: (x, plot.bottom),
                dash: 4.0,
            });
            let label_y = y + (row.row as f64 + 0.5) * t.small.line_height();
            let (at, anchor) = if row.left_of_line {
                (x - 4.0, Anchor::Right)
            } else {
                (x + 4.0, Anchor::Left)
            };
            scene.text_anchored(row.text.clone(), (at, label_y), t.small, INK, anchor);
        }
        for (i, line) in chart.lines.iter().enumerate() {
            draw_line(&mut scene, &plot, line, colour(i), t.line, false);
        }
        // End labels: at their lines' latest values, pushed apart to never overlap.
        let wanted: Vec<f64> = labels.iter().map(|(_, _, v)| plot.y(*v)).collect();
        let placed = spread(&wanted, t.label.line_height(), plot.top, plot.bottom);
        for ((i, text, _), y) in labels.iter().zip(placed) {
            // A long group name gives way; its value always shows.
            let text = match text.rsplit_once(' ') {
                Some((name, value)) if t.label.width(text) > label_width => format!(
                    "{} {value}",
                    t.label
                        .fit(name, label_width - t.label.width(&format!(" {value}")))
                ),
                _ => text.clone(),
            };
            scene.text(text, (plot.right + 10.0, y), t.label, colour(*i));
        }
    } else {
        small_multiples(
            &mut scene,
            chart,
            &t,
            &axis,
            &tick_labels,
            axis_width,
            y,
            bottom,
            frame,
            (first, last),
        );
    }
    scene
}

/// The grid and y labels of a frame (`labels`: only the left column shows them).
fn grid(scene: &mut Scene, plot: &Frame, axis: &YAxis, labels: &[String], t: &Type, show: bool) {
    for (v, label) in axis.ticks().iter().zip(labels) {
        let y = plot.y(*v).round() + 0.5;
        let floor = (*v - axis.min).abs() < 1e-9 || v.abs() < 1e-9;
        let color = if floor { (120, 120, 120) } else { GRID };
        scene.line((plot.left, y), (plot.right, y), color, 1);
        if show {
            scene.text_anchored(
                label.clone(),
                (plot.left - 8.0, y),
                t.tick,
                MUTED,
                Anchor::Right,
            );
        }
    }
}

/// Date ticks under a frame: months (or weeks for short ranges), as many as fit.
fn x_ticks(scene: &mut Scene, plot: &Frame, t: &Type, words: &Words, show: bool) {
    let span_days = (plot.last - plot.first).num_days();
    let label_width = t.tick.width("Sep 2024") + 20.0;
    let fit = ((plot.right - plot.left) / label_width).floor().max(1.0) as i64;
    let mut ticks: Vec<(NaiveDate, String)> = Vec::new();
    if span_days < 80 {
        let step = [7, 14, 28]
            .into_iter()
            .find(|s| span_days / s < fit)
            .unwrap_or(28);
        let mut d = plot.first;
        while d <= plot.last {
            let label = format!("{} {}", d.day(), words.months[d.month0() as usize]);
            ticks.push((d, label));
            d += chrono::Duration::days(step);
        }
    } else {
        let months = span_days / 30;
        let step = [1u32, 2, 3, 6, 12, 24, 60]
            .into_iter()
            .find(|s| months / (*s as i64) < fit)
            .unwrap_or(120);
        let mut d =
            NaiveDate::from_ymd_opt(plot.first.year(), plot.first.month(), 1).unwrap_or(plot.first);
        while d <= plot.last {
            let index = d.year() * 12 + d.month0() as i32;
            if d >= plot.first && index % step as i32 == 0 {
                ticks.push((d, format::month(d, words)));
            }
            d = match d.checked_add_months(Months::new(1)) {
                Some(next) => next,
                None => break,
            };
        }
    }
    for (date, label) in ticks {
        let x = plot.x(date).round() + 0.5;
        scene.line((x, plot.bottom), (x, plot.bottom + 4.0), (120, 120, 120), 1);
        if show {
            let y = plot.bottom + 4.0 + t.tick.line_height() / 2.0 + 2.0;
            scene.text_anchored(label, (x, y), t.tick, INK, Anchor::Center);
        }
    }
}

/// One line: a band and a path per unbroken stretch of estimates, a dot
/// with its interval for a lone one, and the change-point steps. A `context`
/// line (the other groups behind a small multiple) is a thin path only,
/// thinned to a point every few pixels: nothing finer can be seen in grey.
fn draw_line(
    scene: &mut Scene,
    plot: &Frame,
    line: &Line,
    color: (u8, u8, u8),
    width: u32,
    context: bool,
) {
    let mut runs: Vec<Vec<(f64, Estimate)>> = Vec::new();
    let mut run: Vec<(f64, Estimate)> = Vec::new();
    for period in &line.periods {
        match period.estimate {
            Some(e) if plot.contains(period.start) => {
                run.push((plot.x_mid(period.start, period.end), e))
            }
            _ => {
                if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
            }
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    if context {
        for run in runs.iter().filter(|r| r.len() > 1) {
            let mut points: Vec<(f64, f64)> = Vec::with_capacity(run.len());
            for (i, (x, e)) in run.iter().enumerate() {
                let last = i + 1 == run.len();
                if last || points.last().is_none_or(|p| x - p.0 >= 3.0) {
                    points.push((*x, plot.y(e.value)));
                }
            }
            scene.push(Shape::Path {
                color,
                opacity: 1.0,
                width: 1,
                points,
            });
        }
        return;
    }
    let opacity = if line.steps.is_empty() { 1.0 } else { 0.45 };
    for run in &runs {
        if let [(x, e)] = run.as_slice() {
            scene.push(Shape::Path {
                color,
                opacity: 0.5,
                width: 1,
                points: vec![(*x, plot.y(e.low)), (*x, plot.y(e.high))],
            });
            scene.push(Shape::Dot {
                color,
                at: (*x, plot.y(e.value)),
                radius: width as f64 + 1.0,
            });
            continue;
        }
        scene.push(Shape::Band {
            color,
            opacity: BAND_OPACITY,
            upper: run.iter().map(|(x, e)| (*x, plot.y(e.high))).collect(),
            lower: run.iter().map(|(x, e)| (*x, plot.y(e.low))).collect(),
        });
        scene.push(Shape::Path {
            color,
            opacity,
            width,
            points: run.iter().map(|(x, e)| (*x, plot.y(e.value))).collect(),
        });
    }
    let mut previous: Option<(f64, f64)> = None;
    for step in &line.steps {
        let (x0, x1, y) = (plot.x(step.start), plot.x(step.end), plot.y(step.value));
        let mut points = Vec::with_capacity(3);
        // Join a step to the one before it when they touch.
        if let Some((px, py)) = previous
            && (px - x0).abs() < 1.0
        {
            points.push((px, py));
        }
        points.extend([(x0, y), (x1, y)]);
        scene.push(Shape::Path {
            color,
            opacity: 1.0,
            width: width + 1,
            points,
        });
        previous = Some((x1, y));
    }
}

/// An event's label placed in the first row where it does not collide.
#[derive(Debug, Clone, PartialEq)]
struct PlacedMarker {
    date: NaiveDate,
    text: String,
    row: usize,
    left_of_line: bool,
}

const MAX_MARKER_ROWS: usize = 5;

/// Event labels in rows above the plot: each in the first free row, to the
/// right of its line, or to the left where it would pass the right edge.
fn marker_rows(
    chart: &SeriesChart,
    font: Font,
    left: f64,
    right: f64,
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<PlacedMarker> {
    let span = (last - first).num_days().max(1) as f64;
    let x = |d: NaiveDate| left + (right - left) * (d - first).num_days() as f64 / span;
    let mut markers: Vec<_> = chart
        .markers
        .iter()
        .filter(|m| m.date >= first && m.date <= last)
        .collect();
    markers.sort_by_key(|m| m.date);
    let mut rows: Vec<Vec<(f64, f64)>> = vec![Vec::new(); MAX_MARKER_ROWS];
    let mut placed = Vec::new();
    for marker in markers {
        let text = font.fit(&marker.label, (right - left) * 0.45);
        let w = font.width(&text);
        let at = x(marker.date);
        let left_of_line = at + 4.0 + w > right;
        let span = if left_of_line {
            (at - 4.0 - w, at)
        } else {
            (at, at + 4.0 + w)
        };
        // A row is free when no label in it comes within 10 px, and no
        // line of an event placed in it crosses this label.
        let free = rows.iter().position(|row| {
            row.iter()
                .all(|&(a, b)| span.1 + 10.0 < a || span.0 > b + 10.0)
        });
        let Some(row) = free else {
            // Out of rows: the dashed line stays, its label is left out.
            placed.push(PlacedMarker {
                date: marker.date,
                text: String::new(),
                row: MAX_MARKER_ROWS - 1,
                left_of_line,
            });
            continue;
        };
        rows[row].push(span);
        placed.push(PlacedMarker {
            date: marker.date,
            text,
            row,
            left_of_line,
        });
    }
    placed
}

/// Positions for labels wanted at `wanted` (pixels), each at least `gap`
/// from the next, kept within `[top, bottom]`, moved as little as possible.
pub fn spread(wanted: &[f64], gap: f64, top: f64, bottom: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by(|&a, &b| wanted[a].total_cmp(&wanted[b]));
    let mut placed: Vec<f64> = order.iter().map(|&i| wanted[i]).collect();
    // Down from the top, then up from the bottom, then centre each cluster.
    for i in 0..placed.len() {
        let floor = if i == 0 {
            top + gap / 2.0
        } else {
            placed[i - 1] + gap
        };
        placed[i] = placed[i].max(floor);
    }
    for i in (0..placed.len()).rev() {
        let ceiling = if i + 1 == placed.len() {
            bottom - gap / 2.0
        } else {
            placed[i + 1] - gap
        };
        placed[i] = placed[i].min(ceiling);
    }
    let mut out = vec![0.0; wanted.len()];
    for (slot, &i) in order.iter().enumerate() {
        out[i] = placed[slot];
    }
    out
}

/// Beyond three groups: one panel per group, its band and line over the
/// others in grey, shared axes; events numbered, with a key above.
#[allow(clippy::too_many_arguments)]
fn small_multiples(
    scene: &mut Scene,
    chart: &SeriesChart,
    t: &Type,
    axis: &YAxis,
    tick_labels: &[String],
    axis_width: f64,
    mut y: f64,
    bottom: f64,
    frame: impl Fn(f64, f64, f64, f64) -> Frame,
    (first, last): (NaiveDate, NaiveDate),
) {
    let (width, inner) = (scene.width as f64, scene.width as f64 - 2.0 * t.margin);
    let mut markers: Vec<_> = chart
        .markers
        .iter()
        .filter(|m| m.date >= first && m.date <= last)
        .collect();
    markers.sort_by_key(|m| m.date);
    if !markers.is_empty() {
        let key = markers
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{} {} ({})", i + 1, m.label, m.date.format("%d.%m.%Y")))
            .collect::<Vec<_>>()
            .join(" · ");
        for line in t
            .small
            .wrap(&format!("{}: {key}", chart.words.events), inner)
        {
            scene.text(
                line,
                (t.margin, y + t.small.line_height() / 2.0),
                t.small,
                INK,
            );
            y += t.small.line_height();
        }
        y += 6.0;
    }
    let n = chart.lines.len();
    let columns = ((inner / 260.0).floor() as usize).clamp(1, 4).min(n);
    let rows = n.div_ceil(columns);
    let gutter = 34.0;
    let cell_width =
        (width - t.margin - axis_width - (columns - 1) as f64 * gutter - t.margin) / columns as f64;
    let header = t.label.line_height() + t.small.line_height();
    let x_labels = t.tick.line_height() + 6.0;
    let cell_height = (bottom - y - (rows - 1) as f64 * 10.0) / rows as f64;
    for (i, line) in chart.lines.iter().enumerate() {
        let (row, column) = (i / columns, i % columns);
        let left = t.margin + axis_width + column as f64 * (cell_width + gutter);
        let top = y + row as f64 * (cell_height + 10.0);
        let below_is_empty = i + columns >= n;
        let plot = frame(
            left,
            left + cell_width,
            top + header,
            top + cell_height - x_labels,
        );
        let latest = line.periods.iter().rev().find_map(|p| p.estimate);
        let title = match latest {
            Some(e) => format!(
                "{} {}",
                line.label,
                format::value(e.value, chart.unit, &chart.words)
            ),
            None => line.label.clone(),
        };
        scene.text(
            t.label.fit(&title, cell_width),
            (left, top + t.label.line_height() / 2.0),
            t.label,
            colour(i),
        );
        grid(scene, &plot, axis, tick_labels, t, column == 0);
        x_ticks(scene, &plot, t, &chart.words, below_is_empty);
        // Numbered event lines; events closer than their numbers share one.
        let mut last_x = f64::MIN;
        let mut group: Vec<String> = Vec::new();
        let mut groups: Vec<(f64, String)> = Vec::new();
        for (k, marker) in markers.iter().enumerate() {
            let x = plot.x(marker.date);
            scene.push(Shape::Dashed {
                color: (110, 110, 110),
                from: (x, plot.top - t.small.line_height() * 0.2),
                to: (x, plot.bottom),
                dash: 3.0,
            });
            if x - last_x > t.small.width("00") + 6.0 && !group.is_empty() {
                groups.push((last_x, group.join(",")));
                group.clear();
            }
            if group.is_empty() {
                last_x = x;
            }
            group.push((k + 1).to_string());
        }
        if !group.is_empty() {
            groups.push((last_x, group.join(",")));
        }
        for (x, numbers) in groups {
            scene.text_anchored(
                numbers,
                (x + 2.0, plot.top - t.small.line_height() * 0.6),
                t.small,
                MUTED,
                Anchor::Left,
            );
        }
        for (j, other) in chart.lines.iter().enumerate() {
            if j != i {
                draw_line(scene, &plot, other, CONTEXT, 1, true);
            }
        }
        draw_line(
            scene,
            &plot,
            line,
            colour(i),
            t.line.saturating_sub(1).max(2),
            false,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::{Marker, Period};

    #[test]
    fn labels_are_spread_apart_and_kept_inside() {
        let placed = spread(&[100.0, 102.0, 300.0], 20.0, 0.0, 400.0);
        assert!(placed[1] - placed[0] >= 20.0 - 1e-9, "{placed:?}");
        assert_eq!(placed[2], 300.0);
        let placed = spread(&[395.0, 398.0], 20.0, 0.0, 400.0);
        assert!(placed.iter().all(|&y| y <= 390.0 + 1e-9), "{placed:?}");
        assert!((placed[1] - placed[0]).abs() >= 20.0 - 1e-9);
    }

    #[test]
    fn axes_start_at_the_floor_of_the_scale() {
        let e = |low, value, high| Estimate { value, low, high };
        let axis = YAxis::for_unit(Unit::Percent, &[e(20.0, 30.0, 61.0)]);
        assert_eq!((axis.min, axis.max, axis.step), (0.0, 80.0, 20.0));
        let axis = YAxis::for_unit(Unit::Percent, &[e(2.0, 5.0, 12.0)]);
        assert_eq!((axis.min, axis.max, axis.step), (0.0, 20.0, 10.0));
        let axis = YAxis::for_unit(Unit::Points, &[e(-35.0, -20.0, 5.0)]);
        assert_eq!((axis.min, axis.max), (-40.0, 10.0));
        let axis = YAxis::for_unit(Unit::Scale { min: 1.0, max: 5.0 }, &[e(2.0, 3.0, 4.0)]);
        assert_eq!(axis.ticks(), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn chart(groups: usize) -> SeriesChart {
        let periods = |g: usize| {
            (0..24)
                .map(|i| {
                    let start = day(2022, 1, 1).checked_add_months(Months::new(i)).unwrap();
                    let end = start.checked_add_months(Months::new(1)).unwrap();
                    let value = 30.0 + g as f64 * 5.0 + (i % 5) as f64;
                    Period {
                        start,
                        end,
                        // A withheld period in the middle: a gap.
                        estimate: (i != 10).then_some(Estimate {
                            value,
                            low: value - 5.0,
                            high: value + 5.0,
                        }),
                    }
                })
                .collect()
        };
        SeriesChart {
            title: "How much do you trust the portal?".into(),
            subtitle: "Share answering 4 or 5".into(),
            unit: Unit::Percent,
            lines: (0..groups)
                .map(|g| Line {
                    label: format!("Group {g}"),
                    periods: periods(g),
                    steps: Vec::new(),
                })
                .collect(),
            markers: vec![
                Marker {
                    date: day(2023, 4, 11),
                    label: "State Duma passes the electronic draft-notice law".into(),
                },
                Marker {
                    date: day(2023, 4, 14),
                    label: "Electronic draft-notice law signed".into(),
                },
            ],
            footnote: "Source: demo.".into(),
            words: Words::EN,
        }
    }

    #[test]
    fn gaps_are_never_bridged() {
        let scene = layout(&chart(1), Size::DEFAULT);
        let paths: Vec<usize> = scene
            .shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Path { points, width, .. } if *width > 1 => Some(points.len()),
                _ => None,
            })
            .collect();
        // 24 months with month 10 withheld: runs of 10 and 13 points.
        assert_eq!(paths, vec![10, 13]);
        let bands = scene
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Band { .. }))
            .count();
        assert_eq!(bands, 2);
    }

    #[test]
    fn close_events_take_different_rows() {
        let c = chart(2);
        let rows = marker_rows(
            &c,
            Font::regular(12.0),
            60.0,
            1000.0,
            day(2022, 1, 1),
            day(2024, 1, 1),
        );
        assert_eq!(rows.len(), 2);
        assert_ne!(rows[0].row, rows[1].row);
        assert!(rows.iter().all(|r| !r.text.is_empty()));
    }

    #[test]
    fn many_groups_become_small_multiples_with_one_band_each() {
        let scene = layout(&chart(8), Size::DEFAULT);
        let bands = scene
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Band { .. }))
            .count();
        assert_eq!(bands, 8 * 2);
        let png = scene.render(Format::Png);
        assert_eq!(&png[1..4], b"PNG");
    }
}
