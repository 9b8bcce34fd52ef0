//! The dashboard's pages, server-rendered without script: the view a query
//! asks for, made to fit what the caller may see, and the page models over
//! askama templates. Pure: the figures come in, HTML goes out.

use std::collections::HashMap;

use askama::Template;
use chrono::NaiveDate;

use crate::analysis::changepoints::GroupChanges;
use crate::analysis::charts::{group_label, words};
use crate::analysis::params::{Interval, MAX_SMOOTH, SeriesSpec};
use crate::analysis::series::Point;
use crate::analysis::shifts::Shift;
use crate::catalogue::Entry;
use crate::plot::{Unit, format};
use crate::survey::{QuestionKind, Role, Survey, SurveyDefinition};

pub use crate::survey::Lang;

/// Interface words of the dashboard in one language.
pub struct Texts {
    pub dashboard: &'static str,
    pub question: &'static str,
    pub metric: &'static str,
    pub option: &'static str,
    pub by: &'static str,
    pub nobody: &'static str,
    pub interval: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub weighting: &'static str,
    pub weighted: &'static str,
    pub unweighted: &'static str,
    pub smooth: &'static str,
    pub language: &'static str,
    pub changes: &'static str,
    pub show: &'static str,
    pub latest: &'static str,
    pub period: &'static str,
    pub group: &'static str,
    pub value: &'static str,
    pub ci: &'static str,
    pub withheld: &'static str,
    pub shifts: &'static str,
    pub event: &'static str,
    pub date: &'static str,
    pub difference: &'static str,
    pub change_points: &'static str,
    pub change_note: &'static str,
    pub segment: &'static str,
    pub level: &'static str,
    pub downloads: &'static str,
    pub microdata: &'static str,
    pub package: &'static str,
    pub embed: &'static str,
    pub researcher: &'static str,
    pub exact: &'static str,
    pub public_note: &'static str,
    pub surveys: &'static str,
    pub charts: &'static str,
    pub questionnaire: &'static str,
    pub open: &'static str,
    pub no_changes: &'static str,
    pub no_shifts: &'static str,
    pub everyone: &'static str,
}

pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Ru => &Texts {
            dashboard: "Панель исследователя",
            question: "Вопрос",
            metric: "Показатель",
            option: "Вариант ответа",
            by: "В разрезе",
            nobody: "все вместе",
            interval: "Период",
            from: "С",
            to: "По",
            weighting: "Веса",
            weighted: "со взвешиванием",
            unweighted: "без взвешивания",
            smooth: "Сглаживание (периодов)",
            language: "Язык",
            changes: "Точки перелома на графике",
            show: "Показать",
            latest: "Последние периоды",
            period: "Период",
            group: "Группа",
            value: "Значение",
            ci: "95% интервал",
            withheld: "скрыто",
            shifts: "Сдвиги вокруг событий",
            event: "Событие",
            date: "Дата",
            difference: "Разница",
            change_points: "Точки перелома",
            change_note: "Разведочный анализ: переломы выбраны по данным (PELT); для проверки гипотез используйте сдвиги вокруг датированных событий.",
            segment: "Отрезок",
            level: "Уровень",
            downloads: "Скачать",
            microdata: "Микроданные (CSV)",
            package: "Пакет данных (zip)",
            embed: "Для встраивания",
            researcher: "Вход для исследователей (точные данные)",
            exact: "Точные показатели (доступ исследователя), включая сегодня.",
            public_note: "Публичные показатели: с внесённым шумом, только завершённые дни; ячейки меньше порога скрыты.",
            surveys: "Опросы",
            charts: "Графики",
            questionnaire: "Анкета",
            open: "Открыть панель",
            no_changes: "Переломов не найдено.",
            no_shifts: "Нет событий в диапазоне опроса.",
            everyone: "все",
        },
        Lang::En => &Texts {
            dashboard: "Researcher dashboard",
            question: "Question",
            metric: "Metric",
            option: "Answer",
            by: "Breakdown",
            nobody: "everyone together",
            interval: "Period",
            from: "From",
            to: "To",
            weighting: "Weights",
            weighted: "weighted",
            unweighted: "unweighted",
            smooth: "Smoothing (periods)",
            language: "Language",
            changes: "Change points on the chart",
            show: "Show",
            latest: "Latest periods",
            period: "Period",
            group: "Group",
            value: "Value",
            ci: "95% interval",
            withheld: "withheld",
            shifts: "Shifts around events",
            event: "Event",
            date: "Date",
            difference: "Difference",
            change_points: "Change points",
            change_note: "Exploratory: the breaks are chosen by the data (PELT); for a confirmatory test use the shifts around dated events.",
            segment: "Segment",
            level: "Level",
            downloads: "Download",
            microdata: "Microdata (CSV)",
            package: "Data package (zip)",
            embed: "Embed",
            researcher: "Researcher sign-in (exact figures)",
            exact: "Exact figures (researcher access), today included.",
            public_note: "Public figures: perturbed, completed days only; cells under the threshold are withheld.",
            surveys: "Surveys",
            charts: "Charts",
            questionnaire: "Questionnaire",
            open: "Open the dashboard",
            no_changes: "No change points found.",
            no_shifts: "No events in the survey's range.",
            everyone: "everyone",
        },
    }
}

