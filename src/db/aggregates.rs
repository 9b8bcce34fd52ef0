//! The aggregate tables: kept current with every stored or removed response,
//! read by the series, shifts and change-point endpoints.
//!
//! Each write is read-modify-write of one row's sums. On PostgreSQL the row is
//! created if missing (ON CONFLICT DO NOTHING) and then locked (FOR UPDATE), so
//! concurrent submissions add up; on SQLite the write transaction already
//! holds the database lock. Rows are touched in key order, so two writers never
//! wait on each other in a cycle.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::aggregate;
use crate::db::DbConnection;
use crate::db::schema::{agg_days, agg_pieces, responses, surveys};
use crate::stats::sums::{self, ANSWERED, AllSums, QuestionSums, Sums, bump};
use crate::survey::SurveyDefinition;

/// A piece of time: an ISO week cut at month ends, within one wave (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Piece {
    pub week_start: NaiveDate,
    pub month_start: NaiveDate,
    pub wave_id: i32,
}

impl Piece {
    pub fn of(day: NaiveDate, wave_id: Option<i32>) -> Piece {
        Piece {
            week_start: aggregate::week_start(day),
            month_start: aggregate::month_start(day),
            wave_id: wave_id.unwrap_or(0),
        }
    }
}

type Cells<T> = HashMap<String, T>;

/// Sums waiting to be written: per piece, cell and question; per day, wave and
/// cell. Nested maps keyed by borrowed lookups, so adding a million responses
/// allocates only for keys it has not seen.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pending {
    pub pieces: BTreeMap<Piece, Cells<HashMap<String, QuestionSums>>>,
    pub days: BTreeMap<(NaiveDate, i32), Cells<AllSums>>,
}

fn day_slot<'a>(all: &'a mut AllSums, question: &str) -> &'a mut QuestionSums {
    if !all.contains_key(question) {
        all.insert(question.to_string(), QuestionSums::new());
    }
    all.get_mut(question).expect("just inserted")
}

fn slot<'a, T: Default>(map: &'a mut HashMap<String, T>, key: &str) -> &'a mut T {
    if !map.contains_key(key) {
        map.insert(key.to_string(), T::default());
    }
    map.get_mut(key).expect("just inserted")
}

impl Pending {
    /// Adds one response (sign −1: removes it).
    pub fn add_response(
        &mut self,
        def: &SurveyDefinition,
        day: NaiveDate,
        wave_id: Option<i32>,
        answers: &serde_json::Map<String, serde_json::Value>,
        base_weight: f64,
        sign: i64,
    ) {
        // The hot path of a bulk load: merge straight into the maps, allocating
        // only for keys not seen before.
        let cell = aggregate::cell_of(def, answers);
        let one = Sums::one(base_weight);
        let piece = Piece::of(day, wave_id);
        // Everyone-sums only feed raking, which works per month or wave: they
        // are kept per month (week_start = month_start), 4-5x fewer rows.
        let month_piece = Piece {
            week_start: piece.month_start,
            ..piece
        };
        let everyone = slot(
            slot(self.pieces.entry(month_piece).or_default(), &cell),
            aggregate::EVERYONE,
        );
        bump(everyone, ANSWERED, &one, sign);
        let day_all = slot(self.days.entry((day, piece.wave_id)).or_default(), &cell);
        bump(day_slot(day_all, aggregate::EVERYONE), ANSWERED, &one, sign);
        let questions = slot(self.pieces.entry(piece).or_default(), &cell);
        let mut codes: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(8);
        for question in def
            .questions
            .iter()
            .filter(|q| q.kind != crate::survey::QuestionKind::Text)
        {
            let Some(value) = answers.get(&question.code) else {
                continue;
            };
            codes.clear();
            aggregate::value_codes_into(question.kind, value, &mut codes);
            for target in [
                slot(questions, &question.code),
                day_slot(day_all, &question.code),
            ] {
                bump(target, ANSWERED, &one, sign);
                for code in &codes {
                    bump(target, code, &one, sign);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty() && self.days.is_empty()
    }

    /// Piece rows in key order (the order rows are locked in).
    fn piece_rows(&self) -> Vec<(Piece, &str, &str, &QuestionSums)> {
        let mut rows = Vec::new();
        for (piece, cells) in &self.pieces {
            for (cell, questions) in cells {
                for (question, q) in questions {
                    rows.push((*piece, cell.as_str(), question.as_str(), q));
                }
            }
        }
        rows.sort_by(|a, b| (a.2, a.0, a.1).cmp(&(b.2, b.0, b.1)));
        rows
    }

    fn day_rows(&self) -> Vec<(NaiveDate, i32, &str, &AllSums)> {
        let mut rows = Vec::new();
        for ((day, wave), cells) in &self.days {
            for (cell, all) in cells {
                rows.push((*day, *wave, cell.as_str(), all));
            }
        }
        rows.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        rows
    }
}

/// Dates are stored as day numbers (days since 1970-01-01).
pub fn day_number(day: NaiveDate) -> i32 {
    (day - NaiveDate::default()).num_days() as i32
}

pub fn from_day_number(n: i32) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(i64::from(n))
}

fn corrupt(e: String) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("aggregate sums: {e}").into())
}

