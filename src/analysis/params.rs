//! Series parameters: parsed and checked once against the survey, then trusted.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::Detail;
use crate::survey::{QuestionDef, QuestionKind, Role, SurveyDefinition};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Mean,
    Top2,
    Bottom2,
    Net,
    Share,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Mean => "mean",
            Metric::Top2 => "top2",
            Metric::Bottom2 => "bottom2",
            Metric::Net => "net",
            Metric::Share => "share",
        }
    }

    fn parse(s: &str) -> Option<Metric> {
        Some(match s {
            "mean" => Metric::Mean,
            "top2" => Metric::Top2,
            "bottom2" => Metric::Bottom2,
            "net" => Metric::Net,
            "share" => Metric::Share,
            _ => return None,
        })
    }

    /// Shares and nets are shown in percent / points; means in scale units.
    pub fn scale_factor(self) -> f64 {
        if self == Metric::Mean { 1.0 } else { 100.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Day,
    Week,
    Month,
    Wave,
}

impl Interval {
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
            Interval::Wave => "wave",
        }
    }
}

/// A checked series request.
#[derive(Debug, Clone)]
pub struct SeriesSpec {
    pub question: QuestionDef,
    pub metric: Metric,
    pub option: Option<String>,
    pub by: Option<QuestionDef>,
    pub interval: Interval,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub weighted: bool,
    pub smooth: usize,
}

impl SeriesSpec {
    /// The groups of the breakdown: the substantive options of `by` ("prefer
    /// not to say" counts in its period but is not drawn), or one group "".
    pub fn groups(&self) -> Vec<String> {
        match &self.by {
            Some(q) => q
                .options
                .iter()
                .filter(|o| !o.non_substantive)
                .map(|o| o.code.clone())
                .collect(),
            None => vec![String::new()],
        }
    }
}

/// The parameters every series-shaped endpoint takes, plus its own `extra`.
pub const SERIES_PARAMS: &[&str] = &[
    "question", "metric", "option", "by", "interval", "from", "to", "weighted", "smooth",
];

/// The query of every series-shaped endpoint (series, its CSV, change
/// points), as the OpenAPI document describes it: `parse` reads these names
/// (a test keeps the two in step). Never built: the handlers read the raw
/// pairs so that every problem can be named.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SeriesQuery {
    /// A question code (not a free-text question).
    question: String,
    /// Default `mean` for a scale question; other kinds must name one.
    metric: Option<Metric>,
    /// The option code for `metric=share` (send `+` as `%2B`).
    option: Option<String>,
    /// A demographic question: one series per substantive option.
    by: Option<String>,
    /// Default `month`; `week` is the ISO week from Monday; `day` needs a
    /// researcher token; `wave` needs a survey with waves.
    interval: Option<Interval>,
    /// Inclusive, 1900-01-01 to 2199-12-31; cut to the stored data and
    /// widened to whole periods.
    from: Option<NaiveDate>,
    /// Inclusive, 1900-01-01 to 2199-12-31; public callers see whole
    /// periods ended by yesterday.
    to: Option<NaiveDate>,
    /// Default true when the survey has targets.
    weighted: Option<bool>,
    /// Pool each period with the N-1 before it.
    #[param(minimum = 1, maximum = 52)]
    smooth: Option<u32>,
}

/// The longest smoothing window.
pub const MAX_SMOOTH: usize = 52;

/// The dates the service reasons about: anything outside is a typo or an
/// attack, and date arithmetic near chrono's limits would overflow.
pub fn date_in_range(d: NaiveDate) -> bool {
    (first_date()..=last_date()).contains(&d)
}

/// The first date `date_in_range` accepts.
pub fn first_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date")
}

/// The last date `date_in_range` accepts.
pub fn last_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2199, 12, 31).expect("a valid date")
}

/// A 422 detail for every parameter not in `known`, in name order.
pub fn unknown_parameters(params: &HashMap<String, String>, known: &[&str]) -> Vec<Detail> {
    let mut unknown: Vec<&String> = params
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .collect();
    unknown.sort();
    unknown
        .into_iter()
        .map(|name| {
            Detail::field(
                name.clone(),
                "unknown_parameter",
                "not a parameter of this endpoint",
            )
        })
        .collect()
}

/// The most points (periods × groups) one answer carries.
pub const MAX_POINTS: usize = 20_000;

fn date(
    params: &HashMap<String, String>,
    name: &str,
    problems: &mut Vec<Detail>,
) -> Option<NaiveDate> {
    let raw = params.get(name)?;
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) if date_in_range(d) => Some(d),
        Ok(_) => {
            problems.push(Detail::field(
                name,
                "out_of_range",
                "a date from 1900-01-01 to 2199-12-31",
            ));
            None
        }
        Err(_) => {
            problems.push(Detail::field(name, "invalid_date", "use YYYY-MM-DD"));
            None
        }
    }
}

