//! What one response adds to the aggregates: its demographic cell, its piece
//! of time, and the sums of its base weight under each answer value.

use std::borrow::Cow;

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Map, Value};

use crate::survey::{QuestionKind, Role, SurveyDefinition};

/// The question key whose sums count everyone (raking uses all respondents).
pub const EVERYONE: &str = "";

/// Monday of the ISO week.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

/// The demographic cell: `code=answer` for every demographic question, in
/// survey order (`code=` when unanswered). Self-describing, so a definition
/// that gains a demographic question does not garble older cells.
pub fn cell_of(def: &SurveyDefinition, answers: &Map<String, Value>) -> String {
    let mut cell = String::new();
    cell_into(def, answers, &mut cell);
    cell
}

/// `cell_of`, written into a reused buffer (bulk loads call it per response).
pub fn cell_into(def: &SurveyDefinition, answers: &Map<String, Value>, out: &mut String) {
    write_cell(
        out,
        def.questions
            .iter()
            .filter(|q| q.role == Role::Demographic)
            .map(|q| {
                (
                    q.code.as_str(),
                    answers.get(&q.code).and_then(Value::as_str),
                )
            }),
    );
}

/// Writes a cell key from (demographic code, answer) pairs in survey order:
/// the one place its format is spelled out.
pub fn write_cell<'a>(out: &mut String, pairs: impl Iterator<Item = (&'a str, Option<&'a str>)>) {
    out.clear();
    for (i, (code, answer)) in pairs.enumerate() {
        if i > 0 {
            out.push('|');
        }
        out.push_str(code);
        out.push('=');
        out.push_str(answer.unwrap_or(""));
    }
}

/// The answer of `dimension` in a cell key ("" when unanswered).
pub fn cell_value<'a>(cell: &'a str, dimension: &str) -> &'a str {
    cell.split('|')
        .find_map(|part| part.strip_prefix(dimension)?.strip_prefix('='))
        .unwrap_or("")
}

/// Scale values as codes without formatting them (bulk loads meet millions).
const SMALL: [&str; 11] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];

/// The value codes an answer counts under, borrowed where they can be.
pub fn value_codes_into<'a>(kind: QuestionKind, value: &'a Value, out: &mut Vec<Cow<'a, str>>) {
    match (kind, value) {
        (QuestionKind::YesNo, Value::Bool(b)) => {
            out.push(Cow::Borrowed(if *b { "yes" } else { "no" }))
        }
        (_, Value::Number(n)) => out.push(match n.as_u64().and_then(|v| SMALL.get(v as usize)) {
            Some(code) => Cow::Borrowed(code),
            None => Cow::Owned(n.to_string()),
        }),
        (_, Value::String(s)) => out.push(Cow::Borrowed(s)),
        (_, Value::Array(items)) => {
            out.extend(items.iter().filter_map(Value::as_str).map(Cow::Borrowed))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;
    use serde_json::json;

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let d = NaiveDate::from_ymd_opt(2023, 4, 2).unwrap(); // a Sunday
        assert_eq!(week_start(d), NaiveDate::from_ymd_opt(2023, 3, 27).unwrap());
        assert_eq!(month_start(d), NaiveDate::from_ymd_opt(2023, 4, 1).unwrap());
    }

    #[test]
    fn a_response_has_a_cell_and_counts_under_its_value_codes() {
        let def = demo::definition();
        let answers = json!({"portal_account": "active", "portal_trust": 4, "concerns": ["data_leak", "surveillance"],
            "comment": "hi", "age_band": "65+", "settlement": "na"});
        let answers = answers.as_object().unwrap();
        let cell = cell_of(&def, answers);
        assert_eq!(cell, "age_band=65+|region=|settlement=na");
        assert_eq!(cell_value(&cell, "age_band"), "65+");
        assert_eq!(cell_value(&cell, "region"), "");
        let codes = |kind, value: &Value| {
            let mut out = Vec::new();
            value_codes_into(kind, value, &mut out);
            out.into_iter().map(|c| c.into_owned()).collect::<Vec<_>>()
        };
        assert_eq!(codes(QuestionKind::Scale, &answers["portal_trust"]), ["4"]);
        assert_eq!(
            codes(QuestionKind::MultiChoice, &answers["concerns"]),
            ["data_leak", "surveillance"]
        );
        assert_eq!(codes(QuestionKind::YesNo, &json!(false)), ["no"]);
    }
}