/// Writes a bulk load's sums (inside the caller's transaction): plain inserts
/// when the survey has no aggregates yet, else row by row. On PostgreSQL the
/// tables are locked against concurrent writers for the rest of the transaction.
pub fn apply_bulk(conn: &mut DbConnection, survey_id: i32, pending: &Pending) -> QueryResult<()> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("LOCK TABLE agg_pieces, agg_days IN SHARE ROW EXCLUSIVE MODE")
            .execute(c)?;
    }
    if has_any(conn, survey_id)? {
        apply(conn, survey_id, pending, 1)
    } else {
        insert_fresh(conn, survey_id, pending)
    }
}

/// Locks one aggregate row (creating it empty if missing), merges into its
/// sums, and writes it back, or deletes it when nothing is left. On PostgreSQL
/// the lock is `FOR UPDATE`; on SQLite the write transaction holds the database.
macro_rules! read_modify_write {
    ($conn:expr, $table:expr, $sums:expr, $key:expr, $new_row:expr, $merge:expr) => {{
        let key = $key;
        let current: String = match $conn {
            DbConnection::Pg(c) => {
                diesel::insert_into($table)
                    .values($new_row)
                    .on_conflict_do_nothing()
                    .execute(c)?;
                key.select($sums).for_update().first(c)?
            }
            DbConnection::Sqlite(c) => {
                diesel::insert_into($table)
                    .values($new_row)
                    .on_conflict_do_nothing()
                    .execute(c)?;
                key.select($sums).first(c)?
            }
        };
        match $merge(current)? {
            Some(text) => diesel::update(key).set($sums.eq(text)).execute($conn)?,
            None => diesel::delete(key).execute($conn)?,
        };
    }};
}

/// Writes pending sums into the tables (inside the caller's transaction),
/// each row read, merged and written back, in key order.
pub fn apply(
    conn: &mut DbConnection,
    survey_id: i32,
    pending: &Pending,
    sign: i64,
) -> QueryResult<()> {
    for (piece, cell, question, delta) in pending.piece_rows() {
        let (week, month) = (day_number(piece.week_start), day_number(piece.month_start));
        read_modify_write!(
            conn,
            agg_pieces::table,
            agg_pieces::sums,
            agg_pieces::table
                .filter(agg_pieces::survey_id.eq(survey_id))
                .filter(agg_pieces::question.eq(question))
                .filter(agg_pieces::week_start.eq(week))
                .filter(agg_pieces::month_start.eq(month))
                .filter(agg_pieces::wave_id.eq(piece.wave_id))
                .filter(agg_pieces::cell.eq(cell)),
            (
                agg_pieces::survey_id.eq(survey_id),
                agg_pieces::question.eq(question),
                agg_pieces::week_start.eq(week),
                agg_pieces::month_start.eq(month),
                agg_pieces::wave_id.eq(piece.wave_id),
                agg_pieces::cell.eq(cell),
                agg_pieces::sums.eq(""),
            ),
            |current: String| -> QueryResult<Option<String>> {
                let mut merged = sums::decode(&current).map_err(corrupt)?;
                sums::merge(&mut merged, delta, sign);
                Ok((!merged.is_empty()).then(|| sums::encode(&merged)))
            }
        );
    }
    for (day, wave_id, cell, delta) in pending.day_rows() {
        let day = day_number(day);
        read_modify_write!(
            conn,
            agg_days::table,
            agg_days::sums,
            agg_days::table
                .filter(agg_days::survey_id.eq(survey_id))
                .filter(agg_days::day.eq(day))
                .filter(agg_days::wave_id.eq(wave_id))
                .filter(agg_days::cell.eq(cell)),
            (
                agg_days::survey_id.eq(survey_id),
                agg_days::day.eq(day),
                agg_days::wave_id.eq(wave_id),
                agg_days::cell.eq(cell),
                agg_days::sums.eq(""),
            ),
            |current: String| -> QueryResult<Option<String>> {
                let mut merged = sums::decode_all(&current).map_err(corrupt)?;
                sums::merge_all(&mut merged, delta, sign);
                Ok((!merged.is_empty()).then(|| sums::encode_all(&merged)))
            }
        );
    }
    bump_version(conn, survey_id)
}

