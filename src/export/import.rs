//! Reading microdata back: a CSV in the export's format becomes responses,
//! each row checked with the submission rules. A file with any bad row
//! stores nothing and every bad row is reported by its line (header = 1).
//! Rows whose `response_id` is already stored are skipped, so running the
//! same import twice adds nothing.

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::rc::Rc;

use rustc_hash::{FxHashMap, FxHashSet};
use std::io::Read;

use chrono::NaiveDate;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::bulk::BulkResponse;
use crate::db::surveys::Wave;
use crate::export::microdata::MULTI_SEPARATOR;
use crate::survey::answers;
use crate::survey::{Lang, QuestionDef, QuestionKind, Survey};

/// Bad rows listed in full; beyond this they are only counted.
pub const LISTED_PROBLEMS: usize = 50;

/// One bad row: its line in the file and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file as a whole cannot be read as microdata.
    #[error("{0}")]
    Malformed(String),
    /// Some rows break the rules: nothing was stored.
    #[error("{} bad row(s); nothing was stored", .total)]
    BadRows {
        /// The first `LISTED_PROBLEMS`, in file order.
        listed: Vec<RowProblem>,
        total: u64,
    },
    #[error("{0}")]
    Store(String),
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub stored: u64,
    /// Rows whose response_id was already stored.
    pub skipped: u64,
}

/// Where a column's value goes.
#[derive(Debug, Clone, Copy)]
enum Column<'a> {
    Id,
    Date,
    Wave,
    Lang,
    BaseWeight,
    /// The final weight: the base weight only in a file without `base_weight`.
    Weight,
    Question(&'a QuestionDef),
    Choice(&'a QuestionDef, usize),
}

/// The header, understood.
struct Columns<'a> {
    columns: Vec<Column<'a>>,
    weight_is_base: bool,
}

impl<'a> Columns<'a> {
    fn from_header(
        questions: &'a [QuestionDef],
        header: &csv::StringRecord,
    ) -> Result<Columns<'a>, String> {
        let mut columns = Vec::with_capacity(header.len());
        let mut seen = HashSet::new();
        let mut problems = Vec::new();
        for (i, name) in header.iter().enumerate() {
            // Spreadsheets save UTF-8 with a byte-order mark.
            let name = if i == 0 {
                name.trim_start_matches('\u{feff}')
            } else {
                name
            };
            if !seen.insert(name.to_string()) {
                problems.push(format!("column {name:?} appears twice"));
                continue;
            }
            let column = match name {
                "response_id" => Some(Column::Id),
                "submitted_date" => Some(Column::Date),
                "wave" => Some(Column::Wave),
                "lang" => Some(Column::Lang),
                "base_weight" => Some(Column::BaseWeight),
                "weight" => Some(Column::Weight),
                _ => question_column(questions, name),
            };
            match column {
                Some(column) => columns.push(column),
                None => problems.push(format!("unknown column {name:?}")),
            }
        }
        if !seen.contains("submitted_date") {
            problems.push("no submitted_date column".to_string());
        }
        for q in questions
            .iter()
            .filter(|q| q.kind == QuestionKind::MultiChoice)
        {
            let present = q
                .options
                .iter()
                .filter(|o| seen.contains(&choice_column(q, &o.code)))
                .count();
            if present != 0 && present != q.options.len() {
                problems.push(format!(
                    "{} needs all of its {} option columns or none",
                    q.code,
                    q.options.len()
                ));
            }
        }
        if problems.is_empty() {
            Ok(Columns {
                columns,
                weight_is_base: !seen.contains("base_weight"),
            })
        } else {
            Err(format!(
                "the header is not this survey's microdata: {}",
                problems.join("; ")
            ))
        }
    }
}

fn choice_column(q: &QuestionDef, option: &str) -> String {
    format!("{}{MULTI_SEPARATOR}{option}", q.code)
}

fn question_column<'a>(questions: &'a [QuestionDef], name: &str) -> Option<Column<'a>> {
    if let Some(q) = questions
        .iter()
        .find(|q| q.code == name && q.kind != QuestionKind::MultiChoice)
    {
        return Some(Column::Question(q));
    }
    let (code, option) = name.split_once(MULTI_SEPARATOR)?;
    let q = questions
        .iter()
        .find(|q| q.code == code && q.kind == QuestionKind::MultiChoice)?;
    let index = q.options.iter().position(|o| o.code == option)?;
    Some(Column::Choice(q, index))
}

/// The survey facts a row is checked against.
pub struct Target<'a> {
    pub survey: &'a Survey,
    pub waves: &'a [Wave],
    /// The last date a response may carry (today in the survey's time zone).
    pub today: NaiveDate,
}

