//! Microdata: one CSV row per response, in the column order the product
//! contract fixes — `response_id,submitted_date,wave,lang,base_weight,weight`,
//! then each question in survey order (multi-choice as `CODE__OPTION` 0/1
//! columns, yes/no as 1/0, codes not labels, empty for no answer; free text
//! only when asked for). Pure: rows in, bytes out.

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::analysis::weighting::{RakePeriod, Weights};
use crate::db::responses::ExportRow;
use crate::db::surveys::Wave;
use crate::error::{AppError, AppResult};
use crate::survey::{QuestionDef, QuestionKind, Role, SurveyDefinition};

/// Between a multi-choice question's code and an option's in a column name.
pub const MULTI_SEPARATOR: &str = "__";

/// One stored answer, borrowed from the row's JSON where it can be: the
/// export reads a million rows, and building a JSON map per row cost more
/// than everything else.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored<'a> {
    Bool(bool),
    Int(i64),
    Text(Cow<'a, str>),
    Codes(Vec<Cow<'a, str>>),
}

impl<'de> Deserialize<'de> for Stored<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StoredVisitor;
        impl<'de> Visitor<'de> for StoredVisitor {
            type Value = Stored<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a stored answer")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Stored::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Stored::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v).map(Stored::Int).map_err(E::custom)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Stored::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Stored::Text(Cow::Owned(v.to_string())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut codes = Vec::new();
                while let Some(code) = seq.next_element::<Cow<'de, str>>()? {
                    codes.push(code);
                }
                Ok(Stored::Codes(codes))
            }
        }
        d.deserialize_any(StoredVisitor)
    }
}

/// A response's answers, one slot per question of the survey (in survey order).
pub type Answers<'a> = Vec<Option<Stored<'a>>>;

/// Fills answer slots from a stored answers object; unknown keys are skipped.
struct Slots<'s, 'a> {
    index: &'s FxHashMap<String, usize>,
    slots: &'s mut Answers<'a>,
}

impl<'de, 's> DeserializeSeed<'de> for Slots<'s, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 's> Visitor<'de> for Slots<'s, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an answers object")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match self.index.get(key.as_ref()) {
                Some(i) => self.slots[*i] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// One stored response as the export reads it.
pub struct Row<'r, 'a> {
    pub id: &'r str,
    pub date: NaiveDate,
    pub wave: Option<&'r str>,
    pub lang: &'r str,
    pub base_weight: f64,
    /// The final weight the series use (raked, else the base weight).
    pub weight: f64,
    pub answers: &'r Answers<'a>,
}

/// The columns of a survey's microdata, and how to read a stored row.
pub struct Layout<'a> {
    def: &'a SurveyDefinition,
    /// Positions (in survey order) of the questions with columns.
    columns: Vec<usize>,
    /// Question code → position in survey order.
    index: FxHashMap<String, usize>,
    /// Positions of the demographic questions (the raking cell).
    demographic: Vec<usize>,
}

