//! Bulk loading: many dated, already validated responses stored in one
//! transaction, their aggregate sums merged in memory and written once at the
//! end. The demo loader and the CSV import share it.
//!
//! Two threads share the work: the caller's prepares rows (encodes answers,
//! draws record keys, sums the aggregates) while a writer inserts the batch
//! before. A source that yields an error stops the load and nothing is kept.

use std::sync::mpsc;

use chrono::NaiveDate;
use diesel::Connection;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{Map, Value};

use crate::db::DbConnection;
use crate::db::aggregates::{self, Pending};
use crate::db::responses::{self, NewResponse};
use crate::stats::sums::Sums;
use crate::survey::{Lang, SurveyDefinition};

/// One response to store, its answers valid for the survey.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkResponse {
    /// A UUID, as text.
    pub id: String,
    pub date: NaiveDate,
    pub wave_id: Option<i32>,
    pub lang: Lang,
    pub base_weight: f64,
    pub answers: Map<String, Value>,
}

/// Why a load stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum BulkError<E> {
    /// The source gave up (a bad row, an unreadable file).
    #[error("{0}")]
    Source(E),
    #[error("storing responses: {0}")]
    Store(#[from] diesel::result::Error),
}

/// Rows per batch handed to the writer.
const BATCH: usize = 5_000;

enum ToWriter {
    Rows(Vec<NewResponse>),
    /// Every row is sent: write the sums and commit.
    Commit(Box<Pending>),
}

/// Stores every response of `source` in one transaction, or none of them:
/// the first `Err` from the source rolls everything back and is returned.
/// `progress` hears the number of rows prepared so far, after each batch.
pub fn load<E>(
    conn: &mut DbConnection,
    survey_id: i32,
    def: &SurveyDefinition,
    source: impl Iterator<Item = Result<BulkResponse, E>>,
    mut progress: impl FnMut(u64),
) -> Result<u64, BulkError<E>> {
    let (to_writer, from_loader) = mpsc::sync_channel::<ToWriter>(2);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| write(&mut *conn, survey_id, from_loader));
        let mut sums = Pending::default();
        let mut keys = os_seeded_rng();
        let mut batch = Vec::with_capacity(BATCH);
        let mut prepared = 0u64;
        let mut outcome = Ok(());
        for item in source {
            let response = match item {
                Ok(response) => response,
                Err(e) => {
                    outcome = Err(BulkError::Source(e));
                    break;
                }
            };
            batch.push(prepare(&mut sums, &mut keys, def, survey_id, response));
            if batch.len() == BATCH {
                prepared += BATCH as u64;
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if to_writer.send(ToWriter::Rows(full)).is_err() {
                    break; // the writer failed: its error is returned below
                }
                progress(prepared);
            }
        }
        if outcome.is_ok() {
            prepared += batch.len() as u64;
            let _ = to_writer.send(ToWriter::Rows(batch));
            let _ = to_writer.send(ToWriter::Commit(Box::new(sums)));
            progress(prepared);
        }
        // Without a commit message the writer rolls back.
        drop(to_writer);
        let written = writer.join().expect("the bulk writer does not panic");
        outcome?;
        Ok(written?)
    })
    .and_then(|stored| {
        // Fresh statistics: before autovacuum gets to them, PostgreSQL
        // planned an export page as a sort of every later row (1M: 7 s
        // instead of 3.7 s for the whole export).
        if let DbConnection::Pg(c) = conn {
            use diesel::RunQueryDsl;
            diesel::sql_query("ANALYZE responses, agg_pieces, agg_days").execute(c)?;
        }
        Ok(stored)
    })
}

/// A cryptographic generator seeded by the operating system: record keys and
/// ids must be unpredictable, and one system call per row would cost more
/// than the rest of preparing it.
pub fn os_seeded_rng() -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the operating system's random source");
    ChaCha20Rng::from_seed(seed)
}

/// The stored row for one response; its sums go into `sums`.
fn prepare(
    sums: &mut Pending,
    keys: &mut ChaCha20Rng,
    def: &SurveyDefinition,
    survey_id: i32,
    response: BulkResponse,
) -> NewResponse {
    let record_key = i64::from(keys.random::<u32>());
    sums.add_response(
        def,
        response.date,
        response.wave_id,
        &response.answers,
        Sums::keyed(response.base_weight, record_key as u32),
        1,
    );
    NewResponse {
        id: response.id,
        survey_id,
        wave_id: response.wave_id,
        submitted_date: response.date,
        lang: response.lang.as_str().to_string(),
        submission_id: None,
        base_weight: response.base_weight,
        answers: serde_json::to_string(&response.answers).expect("JSON values always serialize"),
        record_key,
    }
}

/// The writer: inserts batches as they come, then the sums, in one
/// transaction; rolls back if the loader stops without a commit message.
fn write(
    conn: &mut DbConnection,
    survey_id: i32,
    batches: mpsc::Receiver<ToWriter>,
) -> diesel::QueryResult<u64> {
    conn.transaction(|conn| {
        let mut stored = 0u64;
        for message in batches {
            match message {
                ToWriter::Rows(rows) => {
                    responses::insert_many(conn, &rows)?;
                    stored += rows.len() as u64;
                }
                ToWriter::Commit(sums) => {
                    if stored > 0 {
                        aggregates::apply_bulk(conn, survey_id, &sums)?;
                    }
                    return Ok(stored);
                }
            }
        }
        Err(diesel::result::Error::RollbackTransaction)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;

    #[test]
    fn a_prepared_row_keeps_its_id_date_weight_and_answers_and_is_summed() {
        let def = demo::definition();
        let response = demo::Generator::new(1).next_response();
        let bulk = BulkResponse {
            id: "5b0f6f0e-8d8e-4c11-9a43-000000000001".into(),
            date: response.date,
            wave_id: None,
            lang: response.lang,
            base_weight: 1.5,
            answers: response.answers.clone(),
        };
        let mut sums = Pending::default();
        let row = prepare(&mut sums, &mut os_seeded_rng(), &def, 4, bulk);
        assert_eq!(row.id, "5b0f6f0e-8d8e-4c11-9a43-000000000001");
        assert_eq!((row.survey_id, row.base_weight), (4, 1.5));
        assert_eq!(row.submitted_date, response.date);
        let stored: Map<String, Value> = serde_json::from_str(&row.answers).unwrap();
        assert_eq!(stored, response.answers);
        let everyone = sums
            .entries()
            .into_iter()
            .find(|e| e.0.ends_with("||*"))
            .expect("an everyone sum");
        assert_eq!((everyone.1, everyone.2), (1, 1.5));
        assert_eq!(everyone.4, row.record_key as u32);
    }
}