fn has_any(conn: &mut DbConnection, survey_id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        agg_days::table.filter(agg_days::survey_id.eq(survey_id)),
    ))
    .get_result(conn)
}

/// Rows per multi-row INSERT (7 bound columns, under every backend's limit).
const INSERT_CHUNK: usize = 2000;

/// A survey without aggregates yet (a first bulk load, a rebuild): plain
/// multi-row inserts instead of row-by-row read-modify-write.
fn insert_fresh(conn: &mut DbConnection, survey_id: i32, pending: &Pending) -> QueryResult<()> {
    let pieces: Vec<_> = pending
        .piece_rows()
        .into_iter()
        .filter(|(_, _, _, q)| !q.is_empty())
        .map(|(piece, cell, question, q)| {
            (
                agg_pieces::survey_id.eq(survey_id),
                agg_pieces::question.eq(question),
                agg_pieces::week_start.eq(day_number(piece.week_start)),
                agg_pieces::month_start.eq(day_number(piece.month_start)),
                agg_pieces::wave_id.eq(piece.wave_id),
                agg_pieces::cell.eq(cell),
                agg_pieces::sums.eq(sums::encode(q)),
            )
        })
        .collect();
    let days: Vec<_> = pending
        .day_rows()
        .into_iter()
        .filter(|(_, _, _, all)| !all.is_empty())
        .map(|(day, wave_id, cell, all)| {
            (
                agg_days::survey_id.eq(survey_id),
                agg_days::day.eq(day_number(day)),
                agg_days::wave_id.eq(wave_id),
                agg_days::cell.eq(cell),
                agg_days::sums.eq(sums::encode_all(all)),
            )
        })
        .collect();
    for chunk in pieces.chunks(INSERT_CHUNK) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(agg_pieces::table)
                .values(chunk)
                .execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(agg_pieces::table)
                .values(chunk)
                .execute(c)?,
        };
    }
    for chunk in days.chunks(INSERT_CHUNK) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(agg_days::table)
                .values(chunk)
                .execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(agg_days::table)
                .values(chunk)
                .execute(c)?,
        };
    }
    bump_version(conn, survey_id)
}

/// Marks that the survey's responses changed.
pub fn bump_version(conn: &mut DbConnection, survey_id: i32) -> QueryResult<()> {
    diesel::update(surveys::table.find(survey_id))
        .set(surveys::data_version.eq(surveys::data_version + 1))
        .execute(conn)
        .map(|_| ())
}

pub fn data_version(conn: &mut DbConnection, survey_id: i32) -> QueryResult<i64> {
    surveys::table
        .find(survey_id)
        .select(surveys::data_version)
        .first(conn)
}

/// Rebuilds a survey's aggregates from its stored responses.
pub fn rebuild(conn: &mut DbConnection, survey_id: i32, def: &SurveyDefinition) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::delete(agg_pieces::table.filter(agg_pieces::survey_id.eq(survey_id)))
            .execute(conn)?;
        diesel::delete(agg_days::table.filter(agg_days::survey_id.eq(survey_id))).execute(conn)?;
        let pending = scan(conn, survey_id, def)?;
        apply_bulk(conn, survey_id, &pending)?;
        set_ok(conn, survey_id, true)
    })
}

/// The aggregates of every stored response, computed from scratch.
pub fn scan(
    conn: &mut DbConnection,
    survey_id: i32,
    def: &SurveyDefinition,
) -> QueryResult<Pending> {
    let mut pending = Pending::default();
    let mut after = String::new();
    loop {
        let rows: Vec<(String, NaiveDate, Option<i32>, f64, String)> = responses::table
            .filter(responses::survey_id.eq(survey_id))
            .filter(responses::id.gt(&after))
            .order(responses::id)
            .limit(10_000)
            .select((
                responses::id,
                responses::submitted_date,
                responses::wave_id,
                responses::base_weight,
                responses::answers,
            ))
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for (_, day, wave, weight, answers) in rows {
            let answers: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&answers).map_err(|e| corrupt(e.to_string()))?;
            pending.add_response(def, day, wave, &answers, weight, 1);
        }
    }
    Ok(pending)
}

