//! Researchers' exports. `microdata` formats rows (pure); `write_microdata`
//! reads them from one snapshot of the store a page at a time, so any size
//! streams in flat memory.

pub mod microdata;

use chrono::NaiveDate;
use diesel::Connection;

use crate::aggregate::{self, EVERYONE};
use crate::analysis::weighting::{self, RakePeriod};
use crate::db::surveys::Wave;
use crate::db::targets::StoredTargets;
use crate::db::{DbConnection, aggregates, responses};
use crate::error::{AppError, AppResult};
use crate::export::microdata::{Layout, Row};
use crate::survey::Survey;

/// Which responses, and whether free text goes out.
#[derive(Debug, Clone)]
pub struct MicrodataOptions {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// A wave by id (the filter names it by label).
    pub wave: Option<i32>,
    pub include_text: bool,
}

/// Responses per page read from the store (and per chunk written).
const PAGE: i64 = 5_000;

/// Writes the microdata CSV to `sink` a chunk at a time, all read inside one
/// transaction (one snapshot, so a response stored meanwhile is either wholly
/// in or out). `sink` returns false when the reader has gone: writing stops.
pub fn write_microdata(
    conn: &mut DbConnection,
    survey: &Survey,
    waves: &[Wave],
    targets: &StoredTargets,
    options: &MicrodataOptions,
    mut sink: impl FnMut(Vec<u8>) -> bool,
) -> AppResult<()> {
    conn.transaction(|conn| {
        if let DbConnection::Pg(c) = conn {
            use diesel::RunQueryDsl;
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(c)?;
        }
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
        if !sink(encode([layout.header()])?) {
            return Ok(());
        }
        let mut after: Option<(NaiveDate, String)> = None;
        loop {
            let page = responses::export_page(
                conn,
                survey.id,
                after.as_ref(),
                (options.from, options.to),
                options.wave,
                PAGE,
            )?;
            let Some(last) = page.last() else { break };
            after = Some((last.1, last.0.clone()));
            let mut records = Vec::with_capacity(page.len());
            for (id, date, wave_id, lang, base_weight, answers) in page {
                let answers: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&answers).map_err(|e| internal_msg(e.to_string()))?;
                let rake = RakePeriod::of(date, wave_id.unwrap_or(0));
                let g = if weights.raked(rake) {
                    weights.factor(rake, &aggregate::cell_of(&survey.definition, &answers))
                } else {
                    1.0
                };
                let row = Row {
                    id,
                    date,
                    wave: wave_id
                        .and_then(|w| waves.iter().find(|x| x.id == w))
                        .map(|w| w.label.clone()),
                    lang,
                    base_weight,
                    weight: g * base_weight,
                    answers,
                };
                records.push(layout.record(&row));
            }
            if !sink(encode(records)?) {
                return Ok(());
            }
        }
        Ok(())
    })
}

/// Records as RFC 4180 CSV (fields quoted where needed).
fn encode(records: impl IntoIterator<Item = Vec<String>>) -> AppResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(1 << 16));
    for record in records {
        out.write_record(&record)
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    out.into_inner().map_err(|e| internal_msg(e.to_string()))
}

fn internal_msg(message: String) -> AppError {
    AppError::Internal(anyhow::anyhow!(message))
}