/// Parses one record into a response, or says everything wrong with it.
fn parse_row(
    target: &Target,
    columns: &Columns,
    record: &csv::StringRecord,
) -> Result<BulkResponse, Vec<String>> {
    let mut problems = Vec::new();
    let (mut id, mut date, mut wave, mut lang) = (None, None, None, None);
    let (mut base_weight, mut weight) = (None, None);
    let mut answers = Map::new();
    // Multi-choice columns, gathered per question: (code, chosen codes, cells seen, cells empty).
    let mut choices: Vec<(&str, Vec<Value>, usize, usize)> = Vec::new();
    for (column, cell) in columns.columns.iter().zip(record.iter()) {
        match column {
            // Only random (version 4) ids: other versions carry a time of
            // day or a sequence that the store must never keep.
            Column::Id if !cell.is_empty() => match Uuid::parse_str(cell) {
                Ok(uuid) if uuid.get_version_num() == 4 => {
                    id = Some(uuid.hyphenated().to_string())
                }
                Ok(_) => problems.push(format!(
                    "response_id: {cell:?} is not a random UUID (version 4); leave it empty for a new one"
                )),
                Err(_) => problems.push(format!("response_id: {cell:?} is not a UUID")),
            },
            Column::Id => {}
            Column::Date => match NaiveDate::parse_from_str(cell, "%Y-%m-%d") {
                Ok(d) if d > target.today => {
                    problems.push(format!("submitted_date: {d} is in the future"))
                }
                Ok(d) if crate::analysis::params::date_in_range(d) => date = Some(d),
                _ => problems.push(format!(
                    "submitted_date: {cell:?} is not a date YYYY-MM-DD from 1900 on"
                )),
            },
            Column::Wave if !cell.is_empty() => {
                let label = cell.strip_prefix('\'').unwrap_or(cell);
                match target.waves.iter().find(|w| w.label == label) {
                    Some(w) => wave = Some(w),
                    None => problems.push(format!("wave: no wave {cell:?} in this survey")),
                }
            }
            Column::Wave => {}
            Column::Lang if !cell.is_empty() => match Lang::parse(cell) {
                Some(l) => lang = Some(l),
                None => problems.push(format!("lang: {cell:?} is not ru or en")),
            },
            Column::Lang => {}
            Column::BaseWeight | Column::Weight => {
                let parsed = match parse_weight(cell) {
                    Ok(w) => w,
                    Err(reason) => {
                        let name = match column {
                            Column::BaseWeight => "base_weight",
                            _ => "weight",
                        };
                        if matches!(column, Column::BaseWeight) || columns.weight_is_base {
                            problems.push(format!("{name}: {reason}"));
                        }
                        continue;
                    }
                };
                match column {
                    Column::BaseWeight => base_weight = Some(parsed),
                    _ => weight = Some(parsed),
                }
            }
            Column::Question(q) => {
                if let Some(value) = cell_value(q, cell) {
                    answers.insert(q.code.clone(), value);
                }
            }
            Column::Choice(q, index) => {
                let at = match choices.iter().position(|c| c.0 == q.code) {
                    Some(at) => at,
                    None => {
                        choices.push((q.code.as_str(), Vec::new(), 0, 0));
                        choices.len() - 1
                    }
                };
                let entry = &mut choices[at];
                entry.2 += 1;
                match cell {
                    "" => entry.3 += 1,
                    "0" => {}
                    "1" => entry.1.push(Value::String(q.options[*index].code.clone())),
                    other => problems.push(format!(
                        "{}: {other:?} is not 0 or 1",
                        choice_column(q, &q.options[*index].code)
                    )),
                }
            }
        }
    }
    for (code, chosen, cells, empty) in choices {
        match empty {
            0 => {
                answers.insert(code.to_string(), Value::Array(chosen));
            }
            e if e == cells => {}
            _ => problems.push(format!(
                "{code}: some option columns are empty and some not (empty all for no answer)"
            )),
        }
    }
    // An empty wave stays empty: a survey may have been given waves after
    // some of its responses came in, and a round trip keeps them as they are.
    let wave = match (date, wave) {
        (Some(d), Some(w)) if !(w.opens <= d && d <= w.closes) => {
            problems.push(format!(
                "wave: {d} is outside wave {:?} ({} to {})",
                w.label, w.opens, w.closes
            ));
            None
        }
        (_, w) => w.map(|w| w.id),
    };
    let valid = answers::validate_record(&target.survey.definition, answers);
    if let Err(found) = &valid {
        problems.extend(found.iter().map(|p| {
            let q = target.survey.definition.question(&p.question);
            format!(
                "{}: {} ({})",
                p.question,
                p.problem.code(),
                p.problem.message(Lang::En, q)
            )
        }));
    }
    match (date, valid) {
        (Some(date), Ok(valid)) if problems.is_empty() => Ok(BulkResponse {
            id: id.unwrap_or_else(|| Uuid::new_v4().to_string()),
            date,
            wave_id: wave,
            lang: lang.unwrap_or(target.survey.definition.default_lang),
            base_weight: base_weight
                .or(if columns.weight_is_base { weight } else { None })
                .unwrap_or(1.0),
            answers: valid.into_map(),
        }),
        _ => Err(problems),
    }
}

