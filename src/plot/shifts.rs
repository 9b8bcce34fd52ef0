//! The shift chart: each event's before/after difference as a dot with its
//! 95% interval, events top to bottom in date order, a zero line, the
//! difference and p beside each; colour says p < 0.05.

use crate::plot::format;
use crate::plot::scene::{Anchor, FAINT, Font, GRID, INK, MUTED, Scene, Shape};
use crate::plot::{Format, ShiftChart, Size};

const CLEAR: (u8, u8, u8) = (213, 94, 0); // vermillion: p < 0.05
const UNCLEAR: (u8, u8, u8) = (0, 114, 178); // blue

pub fn render(chart: &ShiftChart, size: Size, format: Format) -> Vec<u8> {
    layout(chart, size).render(format)
}

/// Ticks for a range that includes zero: a 1–2–5 step giving 4 to 8 ticks.
pub fn ticks(low: f64, high: f64) -> Vec<f64> {
    let (low, high) = (low.min(0.0), high.max(0.0));
    let span = (high - low).max(1e-9);
    let magnitude = 10f64.powf((span / 5.0).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= 7.0)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).floor() as i64;
    let last = (high / step).ceil() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// The height `chart` takes at `width` with its rows at their full height.
pub fn natural_height(chart: &ShiftChart, width: u32) -> u32 {
    let tall = Size {
        width,
        height: Size::MAX * 4,
    };
    let (_, used) = layout_measured(chart, tall);
    used.ceil() as u32
}

pub fn layout(chart: &ShiftChart, size: Size) -> Scene {
    layout_measured(chart, size).0
}