impl<'a> Layout<'a> {
    /// Every question in survey order; free-text ones only with `include_text`.
    pub fn new(def: &'a SurveyDefinition, include_text: bool) -> Layout<'a> {
        let positions = def.questions.iter().enumerate();
        Layout {
            def,
            columns: positions
                .clone()
                .filter(|(_, q)| include_text || q.kind != QuestionKind::Text)
                .map(|(i, _)| i)
                .collect(),
            index: positions
                .clone()
                .map(|(i, q)| (q.code.clone(), i))
                .collect(),
            demographic: positions
                .filter(|(_, q)| q.role == Role::Demographic)
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// Empty slots for `parse` to fill, one per question.
    pub fn slots<'j>(&self) -> Answers<'j> {
        vec![None; self.def.questions.len()]
    }

    /// Reads a stored answers object into `slots` (cleared first).
    pub fn parse<'j>(&self, json: &'j str, slots: &mut Answers<'j>) -> serde_json::Result<()> {
        slots.iter_mut().for_each(|s| *s = None);
        let mut reader = serde_json::Deserializer::from_str(json);
        Slots {
            index: &self.index,
            slots,
        }
        .deserialize(&mut reader)?;
        reader.end()
    }

    /// The raking cell of parsed answers, as `aggregate::cell_of` writes it.
    pub fn cell_into(&self, answers: &Answers, out: &mut String) {
        crate::aggregate::write_cell(
            out,
            self.demographic.iter().map(|i| {
                let answer = match &answers[*i] {
                    Some(Stored::Text(code)) => Some(code.as_ref()),
                    _ => None,
                };
                (self.def.questions[*i].code.as_str(), answer)
            }),
        );
    }

    fn questions(&self) -> impl Iterator<Item = (usize, &'a QuestionDef)> + '_ {
        self.columns.iter().map(|i| (*i, &self.def.questions[*i]))
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
        for (_, q) in self.questions() {
            if q.kind == QuestionKind::MultiChoice {
                out.extend(
                    q.options
                        .iter()
                        .map(|o| format!("{}{MULTI_SEPARATOR}{}", q.code, o.code)),
                );
            } else {
                out.push(q.code.clone());
            }
        }
        out
    }

    /// Writes one row as a CSV record; `scratch` is reused between rows.
    pub fn write<W: std::io::Write>(
        &self,
        out: &mut csv::Writer<W>,
        row: &Row,
        scratch: &mut String,
    ) -> csv::Result<()> {
        out.write_field(row.id)?;
        scratch.clear();
        let _ = write!(
            scratch,
            "{:04}-{:02}-{:02}",
            row.date.year(),
            row.date.month(),
            row.date.day()
        );
        out.write_field(&*scratch)?;
        out.write_field(spreadsheet_safe(row.wave.unwrap_or("")).as_ref())?;
        out.write_field(row.lang)?;
        for w in [row.base_weight, row.weight] {
            if w == 1.0 {
                out.write_field("1.000000")?; // most base weights: skip the float formatting
                continue;
            }
            scratch.clear();
            let _ = write!(scratch, "{w:.6}");
            out.write_field(&*scratch)?;
        }
        for (i, q) in self.questions() {
            let answer = row.answers[i].as_ref();
            match (q.kind, answer) {
                (QuestionKind::MultiChoice, None) => {
                    for _ in &q.options {
                        out.write_field("")?;
                    }
                }
                (QuestionKind::MultiChoice, Some(answer)) => {
                    let chosen: &[Cow<str>] = match answer {
                        Stored::Codes(codes) => codes,
                        _ => &[],
                    };
                    for o in &q.options {
                        let on = chosen.iter().any(|c| c.as_ref() == o.code);
                        out.write_field(if on { "1" } else { "0" })?;
                    }
                }
                (QuestionKind::YesNo, Some(Stored::Bool(b))) => {
                    out.write_field(if *b { "1" } else { "0" })?
                }
                (QuestionKind::Text, Some(Stored::Text(text))) => {
                    out.write_field(spreadsheet_safe(text).as_ref())?
                }
                (_, Some(Stored::Int(n))) => {
                    scratch.clear();
                    let _ = write!(scratch, "{n}");
                    out.write_field(&*scratch)?;
                }
                (QuestionKind::Scale | QuestionKind::SingleChoice, Some(Stored::Text(code))) => {
                    out.write_field(code.as_ref())?
                }
                _ => out.write_field("")?,
            }
        }
        out.write_record(None::<&[u8]>)
    }
}

/// What formatting a page needs: the columns, the final weights, the waves.
pub struct PageFormat<'a> {
    pub layout: &'a Layout<'a>,
    pub weights: &'a Weights,
    pub waves: &'a [Wave],
}

impl PageFormat<'_> {
    /// One page of rows as CSV records.
    pub fn page(&self, page: &[ExportRow]) -> AppResult<Vec<u8>> {
        let (mut cell, mut scratch) = (String::new(), String::new());
        let mut out = page_writer();
        let mut slots = self.layout.slots();
        for (id, date, wave_id, lang, base_weight, answers) in page {
            self.layout
                .parse(answers, &mut slots)
                .map_err(|e| internal_msg(format!("stored answers of {id}: {e}")))?;
            let rake = RakePeriod::of(*date, wave_id.unwrap_or(0));
            let g = if self.weights.raked(rake) {
                self.layout.cell_into(&slots, &mut cell);
                self.weights.factor(rake, &cell)
            } else {
                1.0
            };
            let row = Row {
                id,
                date: *date,
                wave: wave_id
                    .and_then(|w| self.waves.iter().find(|x| x.id == w))
                    .map(|w| w.label.as_str()),
                lang,
                base_weight: *base_weight,
                weight: g * base_weight,
                answers: &slots,
            };
            self.layout
                .write(&mut out, &row, &mut scratch)
                .map_err(csv_error)?;
        }
        drop(slots);
        take(out)
    }
}

/// A CSV writer for one page (RFC 4180: quotes where needed).
pub fn page_writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::with_capacity(1 << 20))
}

/// A page's bytes.
pub fn take(out: csv::Writer<Vec<u8>>) -> AppResult<Vec<u8>> {
    out.into_inner().map_err(|e| internal_msg(e.to_string()))
}

pub fn csv_error(e: csv::Error) -> AppError {
    AppError::Internal(e.into())
}

pub fn internal_msg(message: String) -> AppError {
    AppError::Internal(anyhow::anyhow!(message))
}

/// A text a spreadsheet could run as a formula (or that starts with the
/// escape itself) gets one leading `'`; import removes exactly one, so text
/// round-trips.
pub fn spreadsheet_safe(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
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
            "evote_count_trust": 7, "unknown": {"nested": [1]},
            "concerns": ["data_leak", "surveillance"], "comment": "=HYPERLINK(\"x\")",
            "age_band": "25-34", "settlement": "city"})
        .to_string();
        let mut slots = layout.slots();
        layout.parse(&answers, &mut slots).unwrap();
        let row = Row {
            id: "r1",
            date: NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(),
            wave: None,
            lang: "ru",
            base_weight: 1.0,
            weight: 0.75,
            answers: &slots,
        };
        let mut out = csv::Writer::from_writer(Vec::new());
        layout.write(&mut out, &row, &mut String::new()).unwrap();
        let text = String::from_utf8(out.into_inner().unwrap()).unwrap();
        let record = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap();
        let header = layout.header();
        assert_eq!(record.len(), header.len());
        let cell = |name: &str| record[header.iter().position(|h| h == name).unwrap()].to_string();
        assert_eq!(cell("submitted_date"), "2024-03-05");
        assert_eq!(cell("weight"), "0.750000");
        assert_eq!(cell("portal_trust"), "dk");
        assert_eq!(cell("evote_count_trust"), "7");
        assert_eq!(cell("concerns__data_leak"), "1");
        assert_eq!(cell("concerns__none"), "0");
        assert_eq!(cell("leak_worry"), "");
        assert_eq!(cell("comment"), "'=HYPERLINK(\"x\")");
        let mut raking_cell = String::new();
        layout.cell_into(&slots, &mut raking_cell);
        let map = serde_json::from_str(&answers).unwrap();
        assert_eq!(raking_cell, crate::aggregate::cell_of(&def, &map));
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