/// A weight as the store keeps it: positive, finite, to 6 decimals (what the
/// export writes, so a round trip keeps every weight).
fn parse_weight(cell: &str) -> Result<f64, String> {
    let w: f64 = cell
        .parse()
        .map_err(|_| format!("{cell:?} is not a number"))?;
    let rounded = (w * 1e6).round() / 1e6;
    if rounded.is_finite() && rounded > 0.0 {
        Ok(rounded)
    } else {
        Err(format!(
            "{cell:?} is not a positive weight (at least 0.000001)"
        ))
    }
}

/// A cell as the answer JSON the submission rules check; None when empty.
fn cell_value(q: &QuestionDef, cell: &str) -> Option<Value> {
    if cell.is_empty() {
        return None;
    }
    Some(match q.kind {
        QuestionKind::Scale => match cell.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(cell.to_string()),
        },
        QuestionKind::YesNo => match cell {
            "1" => Value::Bool(true),
            "0" => Value::Bool(false),
            other => Value::String(other.to_string()),
        },
        // Export put one `'` before text a spreadsheet could run: take it off.
        QuestionKind::Text => Value::String(cell.strip_prefix('\'').unwrap_or(cell).to_string()),
        QuestionKind::SingleChoice | QuestionKind::MultiChoice => Value::String(cell.to_string()),
    })
}

/// Reads every row, yielding valid responses until the first bad one; after
/// it reads on only to report, and ends with the report as an error.
pub struct Rows<'a, R: Read> {
    reader: csv::Reader<Newlines<R>>,
    /// Offsets of the newlines not yet passed, and how many were passed.
    newlines: Rc<RefCell<VecDeque<u64>>>,
    lines_before: u64,
    record: csv::StringRecord,
    target: &'a Target<'a>,
    columns: Columns<'a>,
    /// Response ids already stored for the survey, and those seen in the file.
    stored_ids: FxHashSet<u128>,
    file_ids: FxHashMap<u128, u64>,
    skipped: u64,
    listed: Vec<RowProblem>,
    total_problems: u64,
    done: bool,
    progress: &'a mut dyn FnMut(u64),
    rows_read: u64,
}

impl<R: Read> Rows<'_, R> {
    /// The file line (1-based) holding byte `offset`. Counted here: the csv
    /// reader's own line numbers are one short after a CRLF line end or a
    /// blank line.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut newlines = self.newlines.borrow_mut();
        while newlines.front().is_some_and(|n| *n < offset) {
            newlines.pop_front();
            self.lines_before += 1;
        }
        self.lines_before + 1
    }

    /// The line the record just read starts on: the line of its last byte,
    /// less the newlines inside its quoted fields (its start offset would
    /// point at a blank line before it).
    fn record_line(&mut self) -> u64 {
        let end = self.reader.position().byte();
        let inside: usize = self
            .record
            .iter()
            .map(|f| f.bytes().filter(|b| *b == b'\n').count())
            .sum();
        self.line_at(end.saturating_sub(1))
            .saturating_sub(inside as u64)
    }

    /// Rows skipped so far because their response_id is stored.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn problem(&mut self, line: u64, reason: String) {
        self.total_problems += 1;
        if self.listed.len() < LISTED_PROBLEMS {
            self.listed.push(RowProblem { line, reason });
        }
    }
}

