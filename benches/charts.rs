//! Drawing and encoding charts, without HTTP or the store: the weekly series
//! of 8 groups over 130 weeks (small multiples, a band per panel, gaps,
//! 4 events), the same with 3 groups in one panel, and a shift chart.
//!
//!     cargo bench --bench charts
//!     bash benches/charts.sh        # the same figure in matplotlib, same run
//!
//! Writes the figure's data to $CARGO_TARGET_DIR/charts-fixture.json for
//! benches/charts_matplotlib.py.

use std::hint::black_box;

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use trustpulse::plot::{
    self, Estimate, Format, Line, Marker, Period, SeriesChart, ShiftChart, ShiftRow, Size, Unit,
    Words,
};

const REGIONS: [&str; 8] = [
    "Central",
    "Northwestern",
    "Southern",
    "North Caucasian",
    "Volga",
    "Ural",
    "Siberian",
    "Far Eastern",
];

/// A deterministic weekly series: a level per group, a fall after week 66,
/// wiggles, a band of ±(4..9) points, and a few withheld weeks.
pub fn weekly(groups: usize, weeks: i64) -> SeriesChart {
    let first = NaiveDate::from_ymd_opt(2022, 1, 3).unwrap();
    let lines = (0..groups)
        .map(|g| {
            let periods = (0..weeks)
                .map(|w| {
                    let start = first + Duration::weeks(w);
                    let level = 45.0 + 3.0 * g as f64 - if w > 66 { 18.0 } else { 0.0 };
                    let wiggle = ((w * 7 + g as i64 * 13) % 11) as f64 - 5.0;
                    let half = 4.0 + ((w + g as i64) % 6) as f64;
                    let withheld = (w + 3 * g as i64) % 37 == 0;
                    Period {
                        start,
                        end: start + Duration::weeks(1),
                        estimate: (!withheld).then_some(Estimate {
                            value: level + wiggle,
                            low: level + wiggle - half,
                            high: level + wiggle + half,
                        }),
                    }
                })
                .collect();
            Line {
                label: REGIONS[g % REGIONS.len()].to_string(),
                periods,
                steps: Vec::new(),
            }
        })
        .collect();
    let marker = |y, m, d, label: &str| Marker {
        date: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        label: label.into(),
    };
    SeriesChart {
        title: "How much do you trust the State Services portal with your personal data?".into(),
        subtitle: "Share answering 4 or 5 on the 1–5 scale, by federal district; weighted; weekly"
            .into(),
        unit: Unit::Percent,
        lines,
        markers: vec![
            marker(2022, 9, 21, "Partial mobilisation announced"),
            marker(2023, 4, 11, "State Duma passes the electronic draft-notice law"),
            marker(2023, 4, 14, "Electronic draft-notice law signed"),
            marker(2024, 3, 17, "Presidential election (last voting day)"),
        ],
        footnote: "Source: trustpulse survey digital-trust (synthetic demo data). n per point 57–447. Bands: 95% intervals. Cells under 30 responses are not shown.".into(),
        words: Words::EN,
    }
}

fn shifts() -> ShiftChart {
    let row = |label: &str, date: &str, d: f64, p: f64| ShiftRow {
        label: label.into(),
        date: date.into(),
        group: String::new(),
        difference: Some(Estimate {
            value: d,
            low: d - 7.0,
            high: d + 7.0,
        }),
        p: Some(p),
        note: String::new(),
    };
    ShiftChart {
        title: "Shifts around events".into(),
        subtitle: "Change in the top-2 share, 28 days after vs before".into(),
        unit_suffix: " pts".into(),
        rows: vec![
            row("Partial mobilisation announced", "2022-09-21", -2.4, 0.52),
            row("State Duma passes the law", "2023-04-11", -23.4, 0.0001),
            row("Law signed", "2023-04-14", -23.3, 0.0001),
            row("Presidential election", "2024-03-17", -1.3, 0.71),
        ],
        footnote: "Source: demo.".into(),
        words: Words::EN,
    }
}

/// The figure's data for the matplotlib comparison.
fn write_fixture(chart: &SeriesChart) {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let lines: Vec<_> = chart
        .lines
        .iter()
        .map(|l| {
            json!({"label": l.label, "points": l.periods.iter().map(|p| json!({
                "start": p.start, "end": p.end,
                "value": p.estimate.map(|e| e.value), "low": p.estimate.map(|e| e.low), "high": p.estimate.map(|e| e.high),
            })).collect::<Vec<_>>()})
        })
        .collect();
    let markers: Vec<_> = chart
        .markers
        .iter()
        .map(|m| json!({"date": m.date, "label": m.label}))
        .collect();
    let fixture = json!({"title": chart.title, "subtitle": chart.subtitle, "footnote": chart.footnote, "lines": lines, "markers": markers});
    let path = std::path::Path::new(&dir).join("charts-fixture.json");
    let _ = std::fs::write(&path, serde_json::to_vec(&fixture).unwrap_or_default());
}

fn charts(c: &mut Criterion) {
    let eight = weekly(8, 130);
    let three = weekly(3, 130);
    write_fixture(&eight);
    let size = Size::DEFAULT;
    c.bench_function("png: 8 groups x 130 weeks (small multiples)", |b| {
        b.iter(|| plot::series::render(black_box(&eight), size, Format::Png))
    });
    c.bench_function("svg: 8 groups x 130 weeks (small multiples)", |b| {
        b.iter(|| plot::series::render(black_box(&eight), size, Format::Svg))
    });
    c.bench_function("png: 3 groups x 130 weeks (one panel)", |b| {
        b.iter(|| plot::series::render(black_box(&three), size, Format::Png))
    });
    c.bench_function("svg: 3 groups x 130 weeks (one panel)", |b| {
        b.iter(|| plot::series::render(black_box(&three), size, Format::Svg))
    });
    let shift = shifts();
    c.bench_function("png: shift chart, 4 events", |b| {
        b.iter(|| plot::shifts::render(black_box(&shift), size, Format::Png))
    });
}

criterion_group!(benches, charts);
criterion_main!(benches);
