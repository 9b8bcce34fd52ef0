//! Charts of the analysis service's figures: the series (or shifts) a query
//! asks for, worded in the reader's language as a `plot` model. The same
//! figures as the JSON: public charts show perturbed figures of completed
//! days, tokens exact ones.

use std::collections::HashMap;

use chrono::{Duration, Months, NaiveDate};

use crate::analysis::changepoints;
use crate::analysis::params::{Interval, Metric, SeriesSpec};
use crate::analysis::series::Series;
use crate::analysis::service::{Reader, ShiftFigures};
use crate::db::events::Event;
use crate::db::surveys::Wave;
use crate::db::{DbConnection, events};
use crate::error::{AppError, AppResult, Detail};
use crate::plot::{
    Estimate, Line, Marker, Period, SeriesChart, ShiftChart, ShiftRow, Size, Step, Unit, Words,
};
use crate::survey::{Lang, QuestionKind, Survey};

/// Chart parameters beside the series ones.
pub const PARAMS: &[&str] = &["lang", "width", "height", "events", "changes"];

/// Shift-chart parameters beside the shift ones.
pub const SHIFT_PARAMS: &[&str] = &["lang", "width", "height"];

/// How to draw: language, size, and what to mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub lang: Lang,
    pub size: Size,
    /// The height was asked for (else a shift chart takes its natural one).
    pub fixed_height: bool,
    pub events: bool,
    pub changes: bool,
}

impl Look {
    /// Reads `lang`, `width`, `height` (clamped to the allowed sizes),
    /// `events` and `changes`, naming each problem.
    pub fn parse(query: &HashMap<String, String>, default_lang: Lang) -> Result<Look, Vec<Detail>> {
        let mut problems = Vec::new();
        let lang = match query.get("lang") {
            None => default_lang,
            Some(l) => Lang::parse(l).unwrap_or_else(|| {
                problems.push(Detail::field("lang", "invalid", "lang is ru or en"));
                default_lang
            }),
        };
        let mut dimension = |name: &str, default: u32| match query.get(name) {
            None => default,
            Some(v) => v.parse::<u32>().unwrap_or_else(|_| {
                problems.push(Detail::field(
                    name,
                    "invalid",
                    format!(
                        "{name} is a whole number of pixels ({}–{})",
                        Size::MIN,
                        Size::MAX
                    ),
                ));
                default
            }),
        };
        let width = dimension("width", Size::DEFAULT.width);
        let height = dimension("height", Size::DEFAULT.height);
        let mut flag = |name: &str, default: bool| match query.get(name).map(String::as_str) {
            None => default,
            Some("true") => true,
            Some("false") => false,
            Some(_) => {
                problems.push(Detail::field(
                    name,
                    "invalid",
                    format!("{name} is true or false"),
                ));
                default
            }
        };
        let events = flag("events", true);
        let changes = flag("changes", false);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Look {
            lang,
            size: Size::clamped(width, height),
            fixed_height: query.contains_key("height"),
            events,
            changes,
        })
    }
}

pub fn words(lang: Lang) -> Words {
    match lang {
        Lang::Ru => Words::RU,
        Lang::En => Words::EN,
    }
}

/// A drawn series chart and what the page around it says.
pub struct SeriesPicture {
    pub spec: SeriesSpec,
    pub chart: SeriesChart,
    /// The latest value and the change over the range, for `alt`.
    pub alt: String,
    pub data_version: i64,
}

/// The day after a period's last day.
pub fn period_end(interval: Interval, start: NaiveDate, waves: &[Wave]) -> NaiveDate {
    match interval {
        Interval::Day => start + Duration::days(1),
        Interval::Week => start + Duration::days(7),
        Interval::Month => start.checked_add_months(Months::new(1)).unwrap_or(start),
        Interval::Wave => waves
            .iter()
            .find(|w| w.opens == start)
            .map(|w| w.closes + Duration::days(1))
            .unwrap_or(start + Duration::days(1)),
    }
}

pub fn unit(spec: &SeriesSpec) -> Unit {
    match spec.metric {
        Metric::Mean => {
            let scale = spec.question.scale.as_ref();
            Unit::Scale {
                min: scale.map_or(0.0, |s| s.min as f64),
                max: scale.map_or(1.0, |s| s.max as f64),
            }
        }
        Metric::Net => Unit::Points,
        _ => Unit::Percent,
    }
}

/// The group's name in `lang` ("" for everyone).
pub fn group_label(spec: &SeriesSpec, code: &str, lang: Lang) -> String {
    spec.by
        .as_ref()
        .and_then(|q| q.option(code))
        .map(|o| o.label.get(lang).to_string())
        .unwrap_or_default()
}