impl<R: Read> Iterator for Rows<'_, R> {
    type Item = Result<BulkResponse, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            let read = self.reader.read_record(&mut self.record);
            self.rows_read += 1;
            if self.rows_read.is_multiple_of(4096) {
                (self.progress)(self.reader.position().byte());
            }
            let line = self.record_line();
            match read {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    (self.progress)(self.reader.position().byte());
                    if self.total_problems == 0 {
                        return None;
                    }
                    return Some(Err(ImportError::BadRows {
                        listed: std::mem::take(&mut self.listed),
                        total: self.total_problems,
                    }));
                }
                Err(e) => match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        self.problem(
                            line,
                            format!("{len} fields where the header has {expected_len}"),
                        );
                        continue;
                    }
                    _ => {
                        self.done = true;
                        let at = e.position().map(|p| self.line_at(p.byte()));
                        return Some(Err(ImportError::Malformed(read_error(&e, at))));
                    }
                },
            }
            match parse_row(self.target, &self.columns, &self.record) {
                Ok(response) => {
                    let key = Uuid::parse_str(&response.id).map_or(0, |u| u.as_u128());
                    if let Some(first) = self.file_ids.insert(key, line) {
                        self.problem(
                            line,
                            format!("response_id: {} repeats line {first}", response.id),
                        );
                        continue;
                    }
                    if self.stored_ids.contains(&key) {
                        self.skipped += 1;
                        continue;
                    }
                    if self.total_problems == 0 {
                        return Some(Ok(response));
                    }
                }
                Err(problems) => {
                    let reason = problems.join("; ");
                    self.problem(line, reason);
                }
            }
        }
    }
}

fn read_error(e: &csv::Error, line: Option<u64>) -> String {
    let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => format!("{at}the file is not UTF-8 text"),
        csv::ErrorKind::Io(io) => format!("reading the file: {io}"),
        _ => format!("{at}{e}"),
    }
}

/// The input, noting the offset of every newline that passes through.
pub struct Newlines<R> {
    inner: R,
    read: u64,
    seen: Rc<RefCell<VecDeque<u64>>>,
}