/// Everything stored for a survey, as the tables hold it now (for checks).
pub fn stored(conn: &mut DbConnection, survey_id: i32) -> QueryResult<Pending> {
    let mut pending = Pending::default();
    let rows: Vec<(i32, i32, i32, String, String, String)> = agg_pieces::table
        .filter(agg_pieces::survey_id.eq(survey_id))
        .select((
            agg_pieces::week_start,
            agg_pieces::month_start,
            agg_pieces::wave_id,
            agg_pieces::cell,
            agg_pieces::question,
            agg_pieces::sums,
        ))
        .load(conn)?;
    for (week_start, month_start, wave_id, cell, question, text) in rows {
        let piece = Piece {
            week_start: from_day_number(week_start),
            month_start: from_day_number(month_start),
            wave_id,
        };
        let decoded = sums::decode(&text).map_err(corrupt)?;
        pending
            .pieces
            .entry(piece)
            .or_default()
            .entry(cell)
            .or_default()
            .insert(question, decoded);
    }
    let rows: Vec<(i32, i32, String, String)> = agg_days::table
        .filter(agg_days::survey_id.eq(survey_id))
        .select((
            agg_days::day,
            agg_days::wave_id,
            agg_days::cell,
            agg_days::sums,
        ))
        .load(conn)?;
    for (day, wave_id, cell, text) in rows {
        let day = from_day_number(day);
        let decoded = sums::decode_all(&text).map_err(corrupt)?;
        pending
            .days
            .entry((day, wave_id))
            .or_default()
            .insert(cell, decoded);
    }
    Ok(pending)
}

/// One question's (or, with `EVERYONE`, all respondents') piece rows whose
/// month lies in [from_month, to_month], sums still encoded (see `sums::for_each`).
pub fn pieces_raw(
    conn: &mut DbConnection,
    survey_id: i32,
    question: &str,
    from_month: NaiveDate,
    to_month: NaiveDate,
) -> QueryResult<Vec<(Piece, String, String)>> {
    let rows: Vec<(i32, i32, i32, String, String)> = agg_pieces::table
        .filter(agg_pieces::survey_id.eq(survey_id))
        .filter(agg_pieces::question.eq(question))
        .filter(agg_pieces::month_start.between(day_number(from_month), day_number(to_month)))
        .select((
            agg_pieces::week_start,
            agg_pieces::month_start,
            agg_pieces::wave_id,
            agg_pieces::cell,
            agg_pieces::sums,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(week_start, month_start, wave_id, cell, text)| {
            let piece = Piece {
                week_start: from_day_number(week_start),
                month_start: from_day_number(month_start),
                wave_id,
            };
            (piece, cell, text)
        })
        .collect())
}