/// What the dashboard shows: the query made to fit the survey and the
/// caller, so that every control offers only what will be answered.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub question: String,
    pub metric: String,
    pub option: Option<String>,
    pub by: Option<String>,
    pub interval: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub weighted: Option<bool>,
    pub smooth: usize,
    pub changes: bool,
    pub lang: Lang,
}

/// The questions a dashboard charts: answered items, not demographics or text.
pub fn item_questions(def: &SurveyDefinition) -> Vec<&crate::survey::QuestionDef> {
    def.questions
        .iter()
        .filter(|q| q.role != Role::Demographic && q.kind != QuestionKind::Text && !q.retired)
        .collect()
}

fn metrics_for(kind: QuestionKind) -> &'static [&'static str] {
    if kind == QuestionKind::Scale {
        &["top2", "mean", "bottom2", "net"]
    } else {
        &["share"]
    }
}

fn metric_label(metric: &str, lang: Lang) -> &'static str {
    match (metric, lang) {
        ("top2", Lang::En) => "Share of high answers (top 2)",
        ("top2", Lang::Ru) => "Доля высоких оценок (две верхние)",
        ("bottom2", Lang::En) => "Share of low answers (bottom 2)",
        ("bottom2", Lang::Ru) => "Доля низких оценок (две нижние)",
        ("net", Lang::En) => "Net: high minus low, points",
        ("net", Lang::Ru) => "Баланс: высокие минус низкие, п.п.",
        ("mean", Lang::En) => "Mean on the scale",
        ("mean", Lang::Ru) => "Среднее по шкале",
        (_, Lang::En) => "Share choosing an answer",
        (_, Lang::Ru) => "Доля выбравших вариант",
    }
}

fn interval_label(interval: &str, lang: Lang) -> &'static str {
    match (interval, lang) {
        ("day", Lang::En) => "day",
        ("week", Lang::En) => "week",
        ("wave", Lang::En) => "wave",
        ("day", Lang::Ru) => "день",
        ("week", Lang::Ru) => "неделя",
        ("wave", Lang::Ru) => "волна",
        (_, Lang::En) => "month",
        (_, Lang::Ru) => "месяц",
    }
}

/// The intervals the caller may ask for: days only with a token (public
/// figures are never finer than a week), waves where there are waves.
pub fn intervals(public: bool, has_waves: bool) -> Vec<&'static str> {
    let mut list = vec!["month", "week"];
    if !public {
        list.push("day");
    }
    if has_waves {
        list.push("wave");
    }
    list
}

