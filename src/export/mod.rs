//! Researchers' exports, and the import that reads microdata back.
//! `microdata` formats rows (pure); `write_microdata` reads them from one
//! snapshot of the store a page at a time, so any size streams in flat memory.

pub mod codebook;
pub mod datapackage;
pub mod import;
pub mod microdata;

use std::collections::HashMap;
use std::sync::mpsc;

use chrono::NaiveDate;
use diesel::Connection;

use crate::aggregate::EVERYONE;
use crate::analysis::params::date_in_range;
use crate::analysis::service::Loaded;
use crate::analysis::weighting::{self, RakePeriod};
use crate::db::responses::ExportRow;
use crate::db::surveys::Wave;
use crate::db::{DbConnection, aggregates, responses};
use crate::error::{AppError, AppResult, Detail};
use crate::export::microdata::{Layout, Row};

/// Which responses, and whether free text goes out.
#[derive(Debug, Clone)]
pub struct MicrodataOptions {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// A wave by id (the filter names it by label).
    pub wave: Option<i32>,
    pub include_text: bool,
}

/// The query parameters of the microdata export.
pub const MICRODATA_PARAMS: [&str; 4] = ["from", "to", "wave", "include_text"];

impl MicrodataOptions {
    /// Every response, no free text.
    pub fn everything() -> MicrodataOptions {
        MicrodataOptions {
            from: first_date(),
            to: last_date(),
            wave: None,
            include_text: false,
        }
    }

    /// `from`, `to` (dates), `wave` (a label) and `include_text`
    /// (true|false); every problem at once (422).
    pub fn parse(query: &HashMap<String, String>, waves: &[Wave]) -> AppResult<MicrodataOptions> {
        let mut problems = Vec::new();
        let mut date = |name: &str, default: NaiveDate| match query.get(name) {
            None => default,
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) if date_in_range(d) => d,
                _ => {
                    problems.push(Detail::field(
                        name,
                        "invalid_date",
                        "a date YYYY-MM-DD from 1900-01-01 to 2199-12-31",
                    ));
                    default
                }
            },
        };
        let from = date("from", first_date());
        let to = date("to", last_date());
        let wave = match query.get("wave") {
            None => None,
            Some(label) => match waves.iter().find(|w| &w.label == label) {
                Some(w) => Some(w.id),
                None => {
                    problems.push(Detail::field(
                        "wave",
                        "unknown_wave",
                        format!("no wave {label:?}"),
                    ));
                    None
                }
            },
        };
        let include_text = match query.get("include_text").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                problems.push(Detail::field("include_text", "invalid", "true or false"));
                false
            }
        };
        problems.extend(unknown_parameters(query, &MICRODATA_PARAMS));
        if from > to {
            problems.push(Detail::field(
                "from",
                "after_to",
                "from must not be after to",
            ));
        }
        if problems.is_empty() {
            Ok(MicrodataOptions {
                from,
                to,
                wave,
                include_text,
            })
        } else {
            Err(AppError::invalid(
                "the parameters do not fit this survey",
                problems,
            ))
        }
    }
}

/// A 422 detail for every parameter not in `known`, in name order.
pub fn unknown_parameters(query: &HashMap<String, String>, known: &[&str]) -> Vec<Detail> {
    let mut unknown: Vec<&String> = query
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

fn first_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
}

fn last_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2199, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Responses per page read from the store (and per chunk written).
const PAGE: i64 = 5_000;

/// Runs `work` in one read snapshot: a response stored meanwhile is wholly
/// in or out of everything it reads.
pub fn snapshot<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> AppResult<T>,
) -> AppResult<T> {
    conn.transaction(|conn| {
        if let DbConnection::Pg(c) = conn {
            use diesel::RunQueryDsl;
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(c)?;
        }
        work(conn)
    })
}

/// Writes the microdata CSV to `sink` a chunk at a time from one snapshot.
/// `sink` returns false when the reader has gone: writing stops.
pub fn write_microdata(
    conn: &mut DbConnection,
    loaded: &Loaded,
    options: &MicrodataOptions,
    sink: impl FnMut(Vec<u8>) -> bool,
) -> AppResult<()> {
    snapshot(conn, |conn| {
        write_microdata_rows(conn, loaded, options, sink)
    })
}

/// Writes the zipped data package to `out` from one snapshot.
pub fn write_datapackage(
    conn: &mut DbConnection,
    loaded: &Loaded,
    min_cell: u32,
    today: NaiveDate,
    out: impl std::io::Write,
) -> AppResult<()> {
    snapshot(conn, |conn| {
        datapackage::write(conn, loaded, min_cell, today, out)
    })
}