/// Day rows in [from, to], each with one question's sums (others dropped).
pub fn days(
    conn: &mut DbConnection,
    survey_id: i32,
    question: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(NaiveDate, i32, String, QuestionSums)>> {
    let rows: Vec<(i32, i32, String, String)> = agg_days::table
        .filter(agg_days::survey_id.eq(survey_id))
        .filter(agg_days::day.between(day_number(from), day_number(to)))
        .select((
            agg_days::day,
            agg_days::wave_id,
            agg_days::cell,
            agg_days::sums,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (day, wave_id, cell, text) in rows {
        // Decode only this question's part of the row.
        let part = text
            .split(';')
            .find_map(|p| p.strip_prefix(question)?.strip_prefix('='));
        if let Some(part) = part {
            out.push((
                from_day_number(day),
                wave_id,
                cell,
                sums::decode(part).map_err(corrupt)?,
            ));
        }
    }
    Ok(out)
}

/// The first and last day with a response.
pub fn date_range(
    conn: &mut DbConnection,
    survey_id: i32,
) -> QueryResult<Option<(NaiveDate, NaiveDate)>> {
    // Two index seeks; min and max in one query would scan the survey's rows.
    let first: Option<i32> = agg_days::table
        .filter(agg_days::survey_id.eq(survey_id))
        .order(agg_days::day.asc())
        .select(agg_days::day)
        .first(conn)
        .optional()?;
    let last: Option<i32> = agg_days::table
        .filter(agg_days::survey_id.eq(survey_id))
        .order(agg_days::day.desc())
        .select(agg_days::day)
        .first(conn)
        .optional()?;
    Ok(first
        .zip(last)
        .map(|(a, b)| (from_day_number(a), from_day_number(b))))
}

/// Marks a survey's aggregates as behind its responses (a bulk load is running)
/// or caught up again.
pub fn set_ok(conn: &mut DbConnection, survey_id: i32, ok: bool) -> QueryResult<()> {
    diesel::update(surveys::table.find(survey_id))
        .set(surveys::aggregates_ok.eq(ok))
        .execute(conn)
        .map(|_| ())
}

/// Whether the aggregates cannot be trusted: a bulk load stopped half-way, or a
/// survey has responses and no aggregates (a store from before they existed).
pub fn needs_rebuild(conn: &mut DbConnection, survey_id: i32) -> QueryResult<bool> {
    let ok: bool = surveys::table
        .find(survey_id)
        .select(surveys::aggregates_ok)
        .first(conn)?;
    if !ok {
        return Ok(true);
    }
    let has_responses: bool = diesel::select(diesel::dsl::exists(
        responses::table.filter(responses::survey_id.eq(survey_id)),
    ))
    .get_result(conn)?;
    let has_aggregates: bool = diesel::select(diesel::dsl::exists(
        agg_days::table.filter(agg_days::survey_id.eq(survey_id)),
    ))
    .get_result(conn)?;
    Ok(has_responses && !has_aggregates)
}

/// Rebuilds the aggregates of every survey that needs it (run at start).
pub fn repair(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let mut repaired = Vec::new();
    for survey in crate::db::surveys::list(conn)? {
        if needs_rebuild(conn, survey.id)? {
            rebuild(conn, survey.id, &survey.definition)?;
            repaired.push(survey.definition.slug);
        }
    }
    Ok(repaired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;
    use proptest::prelude::*;
    use serde_json::json;

    fn response() -> impl Strategy<Value = (i64, serde_json::Value, f64, bool)> {
        (
            0i64..70,
            prop_oneof![(1i64..=5).prop_map(|v| json!(v)), Just(json!("dk"))],
            prop::sample::subsequence(vec!["data_leak", "surveillance", "hard_to_use"], 0..=3),
            prop::sample::select(vec!["18-24", "65+", "na"]),
            prop::sample::select(vec![1.0, 0.5, 2.25]),
            any::<bool>(),
        )
            .prop_map(|(day, trust, concerns, age, weight, keep)| {
                let mut answers =
                    json!({"portal_account": "active", "portal_trust": trust, "age_band": age});
                if !concerns.is_empty() {
                    answers["concerns"] = json!(concerns);
                }
                (day, answers, weight, keep)
            })
    }

    fn flat(p: &Pending) -> Vec<(String, i64, f64, f64)> {
        let mut out = Vec::new();
        for (piece, cells) in &p.pieces {
            for (cell, questions) in cells {
                for (question, sums) in questions.iter().filter(|(_, s)| !s.is_empty()) {
                    for (value, s) in sums {
                        out.push((
                            format!("{piece:?}{cell}{question}{value}"),
                            s.n,
                            s.sb,
                            s.sb2,
                        ));
                    }
                }
            }
        }
        for (key, cells) in &p.days {
            for (cell, all) in cells {
                for (question, sums) in all {
                    for (value, s) in sums {
                        out.push((format!("{key:?}{cell}{question}{value}"), s.n, s.sb, s.sb2));
                    }
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    proptest! {
        #[test]
        fn sums_kept_incrementally_equal_sums_built_from_scratch(responses in prop::collection::vec(response(), 1..60)) {
            let def = demo::definition();
            let start = NaiveDate::from_ymd_opt(2024, 1, 25).unwrap();
            let mut incremental = Pending::default();
            for (day, answers, weight, _) in &responses {
                incremental.add_response(&def, start + chrono::Duration::days(*day), None, answers.as_object().unwrap(), *weight, 1);
            }
            for (day, answers, weight, keep) in &responses {
                if !keep {
                    incremental.add_response(&def, start + chrono::Duration::days(*day), None, answers.as_object().unwrap(), *weight, -1);
                }
            }
            let mut scratch = Pending::default();
            for (day, answers, weight, keep) in &responses {
                if *keep {
                    scratch.add_response(&def, start + chrono::Duration::days(*day), None, answers.as_object().unwrap(), *weight, 1);
                }
            }
            let (a, b) = (flat(&incremental), flat(&scratch));
            prop_assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                prop_assert_eq!((&x.0, x.1), (&y.0, y.1));
                prop_assert!((x.2 - y.2).abs() < 1e-9 && (x.3 - y.3).abs() < 1e-9);
            }
        }
    }
}