impl View {
    /// The view `query` asks for, with each unusable choice replaced by the
    /// nearest usable one (a metric that does not fit a newly chosen question
    /// becomes that question's first metric, and so on).
    pub fn fit(
        def: &SurveyDefinition,
        query: &HashMap<String, String>,
        public: bool,
        has_targets: bool,
        has_waves: bool,
        lang: Lang,
    ) -> View {
        let items = item_questions(def);
        let question = query
            .get("question")
            .and_then(|c| items.iter().find(|q| &q.code == c))
            .or_else(|| items.iter().find(|q| q.code == "portal_trust"))
            .or(items.first())
            .copied();
        let Some(question) = question else {
            return View {
                question: String::new(),
                metric: String::new(),
                option: None,
                by: None,
                interval: "month".into(),
                from: None,
                to: None,
                weighted: None,
                smooth: 0,
                changes: false,
                lang,
            };
        };
        let metrics = metrics_for(question.kind);
        let metric = query
            .get("metric")
            .filter(|m| metrics.contains(&m.as_str()))
            .cloned()
            .unwrap_or_else(|| metrics[0].to_string());
        let option = (metric == "share").then(|| {
            let substantive: Vec<&str> = question
                .options
                .iter()
                .filter(|o| !o.non_substantive)
                .map(|o| o.code.as_str())
                .collect();
            query
                .get("option")
                .filter(|o| substantive.contains(&o.as_str()))
                .cloned()
                .or_else(|| substantive.first().map(|s| s.to_string()))
                .unwrap_or_default()
        });
        let by = query
            .get("by")
            .filter(|b| {
                def.question(b)
                    .is_some_and(|q| q.role == Role::Demographic && !q.retired)
            })
            .cloned();
        let allowed = intervals(public, has_waves);
        let interval = query
            .get("interval")
            .filter(|i| allowed.contains(&i.as_str()))
            .cloned()
            .unwrap_or_else(|| "month".into());
        let date = |name: &str| {
            query
                .get(name)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .filter(|d| crate::analysis::params::date_in_range(*d))
        };
        let (mut from, mut to) = (date("from"), date("to"));
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            (from, to) = (Some(t), Some(f));
        }
        let weighted = if has_targets {
            query.get("weighted").and_then(|w| match w.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            })
        } else {
            None
        };
        let smooth = query
            .get("smooth")
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|s| *s <= MAX_SMOOTH)
            .unwrap_or(0);
        View {
            question: question.code.clone(),
            metric,
            option,
            by,
            interval,
            from,
            to,
            weighted,
            smooth: if smooth <= 1 { 0 } else { smooth },
            changes: query.get("changes").is_some_and(|c| c == "true"),
            lang,
        }
    }

    /// The series parameters (for the API and the chart, without `question`
    /// when `with_question` is false).
    pub fn series_params(&self, with_question: bool) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if with_question {
            q.push(("question".to_string(), self.question.clone()));
        }
        q.push(("metric".to_string(), self.metric.clone()));
        if let Some(o) = &self.option {
            q.push(("option".into(), o.clone()));
        }
        if let Some(b) = &self.by {
            q.push(("by".into(), b.clone()));
        }
        q.push(("interval".into(), self.interval.clone()));
        if let Some(f) = self.from {
            q.push(("from".into(), f.to_string()));
        }
        if let Some(t) = self.to {
            q.push(("to".into(), t.to_string()));
        }
        if let Some(w) = self.weighted {
            q.push(("weighted".into(), w.to_string()));
        }
        if self.smooth > 1 {
            q.push(("smooth".into(), self.smooth.to_string()));
        }
        q
    }

    /// The shift parameters: what a before/after comparison takes.
    pub fn shift_params(&self, with_question: bool) -> Vec<(String, String)> {
        self.series_params(with_question)
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "interval" | "from" | "to" | "smooth"))
            .collect()
    }

    /// The chart's parameters: the series', the language, change points.
    pub fn chart_params(&self) -> Vec<(String, String)> {
        let mut q = self.series_params(false);
        q.push(("lang".into(), self.lang.as_str().into()));
        if self.changes {
            q.push(("changes".into(), "true".into()));
        }
        q
    }

    /// Everything the page shows, as a query: the permalink's.
    pub fn page_params(&self) -> Vec<(String, String)> {
        let mut q = self.series_params(true);
        q.push(("lang".into(), self.lang.as_str().into()));
        if self.changes {
            q.push(("changes".into(), "true".into()));
        }
        q
    }
}