/// The microdata rows, inside the caller's transaction.
pub fn write_microdata_rows(
    conn: &mut DbConnection,
    loaded: &Loaded,
    options: &MicrodataOptions,
    mut sink: impl FnMut(Vec<u8>) -> bool,
) -> AppResult<()> {
    let (survey, waves, targets) = (&loaded.survey, &loaded.waves, &loaded.targets);
    // The final weights the series use: raked per wave (else month) on
    // every stored response; the base weights where raking is off or fails.
    let weighted = !targets.shares.is_empty();
    let everyone = if weighted {
        aggregates::pieces_raw(
            conn,
            survey.id,
            EVERYONE,
            NaiveDate::MIN,
            NaiveDate::MAX,
            NaiveDate::MAX,
        )?
    } else {
        Vec::new()
    };
    let weights = weighting::weights(survey, &targets.shares, waves, &everyone, weighted)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("aggregate sums: {e}")))?;
    let layout = Layout::new(&survey.definition, options.include_text);
    let mut out = page_writer();
    out.write_record(layout.header()).map_err(csv_error)?;
    if !sink(take(out)?) {
        return Ok(());
    }
    let format = PageFormat {
        layout: &layout,
        weights: &weights,
        waves,
    };
    // This thread reads pages (the connection stays here) while FORMATTERS
    // threads turn them into CSV, each page handed out in turn and taken back
    // in the same turn, so the output keeps the page order. A formatted page
    // comes back with its rows, which are dropped here where they were
    // allocated: freeing them on the formatter's thread made both wait on
    // the allocator's locks.
    std::thread::scope(|scope| {
        let mut workers = Vec::with_capacity(FORMATTERS);
        for _ in 0..FORMATTERS {
            let (to_worker, pages) = mpsc::sync_channel::<Vec<ExportRow>>(1);
            let (to_reader, formatted) = mpsc::sync_channel::<Formatted>(1);
            let format = &format;
            scope.spawn(move || {
                for page in pages {
                    let bytes = format.page(&page);
                    if to_reader.send((bytes, page)).is_err() {
                        break;
                    }
                }
            });
            workers.push((to_worker, formatted));
        }
        let mut in_flight = std::collections::VecDeque::with_capacity(FORMATTERS);
        let mut next = 0;
        let mut after: Option<(NaiveDate, String)> = None;
        let mut reading = true;
        while reading || !in_flight.is_empty() {
            if reading {
                let page = responses::export_page(
                    conn,
                    survey.id,
                    after.as_ref(),
                    (options.from, options.to),
                    options.wave,
                    PAGE,
                )?;
                match page.last() {
                    None => reading = false,
                    Some(last) => {
                        after = Some((last.1, last.0.clone()));
                        workers[next].0.send(page).map_err(|_| gone())?;
                        in_flight.push_back(next);
                        next = (next + 1) % FORMATTERS;
                    }
                }
            }
            if in_flight.len() == FORMATTERS || (!reading && !in_flight.is_empty()) {
                let worker = in_flight.pop_front().expect("a page in flight");
                let (bytes, rows) = workers[worker].1.recv().map_err(|_| gone())?;
                drop(rows);
                if !sink(bytes?) {
                    return Ok(());
                }
            }
        }
        Ok(())
    })
}

/// Threads formatting pages of microdata while the reader reads on.
const FORMATTERS: usize = 2;

/// A formatted page, and its rows handed back to be dropped by the reader.
type Formatted = (AppResult<Vec<u8>>, Vec<ExportRow>);

fn gone() -> AppError {
    internal_msg("a microdata formatter stopped".to_string())
}

/// What formatting a page needs: the columns, the final weights, the waves.
struct PageFormat<'a> {
    layout: &'a Layout<'a>,
    weights: &'a weighting::Weights,
    waves: &'a [Wave],
}

impl PageFormat<'_> {
    fn page(&self, page: &[ExportRow]) -> AppResult<Vec<u8>> {
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
fn page_writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::with_capacity(1 << 20))
}

/// A page's bytes.
fn take(out: csv::Writer<Vec<u8>>) -> AppResult<Vec<u8>> {
    out.into_inner().map_err(|e| internal_msg(e.to_string()))
}

fn csv_error(e: csv::Error) -> AppError {
    AppError::Internal(e.into())
}

fn internal_msg(message: String) -> AppError {
    AppError::Internal(anyhow::anyhow!(message))
}

/// 422 naming every parameter given to a download that takes none.
pub fn no_parameters(query: &HashMap<String, String>) -> AppResult<()> {
    let problems = unknown_parameters(query, &[]);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid(
            "this download takes no parameters",
            problems,
        ))
    }
}

/// A download, as `trustpulse export` and the HTTP downloads write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    Responses,
    Series,
    CodebookCsv,
    CodebookJson,
    DataPackage,
}

/// Writes one download to `out`, as a researcher sees it (exact figures,
/// today included). `query` holds the HTTP query parameters.
pub fn write_download(
    conn: &mut DbConnection,
    loaded: &Loaded,
    what: Download,
    query: &HashMap<String, String>,
    min_cell: u32,
    out: &mut dyn std::io::Write,
) -> AppResult<()> {
    let io = |e: std::io::Error| AppError::Internal(anyhow::anyhow!("writing: {e}"));
    let def = &loaded.survey.definition;
    match what {
        Download::Responses => {
            let options = MicrodataOptions::parse(query, &loaded.waves)?;
            let mut failed = None;
            write_microdata(conn, loaded, &options, |chunk| {
                match out.write_all(&chunk) {
                    Ok(()) => true,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })?;
            failed.map_or(Ok(()), |e| Err(io(e)))
        }
        Download::Series => {
            let reader = crate::analysis::service::Reader::new(loaded, false, min_cell);
            let csv = reader.series_csv(conn, query)?;
            out.write_all(&csv.body).map_err(io)
        }
        Download::CodebookCsv => {
            no_parameters(query)?;
            let book = codebook::Codebook::new(def, &loaded.waves, &loaded.targets);
            let body = book.csv(def).map_err(|e| AppError::Internal(e.into()))?;
            out.write_all(&body).map_err(io)
        }
        Download::CodebookJson => {
            no_parameters(query)?;
            let book = codebook::Codebook::new(def, &loaded.waves, &loaded.targets);
            serde_json::to_writer(&mut *out, &book).map_err(|e| AppError::Internal(e.into()))
        }
        Download::DataPackage => {
            no_parameters(query)?;
            let today = crate::submission::local_today(&loaded.survey);
            write_datapackage(conn, loaded, min_cell, today, &mut *out)
        }
    }
}