/// Parses series parameters. `extra` names the other parameters the endpoint
/// accepts; anything else is refused.
pub fn parse(
    def: &SurveyDefinition,
    has_targets: bool,
    has_waves: bool,
    params: &HashMap<String, String>,
    extra: &[&str],
) -> Result<SeriesSpec, Vec<Detail>> {
    let known: Vec<&str> = SERIES_PARAMS.iter().chain(extra).copied().collect();
    let mut problems = unknown_parameters(params, &known);
    let question = match params.get("question") {
        None => {
            problems.push(Detail::field(
                "question",
                "required",
                "name a question code",
            ));
            None
        }
        Some(code) => match def.question(code) {
            Some(q) if q.kind != QuestionKind::Text => Some(q.clone()),
            Some(_) => {
                problems.push(Detail::field(
                    "question",
                    "not_measurable",
                    "free-text questions have no series",
                ));
                None
            }
            None => {
                problems.push(Detail::field(
                    "question",
                    "unknown_question",
                    format!("no question {code:?}"),
                ));
                None
            }
        },
    };
    let metric = match params.get("metric").map(|m| (m, Metric::parse(m))) {
        Some((_, Some(m))) => Some(m),
        Some((m, None)) => {
            problems.push(Detail::field(
                "metric",
                "unknown_metric",
                format!("{m:?}: use mean, top2, bottom2, net or share"),
            ));
            None
        }
        None => match &question {
            Some(q) if q.kind == QuestionKind::Scale => Some(Metric::Mean),
            Some(_) => {
                problems.push(Detail::field(
                    "metric",
                    "required",
                    "this question needs metric=share and an option",
                ));
                None
            }
            None => None,
        },
    };
    let option = params.get("option").cloned();
    if let (Some(q), Some(m)) = (&question, metric) {
        let is_scale = q.kind == QuestionKind::Scale;
        if matches!(
            m,
            Metric::Mean | Metric::Top2 | Metric::Bottom2 | Metric::Net
        ) && !is_scale
        {
            problems.push(Detail::field(
                "metric",
                "not_applicable",
                format!("{} needs a scale question", m.as_str()),
            ));
        }
        match (m, &option) {
            (Metric::Share, None) => problems.push(Detail::field(
                "option",
                "required",
                "share needs option=CODE",
            )),
            (Metric::Share, Some(o)) if !option_exists(q, o) => problems.push(Detail::field(
                "option",
                "unknown_option",
                format!("{o:?} is not an answer of {}", q.code),
            )),
            (Metric::Share, Some(_)) => {}
            (_, Some(_)) => problems.push(Detail::field(
                "option",
                "not_applicable",
                "option goes with metric=share",
            )),
            (_, None) => {}
        }
    }
    let by = match params.get("by") {
        None => None,
        Some(code) if params.get("question") == Some(code) => {
            problems.push(Detail::field(
                "by",
                "same_as_question",
                "a question broken down by itself says nothing: every group answers its own name",
            ));
            None
        }
        Some(code) => match def.question(code) {
            Some(q) if q.role == Role::Demographic => Some(q.clone()),
            _ => {
                problems.push(Detail::field(
                    "by",
                    "unknown_dimension",
                    format!("{code:?} is not a demographic question"),
                ));
                None
            }
        },
    };
    let interval = match params.get("interval").map(String::as_str) {
        None | Some("month") => Interval::Month,
        Some("day") => Interval::Day,
        Some("week") => Interval::Week,
        Some("wave") if has_waves => Interval::Wave,
        Some("wave") => {
            problems.push(Detail::field(
                "interval",
                "no_waves",
                "this survey has no waves",
            ));
            Interval::Month
        }
        Some(other) => {
            problems.push(Detail::field(
                "interval",
                "unknown_interval",
                format!("{other:?}: use day, week, month or wave"),
            ));
            Interval::Month
        }
    };
    let from = date(params, "from", &mut problems);
    let to = date(params, "to", &mut problems);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        problems.push(Detail::field(
            "from",
            "after_to",
            "from must not be after to",
        ));
    }
    let weighted = match params.get("weighted").map(String::as_str) {
        None => has_targets,
        Some("true") => true,
        Some("false") => false,
        Some(_) => {
            problems.push(Detail::field("weighted", "invalid", "true or false"));
            false
        }
    };
    let smooth = match params.get("smooth") {
        None => 1,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_SMOOTH).contains(&n) => n,
            _ => {
                problems.push(Detail::field(
                    "smooth",
                    "out_of_range",
                    format!("a whole number of periods, 1 to {MAX_SMOOTH}"),
                ));
                1
            }
        },
    };
    match (question, metric) {
        (Some(question), Some(metric)) if problems.is_empty() => Ok(SeriesSpec {
            question,
            metric,
            option,
            by,
            interval,
            from,
            to,
            weighted,
            smooth,
        }),
        _ => Err(problems),
    }
}