pub fn query_string(params: &[(String, String)]) -> String {
    serde_urlencoded::to_string(params).unwrap_or_default()
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct Select {
    pub name: &'static str,
    pub label: &'static str,
    pub choices: Vec<Choice>,
}

fn select(
    name: &'static str,
    label: &'static str,
    current: &str,
    list: Vec<(String, String)>,
) -> Select {
    Select {
        name,
        label,
        choices: list
            .into_iter()
            .map(|(value, label)| Choice {
                selected: value == current,
                value,
                label,
            })
            .collect(),
    }
}

/// The form's selects for `view`, each offering only what the caller may ask.
pub fn controls(
    survey: &Survey,
    view: &View,
    public: bool,
    has_targets: bool,
    has_waves: bool,
) -> Vec<Select> {
    let (def, lang, t) = (&survey.definition, view.lang, texts(view.lang));
    let mut out = vec![select(
        "question",
        t.question,
        &view.question,
        item_questions(def)
            .iter()
            .map(|q| (q.code.clone(), q.prompt.get(lang).to_string()))
            .collect(),
    )];
    let Some(question) = def.question(&view.question) else {
        return out;
    };
    out.push(select(
        "metric",
        t.metric,
        &view.metric,
        metrics_for(question.kind)
            .iter()
            .map(|m| (m.to_string(), metric_label(m, lang).to_string()))
            .collect(),
    ));
    if let Some(option) = &view.option {
        out.push(select(
            "option",
            t.option,
            option,
            question
                .options
                .iter()
                .filter(|o| !o.non_substantive)
                .map(|o| (o.code.clone(), o.label.get(lang).to_string()))
                .collect(),
        ));
    }
    let mut breakdowns = vec![(String::new(), t.nobody.to_string())];
    breakdowns.extend(
        def.questions
            .iter()
            .filter(|q| q.role == Role::Demographic && !q.retired)
            .map(|q| (q.code.clone(), q.prompt.get(lang).to_string())),
    );
    out.push(select(
        "by",
        t.by,
        view.by.as_deref().unwrap_or(""),
        breakdowns,
    ));
    out.push(select(
        "interval",
        t.interval,
        &view.interval,
        intervals(public, has_waves)
            .into_iter()
            .map(|i| (i.to_string(), interval_label(i, lang).to_string()))
            .collect(),
    ));
    if has_targets {
        let current = match view.weighted {
            Some(false) => "false",
            _ => "true",
        };
        out.push(select(
            "weighted",
            t.weighting,
            current,
            vec![
                ("true".into(), t.weighted.into()),
                ("false".into(), t.unweighted.into()),
            ],
        ));
    }
    out.push(select(
        "lang",
        t.language,
        lang.as_str(),
        vec![
            ("ru".into(), "Русский".into()),
            ("en".into(), "English".into()),
        ],
    ));
    out
}

pub struct PointRow {
    pub period: String,
    pub group: String,
    pub value: String,
    pub interval: String,
    pub n: String,
}

pub struct ShiftTableRow {
    pub event: String,
    pub date: String,
    pub group: String,
    pub difference: String,
    pub interval: String,
    pub p: String,
}

pub struct SegmentRow {
    pub group: String,
    pub span: String,
    pub level: String,
    pub interval: String,
}

fn value_text(v: Option<f64>, unit: Unit, lang: Lang) -> String {
    let w = words(lang);
    match (v, unit) {
        (Some(v), Unit::Scale { .. }) => format::number(v, 2, &w),
        (Some(v), Unit::Percent) => format!("{}%", format::number(v, 1, &w)),
        (Some(v), Unit::Points) => format::signed(v, 1, &w),
        (None, _) => String::new(),
    }
}

fn range_text(low: Option<f64>, high: Option<f64>, unit: Unit, lang: Lang) -> String {
    match (low, high) {
        (Some(_), Some(_)) => format!(
            "{} – {}",
            value_text(low, unit, lang),
            value_text(high, unit, lang)
        ),
        _ => String::new(),
    }
}

/// The latest `periods` periods of a series, every group, newest first.
pub fn latest_rows(
    spec: &SeriesSpec,
    points: &[Point],
    periods: usize,
    unit: Unit,
    lang: Lang,
) -> Vec<PointRow> {
    let t = texts(lang);
    let mut starts: Vec<NaiveDate> = points.iter().map(|p| p.period_start).collect();
    starts.sort_unstable();
    starts.dedup();
    let recent: Vec<NaiveDate> = starts.into_iter().rev().take(periods).collect();
    let mut rows = Vec::new();
    for start in recent {
        for p in points.iter().filter(|p| p.period_start == start) {
            let period = match spec.interval {
                Interval::Month => format::month(start, &words(lang)),
                _ => start.to_string(),
            };
            let shown = !p.suppressed && p.value.is_some();
            rows.push(PointRow {
                period,
                group: if p.group.is_empty() {
                    t.everyone.to_string()
                } else {
                    group_label(spec, &p.group, lang)
                },
                value: if shown {
                    value_text(p.value, unit, lang)
                } else {
                    t.withheld.to_string()
                },
                interval: if shown {
                    range_text(p.ci_low, p.ci_high, unit, lang)
                } else {
                    String::new()
                },
                n: p.n.map(|n| n.to_string()).unwrap_or_default(),
            });
        }
    }
    rows
}

pub fn shift_rows(
    spec: &SeriesSpec,
    shifts: &[Shift],
    unit: Unit,
    lang: Lang,
) -> Vec<ShiftTableRow> {
    let t = texts(lang);
    let w = words(lang);
    let diff_unit = if unit == Unit::Percent {
        Unit::Points
    } else {
        unit
    };
    shifts
        .iter()
        .map(|s| {
            let shown = !s.suppressed && !s.pending;
            ShiftTableRow {
                event: s
                    .event
                    .as_ref()
                    .map(|e| {
                        if lang == Lang::Ru {
                            e.label_ru.clone()
                        } else {
                            e.label_en.clone()
                        }
                    })
                    .unwrap_or_default(),
                date: s.date.to_string(),
                group: if s.group.is_empty() {
                    t.everyone.to_string()
                } else {
                    group_label(spec, &s.group, lang)
                },
                difference: if shown {
                    value_text(s.difference, diff_unit, lang)
                } else {
                    t.withheld.to_string()
                },
                interval: if shown {
                    range_text(s.ci_low, s.ci_high, diff_unit, lang)
                } else {
                    String::new()
                },
                p: match (shown, s.p) {
                    (true, Some(p)) => format::p_value(p, &w),
                    _ => String::new(),
                },
            }
        })
        .collect()
}

pub fn segment_rows(
    spec: &SeriesSpec,
    groups: &[GroupChanges],
    unit: Unit,
    lang: Lang,
) -> Vec<SegmentRow> {
    let t = texts(lang);
    groups
        .iter()
        .filter(|g| g.segments.len() > 1)
        .flat_map(|g| {
            g.segments.iter().map(move |s| SegmentRow {
                group: if g.group.is_empty() {
                    t.everyone.to_string()
                } else {
                    group_label(spec, &g.group, lang)
                },
                span: format!("{} – {}", s.start, s.end),
                level: if s.value.is_some() {
                    value_text(s.value, unit, lang)
                } else {
                    t.withheld.to_string()
                },
                interval: range_text(s.ci_low, s.ci_high, unit, lang),
            })
        })
        .collect()
}

/// A link with its text.
pub struct Link {
    pub href: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub lang: &'static str,
    pub t: &'static Texts,
    pub title: String,
    pub description: String,
    pub synthetic: bool,
    pub synthetic_note: &'static str,
    pub exact: bool,
    pub action: String,
    pub switch: Link,
    pub controls: Vec<Select>,
    pub from: String,
    pub to: String,
    pub smooth: String,
    pub changes: bool,
    pub chart_src: String,
    pub chart_alt: String,
    pub chart_title: String,
    pub downloads: Vec<Link>,
    pub latest: Vec<PointRow>,
    pub shift_src: String,
    pub shift_alt: String,
    pub shifts: Vec<ShiftTableRow>,
    pub segments: Vec<SegmentRow>,
    pub researcher_href: Option<String>,
}

pub struct CatalogueCard {
    pub title: String,
    pub href: String,
    pub src: String,
}

pub struct SurveyCard {
    pub title: String,
    pub description: String,
    pub dashboard: String,
    pub form: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub lang: &'static str,
    pub t: &'static Texts,
    pub switch: Link,
    pub surveys: Vec<SurveyCard>,
    pub charts: Vec<CatalogueCard>,
}

#[derive(Template)]
#[template(path = "embed.html")]
pub struct EmbedPage {
    pub lang: &'static str,
    pub title: String,
    pub src: String,
    pub alt: String,
    pub href: String,
    pub link_text: &'static str,
}

/// The catalogue's charts of the surveys in the store, for `/`.
pub fn catalogue_cards(entries: &[Entry], surveys: &[Survey], lang: Lang) -> Vec<CatalogueCard> {
    entries
        .iter()
        .filter(|e| surveys.iter().any(|s| s.definition.slug == e.survey))
        .map(|e| {
            let mut params = e.query();
            params.push(("lang".into(), lang.as_str().into()));
            let chart: Vec<(String, String)> = params
                .iter()
                .filter(|(k, _)| k != "question")
                .cloned()
                .chain([
                    ("width".into(), "640".into()),
                    ("height".into(), "400".into()),
                ])
                .collect();
            CatalogueCard {
                title: e.title(lang).to_string(),
                href: format!("/d/{}?{}", e.survey, query_string(&params)),
                src: format!(
                    "/charts/{}/{}.png?{}",
                    e.survey,
                    e.question,
                    query_string(&chart)
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_view_keeps_only_what_fits_the_question_and_the_caller() {
        let def = demo::definition();
        // A metric of the previous question is replaced by the new one's first.
        let v = View::fit(
            &def,
            &query(&[("question", "portal_account"), ("metric", "top2")]),
            true,
            true,
            false,
            Lang::En,
        );
        assert_eq!(
            (v.metric.as_str(), v.option.as_deref()),
            ("share", Some("active"))
        );
        // Days only with a token; a demographic is not a breakdown of itself.
        let v = View::fit(
            &def,
            &query(&[("interval", "day"), ("by", "comment")]),
            true,
            true,
            false,
            Lang::En,
        );
        assert_eq!(
            (v.question.as_str(), v.interval.as_str(), v.by),
            ("portal_trust", "month", None)
        );
        let v = View::fit(
            &def,
            &query(&[("interval", "day"), ("by", "region")]),
            false,
            true,
            false,
            Lang::Ru,
        );
        assert_eq!(
            (v.interval.as_str(), v.by.as_deref()),
            ("day", Some("region"))
        );
        // Dates swapped when reversed, smoothing bounded, weights only with targets.
        let v = View::fit(
            &def,
            &query(&[
                ("from", "2024-01-01"),
                ("to", "2023-01-01"),
                ("smooth", "999"),
                ("weighted", "false"),
            ]),
            true,
            false,
            false,
            Lang::En,
        );
        assert_eq!(v.from, NaiveDate::from_ymd_opt(2023, 1, 1));
        assert_eq!((v.smooth, v.weighted), (0, None));
        assert!(!query_string(&v.series_params(true)).contains("weighted"));
    }

    #[test]
    fn every_view_the_form_can_make_is_a_valid_series_request() {
        let def = demo::definition();
        for q in item_questions(&def) {
            for public in [true, false] {
                let v = View::fit(
                    &def,
                    &query(&[("question", &q.code), ("by", "age_band")]),
                    public,
                    true,
                    false,
                    Lang::En,
                );
                let params: HashMap<String, String> = v.series_params(true).into_iter().collect();
                assert!(
                    crate::analysis::params::parse(&def, true, false, &params, &[]).is_ok(),
                    "{params:?}"
                );
                let shift: HashMap<String, String> = v.shift_params(true).into_iter().collect();
                assert!(crate::analysis::params::parse(&def, true, false, &shift, &[]).is_ok());
            }
        }
    }
}