fn or_list(values: &[i32], lang: Lang) -> String {
    let words: Vec<String> = values.iter().map(i32::to_string).collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            let or = if lang == Lang::Ru { "или" } else { "or" };
            format!("{} {or} {last}", rest.join(", "))
        }
        _ => words.join(""),
    }
}

/// What the numbers are, in a phrase: "Share answering 4 or 5 on the 1–5 scale".
pub fn measure_phrase(spec: &SeriesSpec, lang: Lang) -> String {
    let q = &spec.question;
    let (min, max) = q.scale.as_ref().map_or((0, 0), |s| (s.min, s.max));
    let positive = q
        .scale
        .as_ref()
        .map(|s| s.positive_values())
        .unwrap_or_default();
    let negative = q
        .scale
        .as_ref()
        .map(|s| s.negative_values())
        .unwrap_or_default();
    let option = spec
        .option
        .as_deref()
        .and_then(|o| q.option(o))
        .map(|o| o.label.get(lang).to_string())
        .unwrap_or_default();
    match (spec.metric, lang) {
        (Metric::Mean, Lang::En) => format!("Mean answer on the {min}–{max} scale"),
        (Metric::Mean, Lang::Ru) => format!("Средний ответ по шкале {min}–{max}"),
        (Metric::Top2, Lang::En) => format!(
            "Share answering {} on the {min}–{max} scale",
            or_list(&positive, lang)
        ),
        (Metric::Top2, Lang::Ru) => format!(
            "Доля ответивших {} по шкале {min}–{max}",
            or_list(&positive, lang)
        ),
        (Metric::Bottom2, Lang::En) => format!(
            "Share answering {} on the {min}–{max} scale",
            or_list(&negative, lang)
        ),
        (Metric::Bottom2, Lang::Ru) => format!(
            "Доля ответивших {} по шкале {min}–{max}",
            or_list(&negative, lang)
        ),
        (Metric::Net, Lang::En) => "Net: top-2 share minus bottom-2 share, points".to_string(),
        (Metric::Net, Lang::Ru) => "Баланс: доля высших оценок минус доля низших, п.п.".to_string(),
        (Metric::Share, Lang::En) if q.kind == QuestionKind::MultiChoice => {
            format!("Share choosing “{option}” among those who answered")
        }
        (Metric::Share, Lang::Ru) if q.kind == QuestionKind::MultiChoice => {
            format!("Доля выбравших «{option}» среди ответивших")
        }
        (Metric::Share, Lang::En) => format!("Share answering “{option}”"),
        (Metric::Share, Lang::Ru) => format!("Доля ответивших «{option}»"),
    }
}

/// "…, by answer to “Where do you live?”; weighted (raked to the targets); monthly".
pub fn subtitle(spec: &SeriesSpec, raked: bool, lang: Lang) -> String {
    let mut parts = vec![measure_phrase(spec, lang)];
    if let Some(by) = &spec.by {
        parts[0] = match lang {
            Lang::En => format!("{}, by “{}”", parts[0], by.prompt.get(lang)),
            Lang::Ru => format!("{}, в разрезе «{}»", parts[0], by.prompt.get(lang)),
        };
    }
    parts.push(
        match (spec.weighted && raked, lang) {
            (true, Lang::En) => "weighted (raked to population targets)",
            (true, Lang::Ru) => "взвешено (перевзвешивание к целевым долям населения)",
            (false, Lang::En) => "unweighted",
            (false, Lang::Ru) => "без перевзвешивания",
        }
        .to_string(),
    );
    let interval = match (spec.interval, lang) {
        (Interval::Day, Lang::En) => "daily",
        (Interval::Week, Lang::En) => "weekly",
        (Interval::Month, Lang::En) => "monthly",
        (Interval::Wave, Lang::En) => "by wave",
        (Interval::Day, Lang::Ru) => "по дням",
        (Interval::Week, Lang::Ru) => "по неделям",
        (Interval::Month, Lang::Ru) => "по месяцам",
        (Interval::Wave, Lang::Ru) => "по волнам",
    };
    let smooth = match (spec.smooth, lang) {
        (0 | 1, _) => String::new(),
        (n, Lang::En) => format!(", rolling over {n} periods"),
        (n, Lang::Ru) => format!(", скользящее по {n} периодам"),
    };
    parts.push(format!("{interval}{smooth}"));
    parts.join("; ")
}

