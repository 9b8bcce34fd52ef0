//! Researchers' downloads and the import, against the store: each reads in
//! one snapshot (or writes in one transaction) and hands rows to the pure
//! formats of `export`. The CLI and the HTTP handlers both call these, so
//! they write the same bytes.

use std::collections::HashMap;
use std::io::Write;
use std::sync::mpsc;

use chrono::{Datelike, NaiveDate};
use diesel::Connection;

use crate::aggregate::EVERYONE;
use crate::analysis::service::{Loaded, Reader};
use crate::analysis::weighting;
use crate::bulk::{self, BulkError};
use crate::db::responses::ExportRow;
use crate::db::{DbConnection, aggregates, responses};
use crate::error::{AppError, AppResult};
use crate::export::codebook::Codebook;
use crate::export::datapackage::{descriptor, readme, series_queries, tracked};
use crate::export::import::{self, ImportError, Imported, Target};
use crate::export::microdata::{Layout, PageFormat, csv_error, internal_msg, page_writer, take};
use crate::export::{MicrodataOptions, no_parameters};

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
        write_package(conn, loaded, min_cell, today, out)
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
            let book = Codebook::new(def, &loaded.waves, &loaded.targets);
            let body = book.csv(def).map_err(|e| AppError::Internal(e.into()))?;
            out.write_all(&body).map_err(io)
        }
        Download::CodebookJson => {
            no_parameters(query)?;
            let book = Codebook::new(def, &loaded.waves, &loaded.targets);
            serde_json::to_writer(&mut *out, &book).map_err(|e| AppError::Internal(e.into()))
        }
        Download::DataPackage => {
            no_parameters(query)?;
            let today = crate::submission::local_today(&loaded.survey);
            write_datapackage(conn, loaded, min_cell, today, &mut *out)
        }
    }
}

/// Writes the zipped package to `out`, every figure read inside the caller's
/// snapshot. Series are the exact (researcher) figures.
fn write_package(
    conn: &mut DbConnection,
    loaded: &Loaded,
    min_cell: u32,
    today: NaiveDate,
    out: impl Write,
) -> AppResult<()> {
    let def = &loaded.survey.definition;
    let book = Codebook::new(def, &loaded.waves, &loaded.targets);
    let rows = crate::db::responses::count(conn, loaded.survey.id)? as u64;
    let stamp = zip::DateTime::from_date_and_time(
        today.year().clamp(1980, 2107) as u16,
        today.month() as u8,
        today.day() as u8,
        0,
        0,
        0,
    )
    .map_err(|e| zip_error(e.to_string()))?;
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(stamp);
    let mut zip = zip::ZipWriter::new_stream(out);
    let entry = |zip: &mut zip::ZipWriter<_>, name: &str, bytes: &[u8]| -> AppResult<()> {
        zip.start_file(name, options)
            .map_err(|e| zip_error(e.to_string()))?;
        zip.write_all(bytes).map_err(|e| zip_error(e.to_string()))
    };
    let package = serde_json::to_vec_pretty(&descriptor(loaded, &book, today))
        .map_err(|e| AppError::Internal(e.into()))?;
    entry(&mut zip, "datapackage.json", &package)?;
    entry(
        &mut zip,
        "README.md",
        readme(loaded, &book, today, rows).as_bytes(),
    )?;
    let codebook = book.csv(def).map_err(|e| AppError::Internal(e.into()))?;
    entry(&mut zip, "codebook.csv", &codebook)?;
    let reader = Reader::new(loaded, false, min_cell);
    let weighted = !loaded.targets.shares.is_empty();
    for q in tracked(def) {
        let mut file = Vec::new();
        for (i, query) in series_queries(q, weighted).iter().enumerate() {
            let csv = reader.series_csv(conn, query)?;
            // One header for the file: later parts start after their own.
            let body = if i == 0 {
                &csv.body[..]
            } else {
                let start = csv
                    .body
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(0, |p| p + 1);
                &csv.body[start..]
            };
            file.extend_from_slice(body);
        }
        entry(&mut zip, &format!("series/{}.csv", q.code), &file)?;
    }
    zip.start_file("responses.csv", options)
        .map_err(|e| zip_error(e.to_string()))?;
    let everything = MicrodataOptions::everything();
    let mut failed = None;
    write_microdata_rows(conn, loaded, &everything, |chunk| {
        match zip.write_all(&chunk) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(zip_error(e.to_string()));
    }
    let mut out = zip.finish().map_err(|e| zip_error(e.to_string()))?;
    out.flush().map_err(|e| zip_error(e.to_string()))
}

fn zip_error(message: String) -> AppError {
    AppError::Internal(anyhow::anyhow!("writing the data package: {message}"))
}

/// Imports a microdata CSV into the survey: all rows or none (see
/// `export::import`). `progress` hears the bytes read so far.
pub fn import_csv(
    conn: &mut DbConnection,
    target: &Target,
    input: impl std::io::Read,
    progress: &mut dyn FnMut(u64),
) -> Result<Imported, ImportError> {
    let stored_ids = responses::ids(conn, target.survey.id)
        .map_err(|e| ImportError::Store(e.to_string()))?
        .iter()
        .filter_map(|id| uuid::Uuid::parse_str(id).ok().map(|u| u.as_u128()))
        .collect();
    let mut rows = import::rows(input, target, stored_ids, progress)?;
    let stored = bulk::load(
        conn,
        target.survey.id,
        &target.survey.definition,
        &mut rows,
        |_| {},
    );
    match stored {
        Ok(stored) => Ok(Imported {
            stored,
            skipped: rows.skipped(),
        }),
        Err(BulkError::Source(e)) => Err(e),
        Err(BulkError::Store(e)) if responses::is_duplicate(&e) => Err(ImportError::Store(
            "a response_id in the file belongs to a response of another survey".into(),
        )),
        Err(BulkError::Store(e)) => Err(ImportError::Store(e.to_string())),
    }
}