fn option_exists(q: &QuestionDef, code: &str) -> bool {
    match q.kind {
        QuestionKind::Scale => {
            q.option(code).is_some()
                || code
                    .parse::<i64>()
                    .is_ok_and(|v| q.scale.as_ref().is_some_and(|s| s.contains(v)))
        }
        QuestionKind::YesNo => code == "yes" || code == "no",
        _ => q.option(code).is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;

    fn check(pairs: &[(&str, &str)]) -> Result<SeriesSpec, Vec<String>> {
        let params = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(&demo::definition(), true, false, &params, &[]).map_err(|ps| {
            ps.into_iter()
                .map(|d| format!("{}:{}", d.field.unwrap(), d.problem))
                .collect()
        })
    }

    #[test]
    fn a_scale_question_defaults_to_its_mean_monthly_and_weighted() {
        let spec = check(&[("question", "portal_trust")]).unwrap();
        assert_eq!(
            (spec.metric, spec.interval, spec.weighted, spec.smooth),
            (Metric::Mean, Interval::Month, true, 1)
        );
        let spec = check(&[
            ("question", "concerns"),
            ("metric", "share"),
            ("option", "data_leak"),
            ("by", "age_band"),
            ("weighted", "false"),
        ])
        .unwrap();
        assert_eq!(spec.by.unwrap().code, "age_band");
        assert!(!spec.weighted);
        assert!(
            check(&[
                ("question", "portal_trust"),
                ("metric", "share"),
                ("option", "5")
            ])
            .is_ok()
        );
        assert!(
            check(&[
                ("question", "portal_trust"),
                ("metric", "share"),
                ("option", "dk")
            ])
            .is_ok()
        );
    }

    #[test]
    fn the_documented_query_names_what_parse_reads() {
        use utoipa::IntoParams;
        let documented: Vec<String> = SeriesQuery::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(documented, SERIES_PARAMS);
        // `smooth`'s documented bounds are the ones parse holds to.
        assert_eq!(MAX_SMOOTH, 52);
    }

    #[test]
    fn ill_fitting_parameters_are_named() {
        assert_eq!(
            check(&[("question", "concerns"), ("metric", "mean")]).unwrap_err(),
            ["metric:not_applicable"]
        );
        assert_eq!(
            check(&[("question", "concerns")]).unwrap_err(),
            ["metric:required"]
        );
        assert_eq!(
            check(&[("question", "portal_account"), ("metric", "share")]).unwrap_err(),
            ["option:required"]
        );
        assert_eq!(
            check(&[
                ("question", "portal_account"),
                ("metric", "share"),
                ("option", "x")
            ])
            .unwrap_err(),
            ["option:unknown_option"]
        );
        assert_eq!(
            check(&[("question", "nope")]).unwrap_err(),
            ["question:unknown_question"]
        );
        assert_eq!(
            check(&[("question", "comment")]).unwrap_err(),
            ["question:not_measurable"]
        );
        assert_eq!(
            check(&[
                ("question", "portal_trust"),
                ("from", "2024-01-02"),
                ("to", "2024-01-01"),
                ("interval", "wave"),
                ("by", "portal_account"),
                ("smooth", "0"),
                ("colour", "red")
            ])
            .unwrap_err(),
            [
                "colour:unknown_parameter",
                "by:unknown_dimension",
                "interval:no_waves",
                "from:after_to",
                "smooth:out_of_range"
            ]
        );
    }
}

/// Properties of the series query parser: any query is answered (never a
/// panic), every problem is named at a parameter, and a well-formed query
/// means what it says.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::survey::demo;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => proptest::sample::select(SERIES_PARAMS).prop_map(str::to_string),
            1 => "\\PC{0,10}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("portal_trust".to_string()),
            Just("concerns".to_string()),
            Just("age_band".to_string()),
            Just("share".to_string()),
            Just("2024-02-29".to_string()),
            Just("0000-01-01".to_string()),
            Just("+262143-01-01".to_string()),
            Just("52".to_string()),
            Just("18446744073709551616".to_string()),
            "\\PC{0,12}",
            "[0-9-]{0,12}",
        ]
    }

    /// A query every series endpoint takes for the demo survey.
    fn valid() -> impl Strategy<Value = HashMap<String, String>> {
        let scale = vec![
            "portal_trust",
            "leak_worry",
            "evote_intent",
            "evote_count_trust",
        ];
        let days = (last_date() - first_date()).num_days();
        let dates = (0i64..=days, 0i64..4000).prop_map(|(start, span)| {
            let from = first_date() + chrono::Duration::days(start);
            (from, (from + chrono::Duration::days(span)).min(last_date()))
        });
        (
            proptest::sample::select(scale),
            proptest::option::of(proptest::sample::select(
                &["mean", "top2", "bottom2", "net"][..],
            )),
            proptest::option::of(proptest::sample::select(
                &["age_band", "region", "settlement"][..],
            )),
            proptest::option::of(proptest::sample::select(&["day", "week", "month"][..])),
            proptest::option::of(dates),
            proptest::option::of(any::<bool>()),
            proptest::option::of(1..=MAX_SMOOTH),
        )
            .prop_map(
                |(question, metric, by, interval, range, weighted, smooth)| {
                    let mut q = HashMap::new();
                    q.insert("question".to_string(), question.to_string());
                    let mut put = |k: &str, v: Option<String>| {
                        if let Some(v) = v {
                            q.insert(k.to_string(), v);
                        }
                    };
                    put("metric", metric.map(str::to_string));
                    put("by", by.map(str::to_string));
                    put("interval", interval.map(str::to_string));
                    put("from", range.map(|r| r.0.to_string()));
                    put("to", range.map(|r| r.1.to_string()));
                    put("weighted", weighted.map(|w| w.to_string()));
                    put("smooth", smooth.map(|s| s.to_string()));
                    q
                },
            )
    }

    proptest! {
        #[test]
        fn any_query_is_parsed_without_panicking_and_each_problem_names_a_parameter(
            query in prop::collection::hash_map(name(), value(), 0..10),
            has_targets in any::<bool>(),
            has_waves in any::<bool>(),
        ) {
            match parse(&demo::definition(), has_targets, has_waves, &query, &[]) {
                Ok(spec) => {
                    prop_assert!(query.keys().all(|k| SERIES_PARAMS.contains(&k.as_str())));
                    prop_assert_eq!(Some(&spec.question.code), query.get("question"));
                }
                Err(problems) => {
                    prop_assert!(!problems.is_empty());
                    for p in problems {
                        let field = p.field.clone().unwrap_or_default();
                        // A parameter sent, or one that was needed and missing.
                        prop_assert!(
                            query.contains_key(&field) || ["question", "metric", "option"].contains(&field.as_str()),
                            "{:?} for {:?}", p, query
                        );
                    }
                }
            }
        }

        #[test]
        fn a_well_formed_query_means_what_it_says(query in valid(), has_targets in any::<bool>()) {
            let spec = parse(&demo::definition(), has_targets, false, &query, &[])
                .map_err(|p| TestCaseError::fail(format!("{p:?} for {query:?}")))?;
            let given = |k: &str| query.get(k).map(String::as_str);
            prop_assert_eq!(spec.question.code.as_str(), given("question").unwrap());
            prop_assert_eq!(spec.metric.as_str(), given("metric").unwrap_or("mean"));
            prop_assert_eq!(spec.by.map(|q| q.code), given("by").map(str::to_string));
            prop_assert_eq!(spec.interval.as_str(), given("interval").unwrap_or("month"));
            prop_assert_eq!(spec.from.map(|d| d.to_string()), given("from").map(str::to_string));
            prop_assert_eq!(spec.to.map(|d| d.to_string()), given("to").map(str::to_string));
            prop_assert_eq!(spec.weighted, given("weighted").map_or(has_targets, |w| w == "true"));
            prop_assert_eq!(spec.smooth.to_string(), given("smooth").unwrap_or("1"));
        }

        #[test]
        fn one_bad_parameter_is_the_one_problem_named(
            query in valid(),
            (field, bad) in prop_oneof![
                Just(("metric", "median")),
                Just(("interval", "hour")),
                Just(("interval", "wave")),
                Just(("from", "2024-02-30")),
                Just(("to", "1899-12-31")),
                Just(("weighted", "yes")),
                Just(("smooth", "0")),
                Just(("smooth", "53")),
                Just(("smooth", "-1")),
                Just(("by", "portal_account")),
                Just(("option", "5")),
                Just(("colour", "red")),
            ],
        ) {
            let mut query = query;
            query.insert(field.to_string(), bad.to_string());
            if field == "from" || field == "to" {
                // The other end must not clash with the broken one.
                query.remove(if field == "from" { "to" } else { "from" });
            }
            let problems = parse(&demo::definition(), true, false, &query, &[])
                .expect_err("a bad parameter is refused");
            let named: Vec<String> = problems.into_iter().map(|p| p.field.unwrap_or_default()).collect();
            prop_assert_eq!(named, [field]);
        }
    }
}
