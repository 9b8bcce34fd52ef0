//! Microdata: one CSV row per response, in the column order the product
//! contract fixes — `response_id,submitted_date,wave,lang,base_weight,weight`,
//! then each question in survey order (multi-choice as `CODE__OPTION` 0/1
//! columns, yes/no as 1/0, codes not labels, empty for no answer; free text
//! only when asked for). Pure: rows in, bytes out.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::survey::{QuestionDef, QuestionKind, SurveyDefinition};

/// One stored response as the export reads it.
pub struct Row {
    pub id: String,
    pub date: NaiveDate,
    pub wave: Option<String>,
    pub lang: String,
    pub base_weight: f64,
    /// The final weight the series use (raked, else the base weight).
    pub weight: f64,
    pub answers: Map<String, Value>,
}

/// The columns of a survey's microdata.
pub struct Layout<'a> {
    questions: Vec<&'a QuestionDef>,
}

impl<'a> Layout<'a> {
    /// Every question in survey order; free-text ones only with `include_text`.
    pub fn new(def: &'a SurveyDefinition, include_text: bool) -> Layout<'a> {
        Layout {
            questions: def
                .questions
                .iter()
                .filter(|q| include_text || q.kind != QuestionKind::Text)
                .collect(),
        }
    }

    pub fn header(&self) -> Vec<String> {
        let mut out: Vec<String> = [
            "response_id",
            "submitted_date",
            "wave",
            "lang",
            "base_weight",
            "weight",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect();
        for q in &self.questions {
            if q.kind == QuestionKind::MultiChoice {
                out.extend(q.options.iter().map(|o| format!("{}__{}", q.code, o.code)));
            } else {
                out.push(q.code.clone());
            }
        }
        out
    }

    pub fn record(&self, row: &Row) -> Vec<String> {
        let mut out = vec![
            row.id.clone(),
            row.date.to_string(),
            row.wave.clone().unwrap_or_default(),
            row.lang.clone(),
            format!("{:.6}", row.base_weight),
            format!("{:.6}", row.weight),
        ];
        for q in &self.questions {
            let answer = row.answers.get(&q.code);
            match q.kind {
                QuestionKind::MultiChoice => {
                    let chosen: Vec<&str> = answer
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    for o in &q.options {
                        out.push(match answer {
                            None => String::new(),
                            Some(_) => u8::from(chosen.contains(&o.code.as_str())).to_string(),
                        });
                    }
                }
                QuestionKind::YesNo => out.push(match answer {
                    Some(Value::Bool(b)) => u8::from(*b).to_string(),
                    _ => String::new(),
                }),
                QuestionKind::Text => out.push(
                    answer
                        .and_then(Value::as_str)
                        .map(spreadsheet_safe)
                        .unwrap_or_default(),
                ),
                QuestionKind::Scale | QuestionKind::SingleChoice => out.push(match answer {
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::String(s)) => s.clone(),
                    _ => String::new(),
                }),
            }
        }
        out
    }
}

/// A text a spreadsheet could run as a formula (or that starts with the
/// escape itself) gets one leading `'`; import removes exactly one, so text
/// round-trips.
pub fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;
    use serde_json::json;

    #[test]
    fn columns_follow_the_contract_and_text_only_when_asked() {
        let def = demo::definition();
        let header = Layout::new(&def, false).header();
        assert_eq!(
            header[..8],
            [
                "response_id",
                "submitted_date",
                "wave",
                "lang",
                "base_weight",
                "weight",
                "portal_account",
                "portal_trust"
            ]
        );
        assert!(header.contains(&"concerns__data_leak".to_string()));
        assert!(!header.contains(&"comment".to_string()));
        assert!(
            Layout::new(&def, true)
                .header()
                .contains(&"comment".to_string())
        );
    }

    #[test]
    fn a_row_holds_codes_zeros_and_ones_and_empty_cells_for_no_answer() {
        let def = demo::definition();
        let layout = Layout::new(&def, true);
        let answers = json!({"portal_account": "active", "portal_trust": "dk",
            "concerns": ["data_leak", "surveillance"], "comment": "=HYPERLINK(\"x\")"});
        let row = Row {
            id: "r1".into(),
            date: NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(),
            wave: None,
            lang: "ru".into(),
            base_weight: 1.0,
            weight: 0.75,
            answers: answers.as_object().unwrap().clone(),
        };
        let header = layout.header();
        let record = layout.record(&row);
        let cell = |name: &str| record[header.iter().position(|h| h == name).unwrap()].clone();
        assert_eq!(cell("weight"), "0.750000");
        assert_eq!(cell("portal_trust"), "dk");
        assert_eq!(cell("concerns__data_leak"), "1");
        assert_eq!(cell("concerns__none"), "0");
        assert_eq!(cell("leak_worry"), "");
        assert_eq!(cell("comment"), "'=HYPERLINK(\"x\")");
    }

    #[test]
    fn only_text_a_spreadsheet_would_run_is_escaped() {
        for (text, safe) in [
            ("=1+1", "'=1+1"),
            ("+7 999", "'+7 999"),
            ("-x", "'-x"),
            ("@a", "'@a"),
            ("\tx", "'\tx"),
            ("'quoted", "''quoted"),
            ("plain", "plain"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(text), safe);
        }
    }
}