/// Source, n range, what the bands are, the small-cell rule, and whether the
/// figures are perturbed or synthetic.
pub fn footnote(
    survey: &Survey,
    n_range: Option<(i64, i64)>,
    min_cell: u32,
    public: bool,
    lang: Lang,
    bands: &str,
) -> String {
    let slug = &survey.definition.slug;
    let mut parts = Vec::new();
    match lang {
        Lang::En => {
            let synthetic = if survey.synthetic {
                " (synthetic demo data)"
            } else {
                ""
            };
            parts.push(format!("Source: trustpulse survey {slug}{synthetic}."));
            if let Some((lo, hi)) = n_range {
                parts.push(format!("n per point {lo}–{hi}."));
            }
            parts.push(format!(
                "{bands} 95% intervals: sampling variation of an opt-in sample, not self-selection. Cells under {min_cell} responses are not shown."
            ));
            if public {
                parts.push("Public figures: perturbed, completed days only.".into());
            } else {
                parts.push("Exact figures (researcher access), today included.".into());
            }
        }
        Lang::Ru => {
            let synthetic = if survey.synthetic {
                " (синтетические демонстрационные данные)"
            } else {
                ""
            };
            parts.push(format!("Источник: опрос trustpulse {slug}{synthetic}."));
            if let Some((lo, hi)) = n_range {
                parts.push(format!("n в точке {lo}–{hi}."));
            }
            parts.push(format!(
                "{bands} 95% интервалы: случайная ошибка добровольной выборки, не самоотбор. Ячейки меньше {min_cell} ответов не показаны."
            ));
            if public {
                parts.push(
                    "Публичные показатели: с внесённым шумом, только завершённые дни.".into(),
                );
            } else {
                parts.push("Точные показатели (доступ исследователя), включая сегодня.".into());
            }
        }
    }
    parts.join(" ")
}

fn estimate(value: Option<f64>, low: Option<f64>, high: Option<f64>) -> Option<Estimate> {
    let value = value?;
    Some(Estimate {
        value,
        low: low.unwrap_or(value),
        high: high.unwrap_or(value),
    })
}

/// The markers of `events` in `lang`.
pub fn markers(events: &[Event], lang: Lang) -> Vec<Marker> {
    events
        .iter()
        .map(|e| Marker {
            date: e.event_date,
            label: match lang {
                Lang::Ru => e.label_ru.clone(),
                Lang::En => e.label_en.clone(),
            },
        })
        .collect()
}