impl<R: Read> Read for Newlines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut seen = self.seen.borrow_mut();
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, b)| **b == b'\n') {
            seen.push_back(self.read + i as u64);
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// Opens a microdata CSV for import: the header is checked whole, then the
/// rows come one by one as responses (rows whose id is in `stored_ids` are
/// skipped), ending with the report if any row was bad. `progress` hears the
/// bytes read so far.
pub fn rows<'a, R: Read>(
    input: R,
    target: &'a Target<'a>,
    stored_ids: FxHashSet<u128>,
    progress: &'a mut dyn FnMut(u64),
) -> Result<Rows<'a, R>, ImportError> {
    let newlines = Rc::new(RefCell::new(VecDeque::new()));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(Newlines {
            inner: input,
            read: 0,
            seen: Rc::clone(&newlines),
        });
    let header = match reader.headers() {
        Ok(h) if h.is_empty() || (h.len() == 1 && h[0].is_empty()) => {
            return Err(ImportError::Malformed(
                "the file is empty: it needs a header row".into(),
            ));
        }
        Ok(h) => h.clone(),
        Err(e) => return Err(ImportError::Malformed(read_error(&e, Some(1)))),
    };
    let questions = &target.survey.definition.questions;
    let columns = Columns::from_header(questions, &header).map_err(ImportError::Malformed)?;
    Ok(Rows {
        reader,
        newlines,
        lines_before: 0,
        record: csv::StringRecord::new(),
        target,
        columns,
        stored_ids,
        file_ids: FxHashMap::default(),
        skipped: 0,
        listed: Vec::new(),
        total_problems: 0,
        done: false,
        progress,
        rows_read: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;

    fn survey() -> Survey {
        Survey {
            id: 1,
            status: crate::survey::Status::Open,
            access: crate::survey::Access::Open,
            synthetic: false,
            definition: demo::definition(),
        }
    }

    fn parse(header: &str, row: &str) -> Result<BulkResponse, Vec<String>> {
        let survey = survey();
        let target = Target {
            survey: &survey,
            waves: &[],
            today: NaiveDate::from_ymd_opt(2024, 12, 31).unwrap(),
        };
        let header = csv::StringRecord::from(header.split(',').collect::<Vec<_>>());
        let columns = Columns::from_header(&survey.definition.questions, &header).unwrap();
        let record = csv::StringRecord::from(row.split(',').collect::<Vec<_>>());
        parse_row(&target, &columns, &record)
    }

    const HEADER: &str = "response_id,submitted_date,wave,lang,base_weight,weight,portal_account,portal_trust,concerns__data_leak,concerns__identity_theft,concerns__draft_notices,concerns__surveillance,concerns__hard_to_use,concerns__none,comment,age_band,region,settlement";

    #[test]
    fn a_good_row_becomes_canonical_answers() {
        let r = parse(
            HEADER,
            "9c7a0a44-2f7e-4a51-8f0e-7a1b8e0a9d11,2023-05-02,,en,1.2345674,0.9,deleted,2,1,0,1,0,0,0,'=x,25-34,volga,city",
        )
        .unwrap();
        assert_eq!(r.id, "9c7a0a44-2f7e-4a51-8f0e-7a1b8e0a9d11");
        assert_eq!(r.base_weight, 1.234567, "base weight, to 6 decimals");
        assert_eq!(r.lang, Lang::En);
        assert_eq!(r.answers["portal_trust"], Value::from(2));
        assert_eq!(
            r.answers["concerns"],
            serde_json::json!(["data_leak", "draft_notices"])
        );
        assert_eq!(r.answers["comment"], "=x", "one leading quote removed");
    }

    #[test]
    fn every_problem_of_a_bad_row_is_named() {
        let problems = parse(
            HEADER,
            "nope,2023-02-30,,de,0,1,maybe,9,1,,0,0,0,0,,25-34,volga,city",
        )
        .unwrap_err();
        let all = problems.join(" | ");
        for expected in [
            "response_id",
            "submitted_date",
            "lang",
            "base_weight",
            "portal_account: unknown_option",
            "portal_trust: out_of_range",
            "concerns: some option columns are empty",
        ] {
            assert!(all.contains(expected), "{expected} missing from {all}");
        }
    }

    #[test]
    fn weight_is_the_base_weight_only_without_base_weight() {
        let header = "submitted_date,weight,portal_account,portal_trust,age_band,region,settlement";
        let r = parse(header, "2023-05-02,2.5,active,dk,na,na,na").unwrap();
        assert_eq!(r.base_weight, 2.5);
        let r = parse(
            "submitted_date,base_weight,weight,portal_account,portal_trust,age_band,region,settlement",
            "2023-05-02,1.5,x,active,dk,na,na,na",
        )
        .unwrap();
        assert_eq!(r.base_weight, 1.5, "the final weight is ignored then");
    }

    #[test]
    fn a_header_that_is_not_microdata_is_refused_whole() {
        let survey = survey();
        let bad = csv::StringRecord::from(vec!["submitted_date", "colour", "concerns__none"]);
        let message = Columns::from_header(&survey.definition.questions, &bad)
            .err()
            .unwrap();
        assert!(message.contains("unknown column \"colour\""), "{message}");
        assert!(message.contains("concerns needs all"), "{message}");
        let none = csv::StringRecord::from(vec!["portal_trust"]);
        assert!(
            Columns::from_header(&survey.definition.questions, &none)
                .err()
                .unwrap()
                .contains("no submitted_date")
        );
    }

    /// Every row of a file, or the report of its bad rows.
    fn import_lines(bytes: &[u8]) -> Result<usize, ImportError> {
        let survey = survey();
        let target = Target {
            survey: &survey,
            waves: &[],
            today: NaiveDate::from_ymd_opt(2024, 12, 31).unwrap(),
        };
        let mut progress = |_| {};
        let rows = rows(bytes, &target, FxHashSet::default(), &mut progress)?;
        rows.collect::<Result<Vec<_>, _>>().map(|r| r.len())
    }

    #[test]
    fn bad_rows_are_named_by_their_line_whatever_the_line_ends() {
        let header = "submitted_date,portal_account,portal_trust,comment";
        for end in ["\n", "\r\n"] {
            let file = [
                header,
                "2024-01-02,active,3,\"two\nlines\"",
                "",
                "2024-01-03,maybe,3,",
                "2024-01-04,active,3,",
                "2024-01-05,active",
                "",
            ]
            .join(end);
            match import_lines(file.as_bytes()) {
                Err(ImportError::BadRows { listed, total }) => {
                    assert_eq!(total, 2, "{end:?}");
                    assert_eq!(listed[0].line, 5, "{end:?}: {listed:?}");
                    assert_eq!(listed[1].line, 7, "{end:?}: {listed:?}");
                }
                other => panic!("{end:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn only_random_ids_are_kept() {
        let v1 = "response_id,submitted_date,portal_account,portal_trust\nc232ab00-9414-11ec-b3c8-9f6bdeced846,2024-01-02,active,3\n";
        match import_lines(v1.as_bytes()) {
            Err(ImportError::BadRows { listed, .. }) => {
                assert!(listed[0].reason.contains("version 4"), "{listed:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_question_made_required_later_does_not_refuse_older_records() {
        // portal_trust is required today; an older record without it imports.
        let old = "submitted_date,portal_account\n2022-01-02,active\n";
        assert_eq!(import_lines(old.as_bytes()).unwrap(), 1);
    }

    #[test]
    fn future_dates_are_refused() {
        let problems = parse(
            "submitted_date,portal_account,portal_trust,age_band,region,settlement",
            "2025-01-01,active,3,na,na,na",
        )
        .unwrap_err();
        assert!(problems[0].contains("in the future"));
    }
}
