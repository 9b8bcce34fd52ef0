//! Responses: one compact row each, the validated answers as JSON.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::responses;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = responses)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewResponse {
    pub id: String,
    pub survey_id: i32,
    pub wave_id: Option<i32>,
    pub submitted_date: NaiveDate,
    pub lang: String,
    pub submission_id: Option<String>,
    pub base_weight: f64,
    pub answers: String,
    /// Random, 0..2³²: summed into the aggregates for the cell-key method.
    pub record_key: i64,
}

/// A fresh random record key (never derived from the response or its time).
pub fn new_record_key() -> i64 {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    i64::from(u32::from_le_bytes(bytes))
}

/// What the respondent (or client) learns back: the id and the local date.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Receipt {
    pub id: String,
    pub submitted_date: NaiveDate,
}

/// The response already stored for this submission id, if any.
pub fn find_by_submission(
    conn: &mut DbConnection,
    survey_id: i32,
    submission_id: &str,
) -> QueryResult<Option<Receipt>> {
    responses::table
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::submission_id.eq(submission_id))
        .select((responses::id, responses::submitted_date))
        .first(conn)
        .optional()
}

/// The responses already stored for any of these submission ids.
pub fn find_by_submissions(
    conn: &mut DbConnection,
    survey_id: i32,
    submission_ids: &[&str],
) -> QueryResult<rustc_hash::FxHashMap<String, Receipt>> {
    if submission_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(Option<String>, String, NaiveDate)> = responses::table
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::submission_id.eq_any(submission_ids))
        .select((
            responses::submission_id,
            responses::id,
            responses::submitted_date,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(sid, id, submitted_date)| {
            sid.map(|sid| (sid, Receipt { id, submitted_date }))
        })
        .collect())
}

/// Outcome of storing one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Created(Receipt),
    /// The submission id was used before: nothing new stored.
    Repeated(Receipt),
}

/// Inserts one response row; the caller owns the transaction.
pub fn insert(conn: &mut DbConnection, response: &NewResponse) -> QueryResult<Receipt> {
    diesel::insert_into(responses::table)
        .values(response)
        .execute(conn)?;
    Ok(Receipt {
        id: response.id.clone(),
        submitted_date: response.submitted_date,
    })
}

/// Is this error the unique index on (survey, submission id) refusing a repeat?
pub fn is_duplicate(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Rows per statement in SQLite bulk loads: under its 32766 bound parameters
/// (9 columns a row).
const BULK_CHUNK: usize = 2000;

/// Stores many responses in one transaction: multi-row INSERTs on SQLite,
/// one binary COPY on PostgreSQL (3x faster there than INSERTs for a bulk
/// load; a batch of submissions is a single multi-row INSERT on both).
pub fn insert_many(conn: &mut DbConnection, rows: &[NewResponse]) -> QueryResult<()> {
    conn.transaction(|conn| {
        match conn {
            DbConnection::Pg(c) if rows.len() <= 256 => {
                diesel::insert_into(responses::table)
                    .values(rows)
                    .execute(c)?;
            }
            DbConnection::Sqlite(c) => {
                for chunk in rows.chunks(BULK_CHUNK) {
                    diesel::insert_into(responses::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
            DbConnection::Pg(c) => {
                diesel::copy_from(responses::table)
                    .from_insertable(rows)
                    .execute(c)?;
            }
        }
        Ok(())
    })
}

/// A stored response, as the aggregates need it.
#[derive(Debug, Clone, Queryable)]
pub struct StoredResponse {
    pub submitted_date: NaiveDate,
    pub wave_id: Option<i32>,
    pub base_weight: f64,
    pub answers: String,
    pub record_key: i64,
}

pub fn find(
    conn: &mut DbConnection,
    survey_id: i32,
    id: &str,
) -> QueryResult<Option<StoredResponse>> {
    responses::table
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::id.eq(id))
        .select((
            responses::submitted_date,
            responses::wave_id,
            responses::base_weight,
            responses::answers,
            responses::record_key,
        ))
        .first(conn)
        .optional()
}

/// Every response id of the survey (an import skips those already stored).
pub fn ids(conn: &mut DbConnection, survey_id: i32) -> QueryResult<Vec<String>> {
    responses::table
        .filter(responses::survey_id.eq(survey_id))
        .select(responses::id)
        .load(conn)
}

pub fn count(conn: &mut DbConnection, survey_id: i32) -> QueryResult<i64> {
    responses::table
        .filter(responses::survey_id.eq(survey_id))
        .count()
        .get_result(conn)
}

/// The stored answers of one response (for checks and tests; never public).
pub fn answers_of(conn: &mut DbConnection, id: &str) -> QueryResult<Option<String>> {
    responses::table
        .find(id)
        .select(responses::answers)
        .first(conn)
        .optional()
}

/// Does any response of the survey answer this question? Answers are JSON
/// objects written by serde_json, so a key is `"code":` with no space, and a
/// quote inside a text answer is escaped: the pattern only matches keys.
pub fn question_has_answers(
    conn: &mut DbConnection,
    survey_id: i32,
    code: &str,
) -> QueryResult<bool> {
    let escaped = code
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%\"{escaped}\":%");
    diesel::select(diesel::dsl::exists(
        responses::table
            .filter(responses::survey_id.eq(survey_id))
            .filter(responses::answers.like(pattern).escape('\\')),
    ))
    .get_result(conn)
}

pub fn wave_has_responses(conn: &mut DbConnection, wave_id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        responses::table.filter(responses::wave_id.eq(wave_id)),
    ))
    .get_result(conn)
}

/// Removes one response of the survey; true if it existed.
pub fn delete(conn: &mut DbConnection, survey_id: i32, id: &str) -> QueryResult<bool> {
    let removed = diesel::delete(
        responses::table
            .filter(responses::survey_id.eq(survey_id))
            .filter(responses::id.eq(id)),
    )
    .execute(conn)?;
    Ok(removed > 0)
}

/// (id, date, wave id, language, base weight, answers) of one response.
pub type ExportRow = (String, NaiveDate, Option<i32>, String, f64, String);

/// The next page of a survey's responses in export order (date, then id)
/// after `after`, within [from, to] and the wave if one is named.
pub fn export_page(
    conn: &mut DbConnection,
    survey_id: i32,
    after: Option<&(NaiveDate, String)>,
    range: (NaiveDate, NaiveDate),
    wave: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<ExportRow>> {
    // One lower bound on the date, the later of `from` and the page's last
    // day, so that the (survey, date, id) index range starts there: with two
    // bounds SQLite took the looser one and re-read every earlier row for
    // every page.
    let from = after.map_or(range.0, |(date, _)| range.0.max(*date));
    let mut query = responses::table
        .filter(responses::survey_id.eq(survey_id))
        .filter(responses::submitted_date.between(from, range.1))
        .into_boxed();
    if let Some(wave) = wave {
        query = query.filter(responses::wave_id.eq(wave));
    }
    if let Some((date, id)) = after {
        query = query.filter(
            responses::submitted_date
                .gt(*date)
                .or(responses::id.gt(id.clone())),
        );
    }
    query
        .order((responses::submitted_date, responses::id))
        .limit(limit)
        .select((
            responses::id,
            responses::submitted_date,
            responses::wave_id,
            responses::lang,
            responses::base_weight,
            responses::answers,
        ))
        .load(conn)
}