/// The scene and the height its content takes.
fn layout_measured(chart: &ShiftChart, size: Size) -> (Scene, f64) {
    let s = (size.width as f64 / 1100.0).clamp(0.72, 1.6);
    let (title, subtitle) = (Font::bold(21.0 * s), Font::regular(15.0 * s));
    let (label, small, tick) = (
        Font::regular(13.0 * s),
        Font::regular(11.5 * s),
        Font::regular(13.0 * s),
    );
    let margin = (22.0 * s).round();
    let (width, height) = (size.width as f64, size.height as f64);
    let inner = width - 2.0 * margin;
    let mut scene = Scene::new(size.width, size.height);
    scene.title = chart.title.clone();

    let mut y = margin;
    for (text, font, color) in [
        (&chart.title, title, INK),
        (&chart.subtitle, subtitle, MUTED),
    ] {
        for line in font.wrap(text, inner) {
            scene.text(line, (margin, y + font.line_height() / 2.0), font, color);
            y += font.line_height();
        }
        y += 4.0;
    }
    y += 10.0;
    // Below the rows: the axis' labels, then the footnote.
    let footnote = small.wrap(&chart.footnote, inner);
    let below = tick.line_height() + 8.0 + small.line_height() * (footnote.len() as f64 + 1.0);
    let bottom = height - margin * 0.7 - below;

    if chart.rows.is_empty() {
        scene.text_anchored(
            chart.words.no_data,
            (width / 2.0, (y + bottom) / 2.0),
            subtitle,
            MUTED,
            Anchor::Center,
        );
        return (scene, height);
    }

    let texts: Vec<String> = chart
        .rows
        .iter()
        .map(|r| match (&r.difference, r.p) {
            (Some(d), Some(p)) => format!(
                "{}{} ({})",
                format::signed(d.value, 1, &chart.words),
                chart.unit_suffix,
                format::p_value(p, &chart.words)
            ),
            (Some(d), None) => format!(
                "{}{}",
                format::signed(d.value, 1, &chart.words),
                chart.unit_suffix
            ),
            (None, _) => r.note.clone(),
        })
        .collect();
    let label_column = (inner * 0.36).min(
        chart
            .rows
            .iter()
            .flat_map(|r| {
                [
                    label.width(&r.label),
                    label.width(&r.date),
                    label.width(&r.group),
                ]
            })
            .fold(0.0, f64::max)
            + 12.0,
    );
    let value_column = texts.iter().map(|t| label.width(t)).fold(0.0, f64::max) + 12.0;
    let left = margin + label_column + 10.0;
    let right = (width - margin - value_column).max(left + 50.0);

    let lows = chart
        .rows
        .iter()
        .filter_map(|r| r.difference.map(|d| d.low));
    let highs = chart
        .rows
        .iter()
        .filter_map(|r| r.difference.map(|d| d.high));
    let ticks = ticks(lows.fold(0.0, f64::min), highs.fold(0.0, f64::max));
    let (x_min, x_max) = (ticks[0], ticks[ticks.len() - 1]);
    let x = |v: f64| left + (right - left) * (v - x_min) / (x_max - x_min).max(1e-9);

    let row_height = ((bottom - y) / chart.rows.len() as f64).min(label.line_height() * 4.0);
    let bottom = y + row_height * chart.rows.len() as f64;
    let mut foot = bottom + tick.line_height() + 8.0 + small.line_height();
    for line in footnote {
        scene.text(
            line,
            (margin, foot + small.line_height() / 2.0),
            small,
            FAINT,
        );
        foot += small.line_height();
    }
    for &v in &ticks {
        let at = x(v).round() + 0.5;
        let zero = v.abs() < 1e-9;
        scene.line((at, y), (at, bottom), if zero { INK } else { GRID }, 1);
        scene.text_anchored(
            format::signed(v, if v.fract().abs() > 1e-9 { 1 } else { 0 }, &chart.words),
            (at, bottom + 6.0 + tick.line_height() / 2.0),
            tick,
            INK,
            Anchor::Center,
        );
    }
    scene.line(
        (left, bottom + 0.5),
        (right, bottom + 0.5),
        (120, 120, 120),
        1,
    );

    for (i, (row, text)) in chart.rows.iter().zip(&texts).enumerate() {
        let mid = y + row_height * (i as f64 + 0.5);
        let mut lines = vec![label.fit(&row.label, label_column)];
        if !row.group.is_empty() {
            lines.push(label.fit(&row.group, label_column));
        }
        lines.push(row.date.clone());
        let first = mid - (lines.len() as f64 - 1.0) * label.line_height() / 2.0;
        for (k, line) in lines.into_iter().enumerate() {
            scene.text_anchored(
                line,
                (left - 10.0, first + k as f64 * label.line_height()),
                label,
                if k == 0 { INK } else { MUTED },
                Anchor::Right,
            );
        }
        match row.difference {
            Some(d) => {
                let color = if row.p.is_some_and(|p| p < 0.05) {
                    CLEAR
                } else {
                    UNCLEAR
                };
                scene.push(Shape::Path {
                    color,
                    opacity: 1.0,
                    width: ((3.0 * s).round() as u32).max(2),
                    points: vec![(x(d.low), mid), (x(d.high), mid)],
                });
                scene.push(Shape::Dot {
                    color,
                    at: (x(d.value), mid),
                    radius: 6.0 * s,
                });
                scene.text(text.clone(), (x(d.high) + 10.0, mid), label, color);
            }
            None => scene.text(text.clone(), (x(0.0) + 10.0, mid), label, FAINT),
        }
    }
    (scene, foot + margin * 0.7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::{Estimate, ShiftRow, Words};

    #[test]
    fn ticks_include_zero_and_cover_the_range() {
        let t = ticks(-30.1, 5.2);
        assert!(t.contains(&0.0));
        assert!(t[0] <= -30.1 && *t.last().unwrap() >= 5.2, "{t:?}");
        assert!(t.len() <= 9);
        let t = ticks(0.05, 0.32);
        assert_eq!(t[0], 0.0);
        assert!(*t.last().unwrap() >= 0.32);
    }

    #[test]
    fn withheld_rows_say_why_and_draw_no_dot() {
        let chart = ShiftChart {
            title: "Shifts".into(),
            subtitle: "".into(),
            unit_suffix: " pts".into(),
            rows: vec![
                ShiftRow {
                    label: "Law signed".into(),
                    date: "2023-04-14".into(),
                    group: String::new(),
                    difference: Some(Estimate {
                        value: -23.3,
                        low: -30.0,
                        high: -16.6,
                    }),
                    p: Some(0.0001),
                    note: String::new(),
                },
                ShiftRow {
                    label: "Election".into(),
                    date: "2024-03-17".into(),
                    group: String::new(),
                    difference: None,
                    p: None,
                    note: "withheld: fewer than 30 answers".into(),
                },
            ],
            footnote: "Source: demo.".into(),
            words: Words::EN,
        };
        let scene = layout(&chart, Size::DEFAULT);
        let dots = scene
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Dot { .. }))
            .count();
        assert_eq!(dots, 1);
        let texts: Vec<&str> = scene
            .shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(texts.contains(&"\u{2212}23.3 pts (p < 0.001)"), "{texts:?}");
        assert!(texts.contains(&"withheld: fewer than 30 answers"));
    }
}