/// The series chart of `series` as `look` asks.
pub fn series_chart(
    reader: &Reader,
    spec: &SeriesSpec,
    series: &Series,
    events: &[Event],
    look: &Look,
) -> SeriesChart {
    let lang = look.lang;
    let waves = &reader.loaded.waves;
    let steps: HashMap<String, Vec<Step>> = if look.changes {
        changepoints::compute(series, spec, reader.min_cell, &reader.audience)
            .into_iter()
            .map(|g| {
                let steps = g
                    .segments
                    .iter()
                    .filter_map(|s| {
                        Some(Step {
                            start: s.start,
                            end: period_end(spec.interval, s.end, waves),
                            value: s.value?,
                        })
                    })
                    .collect();
                (g.group, steps)
            })
            .collect()
    } else {
        HashMap::new()
    };
    let lines = series
        .groups
        .iter()
        .map(|group| {
            let mut periods: Vec<Period> = series
                .points
                .iter()
                .filter(|p| &p.group == group)
                .map(|p| Period {
                    start: p.period_start,
                    end: period_end(spec.interval, p.period_start, waves),
                    estimate: if p.suppressed {
                        None
                    } else {
                        estimate(p.value, p.ci_low, p.ci_high)
                    },
                })
                .collect();
            periods.sort_by_key(|p| p.start);
            Line {
                label: group_label(spec, group, lang),
                periods,
                steps: steps.get(group).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let shown = series
        .points
        .iter()
        .filter(|p| !p.suppressed && p.value.is_some());
    let n_range = shown
        .filter_map(|p| p.n)
        .fold(None, |acc: Option<(i64, i64)>, n| {
            Some(acc.map_or((n, n), |(lo, hi)| (lo.min(n), hi.max(n))))
        });
    let bands = match lang {
        Lang::En => "Bands:",
        Lang::Ru => "Полосы:",
    };
    SeriesChart {
        title: spec.question.prompt.get(lang).to_string(),
        subtitle: subtitle(spec, series.weighted, lang),
        unit: unit(spec),
        lines,
        markers: if look.events {
            markers(events, lang)
        } else {
            Vec::new()
        },
        footnote: footnote(
            &reader.loaded.survey,
            n_range,
            reader.min_cell,
            reader.audience.is_public(),
            lang,
            bands,
        ),
        words: words(lang),
    }
}

/// The chart's `alt` text: per line its latest value and its change since
/// the first shown period.
pub fn alt_text(chart: &SeriesChart, lang: Lang) -> String {
    let w = &chart.words;
    let mut parts = vec![format!("{}. {}.", chart.title, chart.subtitle)];
    for line in &chart.lines {
        let shown: Vec<(NaiveDate, f64)> = line
            .periods
            .iter()
            .filter_map(|p| Some((p.start, p.estimate?.value)))
            .collect();
        let (Some(&(first, a)), Some(&(last, b))) = (shown.first(), shown.last()) else {
            continue;
        };
        let name = if line.label.is_empty() {
            String::new()
        } else {
            format!("{}: ", line.label)
        };
        let value = crate::plot::format::value(b, chart.unit, w);
        let change = crate::plot::format::signed(b - a, 1, w);
        let when = |d: NaiveDate| crate::plot::format::month(d, w);
        parts.push(match lang {
            Lang::En => format!(
                "{name}latest {value} ({}), {change} since {}.",
                when(last),
                when(first)
            ),
            Lang::Ru => format!(
                "{name}последнее значение {value} ({}), изменение {change} с {}.",
                when(last),
                when(first)
            ),
        });
    }
    parts.join(" ")
}

/// The series picture a chart query asks for.
pub fn series_picture(
    reader: &Reader,
    conn: &mut DbConnection,
    query: &HashMap<String, String>,
) -> AppResult<(SeriesPicture, Look)> {
    let look = Look::parse(query, reader.loaded.survey.definition.default_lang);
    let series = reader.series_with(conn, query, PARAMS);
    let (look, (spec, series)) = combine(look, series)?;
    let events = if look.events {
        events::list(conn)?
    } else {
        Vec::new()
    };
    let chart = series_chart(reader, &spec, &series, &events, &look);
    Ok((
        SeriesPicture {
            alt: alt_text(&chart, look.lang),
            spec,
            chart,
            data_version: series.data_version,
        },
        look,
    ))
}

/// Both results, or every problem of both.
fn combine<T>(look: Result<Look, Vec<Detail>>, other: AppResult<T>) -> AppResult<(Look, T)> {
    match (look, other) {
        (Ok(look), Ok(other)) => Ok((look, other)),
        (look, other) => {
            let mut details = match other {
                Err(AppError::Invalid { details, .. }) => details,
                Err(e) => return Err(e),
                Ok(_) => Vec::new(),
            };
            details.extend(look.err().unwrap_or_default());
            Err(AppError::invalid(
                "the parameters do not fit this survey",
                details,
            ))
        }
    }
}

/// The shift chart of a query's shifts.
pub fn shift_chart(reader: &Reader, figures: &ShiftFigures, lang: Lang) -> ShiftChart {
    let spec = &figures.spec;
    let w = words(lang);
    let window = figures.request.window_days;
    let rows = figures
        .shifts
        .iter()
        .map(|s| {
            let label = s
                .event
                .as_ref()
                .map(|e| match lang {
                    Lang::Ru => e.label_ru.clone(),
                    Lang::En => e.label_en.clone(),
                })
                .unwrap_or_default();
            let note = match (s.pending, s.suppressed, lang) {
                (true, _, Lang::En) => "pending: the after window has not ended".to_string(),
                (true, _, Lang::Ru) => "ещё рано: период «после» не закончился".to_string(),
                (_, true, Lang::En) => format!("withheld: under {} responses", reader.min_cell),
                (_, true, Lang::Ru) => format!("скрыто: меньше {} ответов", reader.min_cell),
                (_, _, Lang::En) => "no interval: too little variation".to_string(),
                (_, _, Lang::Ru) => "нет интервала: мало разброса".to_string(),
            };
            let difference = if s.suppressed || s.pending {
                None
            } else {
                s.difference
                    .zip(s.ci_low.zip(s.ci_high))
                    .map(|(d, (lo, hi))| Estimate {
                        value: d,
                        low: lo,
                        high: hi,
                    })
            };
            ShiftRow {
                label,
                date: format!("{}", s.date.format("%Y-%m-%d")),
                group: group_label(spec, &s.group, lang),
                difference,
                p: s.p,
                note,
            }
        })
        .collect();
    let prompt = spec.question.prompt.get(lang);
    let (title, subtitle, suffix, bands) = match lang {
        Lang::En => (
            format!("Shifts around events: {prompt}"),
            format!(
                "Change in: {}; {window} days after vs {window} days before, with 95% intervals",
                measure_phrase(spec, lang).to_lowercase()
            ),
            if spec.metric == Metric::Mean {
                ""
            } else {
                " pts"
            },
            "Whiskers:",
        ),
        Lang::Ru => (
            format!("Сдвиги вокруг событий: {prompt}"),
            format!(
                "Изменение: {}; {window} дней после против {window} дней до, с 95% интервалами",
                measure_phrase(spec, lang).to_lowercase()
            ),
            if spec.metric == Metric::Mean {
                ""
            } else {
                " п.п."
            },
            "Усы:",
        ),
    };
    let mut footnote = footnote(
        &reader.loaded.survey,
        None,
        reader.min_cell,
        reader.audience.is_public(),
        lang,
        bands,
    );
    footnote.push_str(match lang {
        Lang::En => " p-values per event, not adjusted for multiple comparisons.",
        Lang::Ru => " p-значения по каждому событию, без поправки на множественные сравнения.",
    });
    ShiftChart {
        title,
        subtitle,
        unit_suffix: suffix.to_string(),
        rows,
        footnote,
        words: w,
    }
}

/// The shift chart a query asks for, with how to draw it and its data version.
pub fn shift_picture(
    reader: &Reader,
    conn: &mut DbConnection,
    query: &HashMap<String, String>,
) -> AppResult<(ShiftChart, Look, i64)> {
    let look = Look::parse(query, reader.loaded.survey.definition.default_lang);
    // Events and change points mean nothing on a shift chart: refused, as
    // by the shifts endpoint.
    let figures = reader.shift_figures(conn, query, SHIFT_PARAMS);
    let (mut look, figures) = combine(look, figures)?;
    let chart = shift_chart(reader, &figures, look.lang);
    if !look.fixed_height {
        let height = crate::plot::shifts::natural_height(&chart, look.size.width);
        look.size = Size::clamped(look.size.width, height);
    }
    Ok((chart, look, figures.data_version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::Marker;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn chart_parameters_are_bounded_and_every_problem_named() {
        let look = Look::parse(&query(&[("width", "99999"), ("height", "1")]), Lang::Ru).unwrap();
        assert_eq!((look.size.width, look.size.height), (Size::MAX, Size::MIN));
        assert!(look.fixed_height && look.events && !look.changes);
        assert_eq!(look.lang, Lang::Ru);
        let problems = Look::parse(
            &query(&[
                ("width", "-3"),
                ("lang", "de"),
                ("events", "yes"),
                ("changes", "1"),
            ]),
            Lang::En,
        )
        .unwrap_err();
        let fields: Vec<_> = problems.iter().filter_map(|d| d.field.clone()).collect();
        assert_eq!(fields, vec!["lang", "width", "events", "changes"]);
    }

    #[test]
    fn periods_end_where_the_next_begins() {
        assert_eq!(
            period_end(Interval::Month, day(2023, 12, 1), &[]),
            day(2024, 1, 1)
        );
        assert_eq!(
            period_end(Interval::Week, day(2024, 1, 1), &[]),
            day(2024, 1, 8)
        );
        assert_eq!(
            period_end(Interval::Day, day(2024, 2, 28), &[]),
            day(2024, 2, 29)
        );
        let waves = [Wave {
            id: 1,
            label: "W1".into(),
            opens: day(2024, 3, 1),
            closes: day(2024, 3, 14),
        }];
        assert_eq!(
            period_end(Interval::Wave, day(2024, 3, 1), &waves),
            day(2024, 3, 15)
        );
    }

    #[test]
    fn the_alt_text_gives_each_lines_latest_value_and_change() {
        let period = |m, v: Option<f64>| Period {
            start: day(2023, m, 1),
            end: day(2023, m + 1, 1),
            estimate: v.map(|value| Estimate {
                value,
                low: value - 3.0,
                high: value + 3.0,
            }),
        };
        let chart = SeriesChart {
            title: "Trust".into(),
            subtitle: "Share answering 4 or 5".into(),
            unit: Unit::Percent,
            lines: vec![
                Line {
                    label: "Villages".into(),
                    periods: vec![
                        period(1, Some(51.0)),
                        period(2, Some(40.0)),
                        period(3, None),
                    ],
                    steps: Vec::new(),
                },
                Line {
                    label: "Towns".into(),
                    periods: vec![period(1, None)],
                    steps: Vec::new(),
                },
            ],
            markers: vec![Marker {
                date: day(2023, 2, 10),
                label: "Law".into(),
            }],
            footnote: String::new(),
            words: Words::EN,
        };
        assert_eq!(
            alt_text(&chart, Lang::En),
            "Trust. Share answering 4 or 5. Villages: latest 40% (Feb 2023), \u{2212}11.0 since Jan 2023."
        );
    }
}
